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
        if self.console {
            let now = chrono::Local::now();
            eprintln!("{}: {msg}", now.format("%c"));
        }
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let now = chrono::Local::now();
                let _ = writeln!(f, "{}: {msg}", now.format("%a %b %d %H:%M:%S%.9f %Y"));
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
    let syslog = if setup.syslog {
        let fmt = Formatter3164 {
            facility: syslog_facility(setup.facility),
            hostname: None,
            process: setup.ident.clone(),
            pid: std::process::id(),
        };
        syslog::unix(fmt).ok().map(Mutex::new)
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
    let logger = KaLogger {
        syslog,
        console: setup.console,
        file,
        flush_file: setup.flush_file,
        level,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
