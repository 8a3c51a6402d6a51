//! Script security checks (`check_script_secure` and `check_security`,
//! `lib/notify.c` in keepalived).
//!
//! For every configured script keepalived resolves the path (PATH search for
//! a bare name, `realpath`), checks that the target user may execute it, and,
//! when the script will run with root privileges (uid 0, gid 0, or a
//! set-uid/set-gid-root file), walks every component of the path: each must
//! be owned by root, and no directory without the sticky bit, nor the file,
//! may be writable by a non-root group or by others. With
//! `enable_script_security` such a script is disabled; without it, it is only
//! reported. The log lines keep keepalived's wording.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::runner::{resolve_in_path, ExecMode};

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;
const S_IWGRP: u32 = 0o020;
const S_IWOTH: u32 = 0o002;
const S_IXUSR: u32 = 0o100;
const S_IXGRP: u32 = 0o010;
const S_IXOTH: u32 = 0o001;

/// The outcome of checking one script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptCheck {
    /// The path to execute (bare names resolved through the script `PATH`,
    /// symlinks resolved as keepalived does, keeping the configured file name
    /// when it names the same file).
    pub path: Option<PathBuf>,
    /// The file exists and is a script (keepalived's `SC_ISSCRIPT`).
    pub found: bool,
    /// Executable by the script's uid/gid (`SC_EXECUTABLE`).
    pub executable: bool,
    /// Some part of the path is writable by non-root (`SC_INSECURE`).
    pub insecure: bool,
    /// Must not be run (`SC_INHIBIT`): insecure with script security on, or a
    /// wrong file type in the path.
    pub inhibited: bool,
    /// How to run it: direct exec, or `/bin/sh -c` for `<…` lines and files
    /// without `#!` that are not binaries.
    pub mode: Option<ExecMode>,
    /// The log lines emitted (already logged at info level), in order.
    pub messages: Vec<String>,
}

impl ScriptCheck {
    /// Whether the script may be run (keepalived's `check_notify_script_secure`
    /// disables scripts with `SC_INHIBIT`, `SC_NOTFOUND` or without `SC_EXECUTABLE`).
    pub fn runnable(&self) -> bool {
        self.mode == Some(ExecMode::Shell) && self.path.is_none()
            || (self.found && self.executable && !self.inhibited)
    }

    fn say(&mut self, msg: String) {
        log::info!("{msg}");
        self.messages.push(msg);
    }
}

/// Checks `argv0` (the first word of a configured script) for a script run as
/// `uid`:`gid`; `script_security` is `enable_script_security`.
pub fn check_script_secure(argv0: &str, uid: u32, gid: u32, script_security: bool) -> ScriptCheck {
    let mut r = ScriptCheck::default();

    // "</dev/tcp/..." style lines test whether a file can be opened: run by
    // the shell, nothing to check (keepalived's SC_SYSTEM).
    if argv0.starts_with('<') && argv0[1..].trim_start_matches([' ', '\t']).starts_with('/') {
        r.mode = Some(ExecMode::Shell);
        return r;
    }

    let given = if argv0.contains('/') {
        PathBuf::from(argv0)
    } else {
        match resolve_in_path(argv0) {
            Some(p) => {
                r.say(format!(
                    "WARNING - script `{argv0}` resolved by path search to `{}`. Please specify full path.",
                    p.display()
                ));
                p
            }
            None => {
                r.say(format!("Cannot find script {argv0} in path - disabling"));
                return r;
            }
        }
    };

    let real = match fs::canonicalize(&given) {
        Ok(p) => p,
        Err(e) => {
            r.say(format!(
                "Script {} cannot be accessed - {}",
                given.display(),
                strerror(&e)
            ));
            return r;
        }
    };

    // Keep the configured file name when it resolves to the same file
    // (some programs behave by the name they are called).
    let exec_path = match (given.file_name(), real.parent()) {
        (Some(name), Some(dir)) if real.file_name() != Some(name) => {
            let cand = dir.join(name);
            if same_file(&cand, &real) {
                cand
            } else {
                real.clone()
            }
        }
        _ => real.clone(),
    };

    let meta = match fs::metadata(&real) {
        Ok(m) => m,
        Err(_) => {
            r.say(format!(
                "Unable to access script `{}` - disabling",
                given.display()
            ));
            return r;
        }
    };
    r.found = true;
    r.path = Some(exec_path.clone());

    let mode = meta.mode();
    let need_protection;
    if is_executable(&meta, uid, gid) {
        r.executable = true;
        need_protection = uid == 0
            || gid == 0
            || (meta.uid() == 0 && mode & S_IXUSR != 0 && mode & S_ISUID != 0)
            || (meta.gid() == 0 && mode & S_IXGRP != 0 && mode & S_ISGID != 0);
    } else {
        r.say(format!(
            "WARNING - script '{}' is not executable for uid:gid {uid}:{gid} - disabling.",
            exec_path.display()
        ));
        need_protection = false;
    }

    r.mode = Some(if r.executable && !has_exec_magic(&real) {
        r.say(format!(
            "Please add a #! shebang to script {}",
            exec_path.display()
        ));
        ExecMode::Shell
    } else {
        ExecMode::Direct
    });

    if !need_protection {
        return r;
    }

    // Every component of the path as configured (absolute) and of the
    // resolved target must be safe: a writable directory anywhere on the
    // symlink's path lets a user redirect it.
    let mut paths = vec![exec_path.clone()];
    if real != exec_path {
        paths.push(real.clone());
    }
    if given.is_absolute() && !paths.contains(&given) {
        paths.insert(0, given.clone());
    }
    for p in paths {
        check_security(&p, script_security, &mut r);
        if r.inhibited || r.insecure {
            break;
        }
    }
    r
}

