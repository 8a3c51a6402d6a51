//! The `log` backend: syslog (ident with pid, facility from `-S`), the
//! console with `-l` (only with `-n`, as upstream `lib/logger.c`) and a file
//! with `-g`. Formats follow keepalived: console `"<%c>: msg"`, file
//! `"%a %b %d %T.%9N %Y: msg"`.

use crate::cli::Facility;
use log::{Level, LevelFilter, Log, Metadata, Record};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use syslog::{Formatter3164, LoggerBackend};

/// What to set up.
#[derive(Debug, Clone)]
pub struct LogSetup {
    /// Syslog ident (`Keepalived`, `Keepalived_vrrp`, `Keepalived_healthcheckers`).
    pub ident: String,
    /// Syslog facility.
    pub facility: Facility,
    /// Send to syslog (false with `-G` and `-t`).
    pub syslog: bool,
    /// Also print on stderr (`-l` with `-n`).
    pub console: bool,
    /// Also append to this file (`-g`).
    pub file: Option<PathBuf>,
    /// Flush the file after every line.
    pub flush_file: bool,
    /// `-D` count: 0 info, 1 debug, 2+ trace.
    pub detail: u8,
    /// Syslog socket (`/dev/log` when `None`; tests use their own).
    pub syslog_socket: Option<PathBuf>,
}

struct KaLogger {
    syslog: Option<Mutex<syslog::Logger<LoggerBackend, Formatter3164>>>,
    console: bool,
    file: Option<Mutex<File>>,
    flush_file: bool,
    level: LevelFilter,
}

impl Log for KaLogger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let msg = r.args().to_string();
        if let Some(s) = &self.syslog {
            if let Ok(mut s) = s.lock() {
                let _ = match r.level() {
                    Level::Error => s.err(&msg),
                    Level::Warn => s.warning(&msg),
                    Level::Info => s.info(&msg),
                    Level::Debug | Level::Trace => s.debug(&msg),
                };
            }
        }
        // Each line is formatted whole and written with one write(2)
        // (`eprintln!`/`writeln!` on an unbuffered stream make one per piece).
        if self.console {
            let line = format!("{}: {msg}\n", chrono::Local::now().format("%c"));
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let line = format!(
                    "{}: {msg}\n",
                    chrono::Local::now().format("%a %b %d %H:%M:%S%.9f %Y")
                );
                let _ = f.write_all(line.as_bytes());
                if self.flush_file {
                    let _ = f.flush();
                }
            }
        }
    }

    fn flush(&self) {
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let _ = f.flush();
            }
        }
    }
}

fn syslog_facility(f: Facility) -> syslog::Facility {
    use syslog::Facility as F;
    match f {
        Facility::Daemon => F::LOG_DAEMON,
        Facility::User => F::LOG_USER,
        Facility::Local(0) => F::LOG_LOCAL0,
        Facility::Local(1) => F::LOG_LOCAL1,
        Facility::Local(2) => F::LOG_LOCAL2,
        Facility::Local(3) => F::LOG_LOCAL3,
        Facility::Local(4) => F::LOG_LOCAL4,
        Facility::Local(5) => F::LOG_LOCAL5,
        Facility::Local(6) => F::LOG_LOCAL6,
        Facility::Local(_) => F::LOG_LOCAL7,
    }
}

/// The log file of a child: `_vrrp` / `_check` inserted before the
/// extension of the parent's file, as upstream `make_file_name()`
/// (`/tmp/keepalived.log` → `/tmp/keepalived_vrrp.log`).
pub fn child_log_file(parent: &Path, suffix: &str) -> PathBuf {
    let stem = parent
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match parent.extension() {
        Some(ext) => format!("{stem}_{suffix}.{}", ext.to_string_lossy()),
        None => format!("{stem}_{suffix}"),
    };
    parent.with_file_name(name)
}

/// keepalived's default `-g` file: `keepalived.log` in `$TMPDIR` (absolute,
/// existing) or `/tmp`.
pub fn default_log_file() -> PathBuf {
    let dir = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    dir.join("keepalived.log")
}

/// Install the logger. Problems (no `/dev/log`, unwritable file) are
/// reported on stderr and that destination is skipped.
pub fn init(setup: &LogSetup) {
    let (logger, level) = build(setup);
    let logger: &'static KaLogger = Box::leak(Box::new(logger));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
        let _ = INSTALLED.set(logger);
    }
}

static INSTALLED: std::sync::OnceLock<&'static KaLogger> = std::sync::OnceLock::new();

