//! FILE_CHECK track files: `init_file`, path resolution, the value read at
//! load time, and an inotify watch on each file's directory (keepalived
//! `trackers/track_file.c`: `track_file_end_handler`, `init_track_files`,
//! `process_inotify`, `process_track_file`). The values are interpreted by
//! `check::file` and applied by `check::Engine::track_file_value`.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use config::Config;
use sys::inotify::{
    Inotify, IN_CLOSE_WRITE, IN_DELETE, IN_ISDIR, IN_MOVED_FROM, IN_MOVED_TO, IN_Q_OVERFLOW,
};

/// One watched track file.
#[derive(Debug, Clone)]
struct Watched {
    name: String,
    /// Resolved path (as keepalived logs it).
    path: PathBuf,
    /// Watch descriptor of its directory.
    wd: i32,
    /// The file name inside the directory.
    file_part: Vec<u8>,
}

/// The track files of the running configuration.
#[derive(Debug)]
pub struct TrackFiles {
    inotify: Option<Inotify>,
    files: Vec<Watched>,
    /// The value of each track file as last read (by name).
    values: HashMap<String, i64>,
}

/// Reads a track file as `process_track_file`: `Ok(None)` when it cannot be
/// opened or is empty (value 0 at start), `Err` with the log line for an
/// invalid number.
pub fn read_value(path: &Path) -> Result<i64, String> {
    let Ok(mut f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    else {
        return Ok(0);
    };
    let mut buf = [0u8; check::file::READ_LIMIT];
    let n = f.read(&mut buf).unwrap_or(0);
    check::file::parse_value(&buf[..n])
        .map_err(|e| check::file::invalid_number_line(e, &path.display().to_string()).0)
}

/// `init_file [VALUE] [overwrite]` (`track_file_end_handler`): create the
/// file with VALUE when it does not exist, or overwrite a regular file with
/// `overwrite` — never on reload.
pub fn init_file(
    name: &str,
    path: &Path,
    value: i64,
    overwrite: bool,
    reload: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Ok(m) = std::fs::metadata(path) {
        if !overwrite {
            return lines;
        }
        if !m.is_file() {
            lines.push(format!(
                "Cannot initialise track file {name} - it is not a regular file"
            ));
            return lines;
        }
        if reload {
            return lines;
        }
    }
    if std::fs::write(path, format!("{value}\n")).is_err() {
        lines.push(format!("Unable to initialise track file {name}"));
    }
    lines
}

/// Resolves a track file's path as `init_track_files`: the real path when
/// the file exists, else the resolved directory plus the file name.
/// `Err` is keepalived's log line (the track file is then removed).
pub fn resolve(name: &str, path: &Path) -> Result<(PathBuf, bool), String> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok((p, true)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let missing = || format!("Track file directory for {name} does not exist - removing");
            let d = std::fs::canonicalize(&dir).map_err(|_| missing())?;
            if !d.is_dir() {
                return Err(missing());
            }
            let file = path.file_name().ok_or_else(missing)?;
            Ok((d.join(file), false))
        }
        Err(_) => Err(format!("track file {name} is not accessible - ignoring")),
    }
}

impl TrackFiles {
    /// Sets up the track files named `names` (those FILE_CHECKs use):
    /// `init_file`, resolution, one inotify watch per directory, and the
    /// value of each. Returns the object and the lines to log; a name
    /// missing from the result's values must be dropped from the checkers.
    pub fn setup(cfg: &Config, names: &[String], reload: bool) -> (TrackFiles, Vec<String>) {
        let mut lines = Vec::new();
        let mut t = TrackFiles {
            inotify: None,
            files: Vec::new(),
            values: HashMap::new(),
        };
        for name in names {
            let Some(tf) = cfg.track_file(name) else {
                lines.push(format!("track_file {name} not found"));
                continue;
            };
            if let Some((v, overwrite)) = tf.init_file {
                lines.extend(init_file(name, &tf.file, v, overwrite, reload));
            }
            let (path, exists) = match resolve(name, &tf.file) {
                Ok(p) => p,
                Err(l) => {
                    lines.push(l);
                    continue;
                }
            };
            if t.inotify.is_none() {
                match Inotify::new() {
                    Ok(i) => t.inotify = Some(i),
                    Err(_) => {
                        lines.push("Unable to monitor track files".to_string());
                        // keepalived stops setting up here; the values
                        // read so far stay.
                    }
                }
            }
            let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
            let wd = t
                .inotify
                .as_ref()
                .and_then(|i| {
                    i.add_watch(
                        &dir,
                        IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO,
                    )
                    .ok()
                })
                .unwrap_or(-1);
            let value = if exists {
                match read_value(&path) {
                    Ok(v) => v,
                    Err(l) => {
                        lines.push(l);
                        0
                    }
                }
            } else {
                0
            };
            t.values.insert(name.clone(), value);
            t.files.push(Watched {
                name: name.clone(),
                file_part: path
                    .file_name()
                    .map(|f| f.as_bytes().to_vec())
                    .unwrap_or_default(),
                path,
                wd,
            });
        }
        (t, lines)
    }