fn strerror(e: &std::io::Error) -> String {
    // io::Error's Display appends " (os error N)"; keepalived prints strerror().
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// keepalived's `is_executable`: root needs any x bit; otherwise the owner,
/// group or other x bit that applies.
fn is_executable(m: &fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = m.mode();
    if uid == 0 {
        return mode & (S_IXUSR | S_IXGRP | S_IXOTH) != 0;
    }
    if uid == m.uid() {
        return mode & S_IXUSR != 0;
    }
    if gid == m.gid() {
        return mode & S_IXGRP != 0;
    }
    mode & S_IXOTH != 0
}

/// True when the file starts with `#!` or the ELF magic: `execve` can run it.
fn has_exec_magic(p: &Path) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 4];
    match fs::File::open(p).and_then(|mut f| f.read(&mut buf)) {
        Ok(n) if n >= 2 && &buf[..2] == b"#!" => true,
        Ok(4) => &buf == b"\x7fELF",
        // Unreadable by us: let exec decide.
        Err(_) => true,
        _ => false,
    }
}

fn check_security(path: &Path, script_security: bool, r: &mut ScriptCheck) {
    let mut cur = PathBuf::new();
    let comps: Vec<Component<'_>> = path.components().collect();
    for (i, c) in comps.iter().enumerate() {
        cur.push(c.as_os_str());
        let last = i + 1 == comps.len();
        let m = match fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) => {
                use std::io::ErrorKind::*;
                if matches!(e.kind(), NotFound | PermissionDenied)
                    || e.raw_os_error() == Some(libc::ELOOP)
                    || e.raw_os_error() == Some(libc::ENOTDIR)
                {
                    r.say(format!(
                        "check_script_secure could not find script '{}' - disabling",
                        path.display()
                    ));
                } else {
                    r.say(format!(
                        "check_script_secure('{}') returned errno {} - {} - disabling",
                        path.display(),
                        e.raw_os_error().unwrap_or(0),
                        strerror(&e)
                    ));
                }
                r.found = false;
                return;
            }
        };
        let ft = m.file_type();
        // A root-owned symlinked directory on the configured path (`/bin`
        // -> `usr/bin` on merged-/usr systems) is fine: only root can
        // change it, and the resolved path is checked as well.
        if !last && ft.is_symlink() && m.uid() == 0 {
            continue;
        }
        if (!last && !ft.is_dir()) || (last && !ft.is_file() && !ft.is_symlink()) {
            r.say(format!(
                "Wrong file type found in script path '{}'.",
                path.display()
            ));
            r.inhibited = true;
            return;
        }
        let mode = m.mode();
        let writable_kind = (ft.is_dir() && mode & S_ISVTX == 0) || ft.is_file();
        if m.uid() != 0
            || (writable_kind && ((m.gid() != 0 && mode & S_IWGRP != 0) || mode & S_IWOTH != 0))
        {
            r.say(format!(
                "Unsafe permissions found for script '{}'{}.",
                path.display(),
                if script_security { " - disabling" } else { "" }
            ));
            r.insecure = true;
            r.inhibited = script_security;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_test_line_needs_no_file() {
        let c = check_script_secure("</dev/tcp/127.0.0.1/80", 0, 0, true);
        assert_eq!(c.mode, Some(ExecMode::Shell));
        assert!(c.runnable());
    }

    #[test]
    fn missing_script() {
        let c = check_script_secure("/nonexistent/dir/x.sh", 0, 0, true);
        assert!(!c.runnable());
        assert_eq!(
            c.messages,
            vec![
                "Script /nonexistent/dir/x.sh cannot be accessed - No such file or directory"
                    .to_string()
            ]
        );
    }

    #[test]
    fn root_owned_symlinked_directory_is_accepted() {
        // /bin is a symlink to usr/bin on merged-/usr systems.
        let m = std::fs::symlink_metadata("/bin").unwrap();
        if !m.file_type().is_symlink() || !nix::unistd::geteuid().is_root() {
            return;
        }
        let c = check_script_secure("/bin/sh", 0, 0, true);
        assert!(c.runnable(), "{:?}", c.messages);
        assert!(!c.insecure && !c.inhibited, "{:?}", c.messages);
    }

    #[test]
    fn bare_name_resolved_with_warning() {
        let c = check_script_secure("true", 0, 0, false);
        assert!(c.found && c.executable);
        assert!(c.messages[0].starts_with("WARNING - script `true` resolved by path search to `"));
    }
}
