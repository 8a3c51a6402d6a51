//! Dump files as keepalived 2.2.7 names them (anatomy §1.6), written safely.
//!
//! | signal | file | writer |
//! |---|---|---|
//! | SIGUSR1 | `keepalived.data` (VRRP), `keepalived_check.data` (checker), `keepalived_parent.data` | each process |
//! | SIGUSR2, SIGRTMAX-1 | `keepalived.stats` | VRRP |
//! | SIGRTMIN+2 (Debian's 2.2.7 is built `--enable-json`) | `keepalived.json` | VRRP |
//!
//! The directory is `$TMPDIR` when it is an absolute path to an existing
//! directory, else `/tmp` (upstream `make_tmp_filename`, `lib/utils.c`).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `keepalived.data` (SIGUSR1, VRRP child).
pub const DATA_FILE: &str = "keepalived.data";
/// `keepalived_check.data` (SIGUSR1, checker child).
pub const CHECK_DATA_FILE: &str = "keepalived_check.data";
/// `keepalived_parent.data` (SIGUSR1, parent).
pub const PARENT_DATA_FILE: &str = "keepalived_parent.data";
/// `keepalived.stats` (SIGUSR2 and SIGRTMAX-1, VRRP child).
pub const STATS_FILE: &str = "keepalived.stats";
/// `keepalived.json` (SIGRTMIN+2, VRRP child).
pub const JSON_FILE: &str = "keepalived.json";

/// Mode of every dump file.
pub const DUMP_MODE: u32 = 0o600;

/// How many temporary names are tried before giving up (each is created with
/// `O_EXCL`, so a name planted by someone else is skipped, never followed).
const TEMP_ATTEMPTS: u32 = 64;