    /// The value of a track file (None: not watched, drop its checkers).
    pub fn value(&self, name: &str) -> Option<i64> {
        self.values.get(name).copied()
    }

    /// The inotify descriptor to register for readability, if any.
    pub fn inotify(&self) -> Option<&Inotify> {
        self.inotify.as_ref()
    }

    /// Reads the pending inotify events and returns `(name, value)` for each
    /// track file whose value must be passed to the engine, in order, and
    /// the lines to log.
    pub fn on_readable(&mut self) -> (Vec<(String, i64)>, Vec<String>) {
        let mut out = Vec::new();
        let mut lines = Vec::new();
        let Some(ino) = self.inotify.as_ref() else {
            return (out, lines);
        };
        let events = match ino.read_events() {
            Ok(e) => e,
            Err(e) => {
                lines.push(format!(
                    "inotify read() returned error {} - {e}",
                    e.raw_os_error().unwrap_or(0)
                ));
                return (out, lines);
            }
        };
        for ev in events {
            if ev.mask & IN_Q_OVERFLOW != 0 {
                // Events were lost: re-read every file.
                for f in &self.files {
                    match read_value(&f.path) {
                        Ok(v) => out.push((f.name.clone(), v)),
                        Err(l) => lines.push(l),
                    }
                }
                continue;
            }
            if ev.mask & IN_ISDIR != 0 {
                continue;
            }
            if ev.mask & (IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO) == 0 {
                lines.push(format!("Unknown inotify event 0x{:x}", ev.mask));
                continue;
            }
            for f in &self.files {
                if f.wd != ev.wd || f.file_part != ev.name {
                    continue;
                }
                if ev.mask & (IN_MOVED_FROM | IN_DELETE) != 0 {
                    // The file has gone: as though it held 0.
                    out.push((f.name.clone(), 0));
                } else {
                    match read_value(&f.path) {
                        Ok(v) => out.push((f.name.clone(), v)),
                        Err(l) => lines.push(l),
                    }
                }
            }
        }
        for (n, v) in &out {
            self.values.insert(n.clone(), *v);
        }
        (out, lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ka-cd-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn init_resolve_and_read() {
        let d = tmpdir("init");
        let p = d.join("v");
        assert!(init_file("t", &p, 7, false, false).is_empty());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "7\n");
        // Exists, no overwrite: kept.
        assert!(init_file("t", &p, 9, false, false).is_empty());
        assert_eq!(read_value(&p), Ok(7));
        // overwrite, but reload: kept; not reload: written.
        assert!(init_file("t", &p, 9, true, true).is_empty());
        assert_eq!(read_value(&p), Ok(7));
        assert!(init_file("t", &p, 9, true, false).is_empty());
        assert_eq!(read_value(&p), Ok(9));
        assert_eq!(
            init_file("t", &d, 1, true, false),
            vec!["Cannot initialise track file t - it is not a regular file"]
        );
        std::fs::write(&p, "4294967296\n").unwrap();
        assert_eq!(
            read_value(&p),
            Err(format!(
                "Invalid number 4294967296 read from {} - ignoring",
                p.display()
            ))
        );
        assert_eq!(read_value(&d.join("missing")), Ok(0));
        let (r, exists) = resolve("t", &d.join("missing")).unwrap();
        assert!(!exists);
        assert_eq!(r.file_name().unwrap(), "missing");
        assert_eq!(
            resolve("t", Path::new("/nonexistent-ka-dir/x")),
            Err("Track file directory for t does not exist - removing".to_string())
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