/// Change the syslog ident of the installed logger (`net_namespace` /
/// `instance` in the configuration: "Changing syslog ident to …").
pub fn set_ident(ident: &str) {
    if let Some(l) = INSTALLED.get() {
        l.set_ident(ident);
    }
}

impl KaLogger {
    fn set_ident(&self, ident: &str) {
        if let Some(s) = &self.syslog {
            if let Ok(mut s) = s.lock() {
                s.formatter.process = ident.to_string();
            }
        }
    }
}

fn build(setup: &LogSetup) -> (KaLogger, LevelFilter) {
    let syslog = if setup.syslog {
        let fmt = Formatter3164 {
            facility: syslog_facility(setup.facility),
            hostname: None,
            process: setup.ident.clone(),
            pid: std::process::id(),
        };
        match &setup.syslog_socket {
            Some(p) => syslog::unix_custom(fmt, p).ok().map(Mutex::new),
            None => syslog::unix(fmt).ok().map(Mutex::new),
        }
    } else {
        None
    };
    let file = setup.file.as_ref().and_then(|p| {
        match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                eprintln!("Unable to open log file {}: {e}", p.display());
                None
            }
        }
    });
    let level = match setup.detail {
        0 => LevelFilter::Info,
        1 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    (
        KaLogger {
            syslog,
            console: setup.console,
            file,
            flush_file: setup.flush_file,
            level,
        },
        level,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dir: &Path, facility: Facility, detail: u8) -> LogSetup {
        LogSetup {
            ident: "Keepalived_vrrp".into(),
            facility,
            syslog: true,
            console: false,
            file: Some(dir.join("k.log")),
            flush_file: true,
            detail,
            syslog_socket: Some(dir.join("log.sock")),
        }
    }

    fn emit(l: &KaLogger, level: Level, msg: &str) {
        l.log(
            &Record::builder()
                .level(level)
                .args(format_args!("{msg}"))
                .build(),
        );
    }

    #[test]
    fn syslog_ident_pid_facility_and_severity() {
        let d = tempfile::tempdir().unwrap();
        let sock = std::os::unix::net::UnixDatagram::bind(d.path().join("log.sock")).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let (l, level) = build(&setup(d.path(), Facility::Local(0), 0));
        assert_eq!(level, LevelFilter::Info);
        l.set_ident("Keepalived_vrrp_blue");
        emit(&l, Level::Info, "(VI_1) Entering MASTER STATE");
        emit(&l, Level::Error, "boom");
        emit(&l, Level::Debug, "hidden without -D");
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        // local0 (16) * 8 + info (6) = 134.
        assert!(line.starts_with("<134>"), "{line}");
        let pid = std::process::id();
        assert!(
            line.contains(&format!(
                "Keepalived_vrrp_blue[{pid}]: (VI_1) Entering MASTER STATE"
            )),
            "{line}"
        );
        let n = sock.recv(&mut buf).unwrap();
        // local0 * 8 + err (3) = 131.
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("<131>"));
        assert!(sock.recv(&mut buf).is_err(), "debug is filtered without -D");
        // The file got the same lines with keepalived's timestamp format.
        let text = std::fs::read_to_string(d.path().join("k.log")).unwrap();
        let first = text.lines().next().unwrap();
        let (stamp, msg) = first.split_once(": ").unwrap();
        assert_eq!(msg, "(VI_1) Entering MASTER STATE");
        // "Sun Nov 22 20:22:48.749933395 2026"
        let parts: Vec<&str> = stamp.split(' ').filter(|s| !s.is_empty()).collect();
        assert_eq!(parts.len(), 5, "{stamp}");
        assert_eq!(parts[3].len(), "20:22:48.749933395".len(), "{stamp}");
    }

    #[test]
    fn daemon_facility_and_detail_levels() {
        let d = tempfile::tempdir().unwrap();
        let sock = std::os::unix::net::UnixDatagram::bind(d.path().join("log.sock")).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let (l, level) = build(&setup(d.path(), Facility::Daemon, 1));
        assert_eq!(level, LevelFilter::Debug);
        emit(&l, Level::Debug, "detail");
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).unwrap();
        // daemon (3) * 8 + debug (7) = 31.
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("<31>"));
        assert_eq!(
            build(&setup(d.path(), Facility::Daemon, 2)).1,
            LevelFilter::Trace
        );
    }

    #[test]
    fn child_file_names() {
        assert_eq!(
            child_log_file(Path::new("/tmp/keepalived.log"), "vrrp"),
            PathBuf::from("/tmp/keepalived_vrrp.log")
        );
        assert_eq!(
            child_log_file(Path::new("/var/ka"), "check"),
            PathBuf::from("/var/ka_check")
        );
    }
}