/// Why a dump file could not be written.
#[derive(Debug)]
pub enum DumpFileError {
    /// The path has no file name or no parent directory.
    BadPath(PathBuf),
    /// Every temporary name was taken (someone is squatting on them).
    NoTempName(PathBuf),
    /// An I/O step failed.
    Io {
        /// What we were doing.
        step: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Display for DumpFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpFileError::BadPath(p) => write!(f, "invalid dump file path {}", p.display()),
            DumpFileError::NoTempName(p) => write!(
                f,
                "no free temporary name next to {} after {TEMP_ATTEMPTS} attempts",
                p.display()
            ),
            DumpFileError::Io { step, path, source } => {
                write!(f, "{step} {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for DumpFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DumpFileError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The dump directory: `$TMPDIR` if it is an absolute path to an existing
/// directory, else `/tmp` (keepalived 2.2.7 `make_tmp_filename`).
pub fn dump_dir() -> PathBuf {
    dump_dir_from(std::env::var_os("TMPDIR").map(PathBuf::from))
}

/// [`dump_dir`] with the `TMPDIR` value given (testable).
pub fn dump_dir_from(tmpdir: Option<PathBuf>) -> PathBuf {
    match tmpdir {
        Some(p) if p.is_absolute() && p.is_dir() => p,
        _ => PathBuf::from("/tmp"),
    }
}

/// `dump_dir().join(name)`.
pub fn dump_path(name: &str) -> PathBuf {
    dump_dir().join(name)
}

/// The `attempt`-th temporary name for `name` (hidden, same directory).
pub fn temp_name(name: &str, attempt: u32) -> String {
    format!(".{name}.{}.{attempt}.tmp", std::process::id())
}

fn io_err(step: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DumpFileError {
    let path = path.to_path_buf();
    move |source| DumpFileError::Io { step, path, source }
}

/// Write `bytes` to `path` safely and atomically:
///
/// * a fresh temporary file in the same directory, created with
///   `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC` and mode 0600 (a symlink or file
///   planted at a temporary name makes that attempt fail with `EEXIST`; the
///   next name is tried — the write is never redirected);
/// * `fchmod 0600` (whatever the umask), write, `fsync`;
/// * `rename()` over `path`: a symlink at `path` is *replaced*, never
///   followed; readers see the old or the new content, never a partial one;
/// * the directory is fsynced (best effort).
///
/// On failure the temporary file is removed.
pub fn write_dump_file(path: &Path, bytes: &[u8]) -> Result<(), DumpFileError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| DumpFileError::BadPath(path.to_path_buf()))?;
    let dir = match path.parent() {
        Some(d) if d.as_os_str().is_empty() => Path::new("."),
        Some(d) => d,
        None => return Err(DumpFileError::BadPath(path.to_path_buf())),
    };
    let (tmp, mut file) = create_temp(dir, name, path)?;
    let result = (|| {
        file.set_permissions(std::fs::Permissions::from_mode(DUMP_MODE))
            .map_err(io_err("chmod", &tmp))?;
        file.write_all(bytes).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("fsync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err("rename to", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_temp(dir: &Path, name: &str, path: &Path) -> Result<(PathBuf, File), DumpFileError> {
    for attempt in 0..TEMP_ATTEMPTS {
        let tmp = dir.join(temp_name(name, attempt));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(DUMP_MODE)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp);
        match opened {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("create", &tmp)(e)),
        }
    }
    Err(DumpFileError::NoTempName(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!(
                "ka-status-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn writes_content_with_mode_0600_whatever_the_umask() {
        let d = TempDir::new("mode");
        let p = d.0.join(STATS_FILE);
        write_dump_file(&p, b"VRRP Instance: VI_1\n").unwrap();
        let md = std::fs::symlink_metadata(&p).unwrap();
        assert!(md.file_type().is_file());
        assert_eq!(md.mode() & 0o7777, 0o600);
        assert_eq!(std::fs::read(&p).unwrap(), b"VRRP Instance: VI_1\n");
        // Replacing keeps 0600, even if someone chmodded the old file.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_dump_file(&p, b"second").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o7777, 0o600);
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(&d.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(STATS_FILE)]);
    }

    #[test]
    fn symlink_at_target_is_replaced_not_followed() {
        let d = TempDir::new("target");
        let victim = d.0.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let p = d.0.join(DATA_FILE);
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write_dump_file(&p, b"dump").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let md = std::fs::symlink_metadata(&p).unwrap();
        assert!(md.file_type().is_file(), "the symlink itself was replaced");
        assert_eq!(std::fs::read(&p).unwrap(), b"dump");
    }

    #[test]
    fn symlinks_planted_at_temp_names_do_not_redirect_the_write() {
        let d = TempDir::new("tmpname");
        let victim = d.0.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        // An attacker predicts the first temporary names.
        for attempt in 0..4 {
            std::os::unix::fs::symlink(&victim, d.0.join(temp_name(JSON_FILE, attempt))).unwrap();
        }
        // A dangling one too (O_CREAT through it would create the target).
        let dangling_target = d.0.join("created-through-symlink");
        std::os::unix::fs::symlink(&dangling_target, d.0.join(temp_name(JSON_FILE, 4))).unwrap();
        let p = d.0.join(JSON_FILE);
        write_dump_file(&p, b"[]").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!dangling_target.exists());
        assert_eq!(std::fs::read(&p).unwrap(), b"[]");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o7777, 0o600);
        // The planted links are left alone.
        for attempt in 0..5 {
            let md = std::fs::symlink_metadata(d.0.join(temp_name(JSON_FILE, attempt))).unwrap();
            assert!(md.file_type().is_symlink());
        }
    }

    #[test]
    fn all_temp_names_squatted_is_an_error_not_a_redirect() {
        let d = TempDir::new("squat");
        let victim = d.0.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        for attempt in 0..TEMP_ATTEMPTS {
            std::os::unix::fs::symlink(&victim, d.0.join(temp_name(DATA_FILE, attempt))).unwrap();
        }
        let p = d.0.join(DATA_FILE);
        let e = write_dump_file(&p, b"x").unwrap_err();
        assert!(matches!(e, DumpFileError::NoTempName(_)), "{e}");
        assert!(e.to_string().contains("no free temporary name"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!p.exists());
    }

    #[test]
    fn missing_directory_is_a_located_error() {
        let e =
            write_dump_file(Path::new("/nonexistent-ka-dir/keepalived.data"), b"x").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("create /nonexistent-ka-dir/.keepalived.data."),
            "{e}"
        );
        assert!(matches!(
            write_dump_file(Path::new("/"), b"x"),
            Err(DumpFileError::BadPath(_))
        ));
    }

    #[test]
    fn dump_dir_follows_keepalived_tmpdir_rules() {
        assert_eq!(dump_dir_from(None), PathBuf::from("/tmp"));
        assert_eq!(
            dump_dir_from(Some("relative".into())),
            PathBuf::from("/tmp")
        );
        assert_eq!(
            dump_dir_from(Some("/nonexistent-ka-dir".into())),
            PathBuf::from("/tmp")
        );
        let d = TempDir::new("dir");
        assert_eq!(dump_dir_from(Some(d.0.clone())), d.0);
    }
}
