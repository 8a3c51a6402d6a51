//! `-t/--config-test[=LOG_FILE]`: load the configuration, print every
//! diagnostic, exit with a code that says whether the daemon would run.
//!
//! Exit codes (keepalived 2.2.7 gives 5 for anything it complains about,
//! warnings included, and 0 when the file is missing; see notes/processes.md):
//! * 0: clean;
//! * 3: warnings only (it would run; look at them), a missing interface included;
//! * 4: the configuration file does not exist or cannot be read;
//! * 5: errors: the daemon would not start.

use crate::cli::Cli;
use config::{LoadOptions, Severity};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// Clean.
pub const OK: i32 = 0;
/// Warnings only.
pub const WARNINGS: i32 = 3;
/// Configuration file missing.
pub const NO_FILE: i32 = 4;
/// Would not run.
pub const ERRORS: i32 = 5;

/// Run the test; `out` is `-t=FILE` (append) or stderr.
pub fn run(cli: &Cli, out: Option<&Path>) -> i32 {
    let mut sink: Box<dyn Write> = match out {
        Some(p) => match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("Unable to open {}: {e}", p.display());
                Box::new(std::io::stderr())
            }
        },
        None => Box::new(std::io::stderr()),
    };
    let code = check(cli, &mut sink);
    let _ = sink.flush();
    code
}

fn check(cli: &Cli, out: &mut dyn Write) -> i32 {
    let path = &cli.config_file;
    if std::fs::metadata(path).is_err() {
        let _ = writeln!(out, "Config files missing '{}'.", path.display());
        return NO_FILE;
    }
    let opts = LoadOptions {
        path: path.clone(),
        config_id: cli.config_id.clone(),
        lenient: cli.lenient,
    };
    match config::load(&opts) {
        Err(failed) => {
            for d in &failed.diagnostics {
                let _ = writeln!(out, "{d}");
            }
            ERRORS
        }
        Ok(loaded) => {
            let mut warnings = 0;
            for d in &loaded.diagnostics {
                let _ = writeln!(out, "{d}");
                if d.severity == Severity::Warning {
                    warnings += 1;
                }
            }
            if let Some(ns) = &loaded.config.net_namespace {
                if !watchdog::in_named_netns(ns) {
                    let _ = writeln!(
                        out,
                        "{}: warning: net_namespace {ns}: keepalived-rs does not enter network namespaces; \
                         the daemon refuses to start unless run inside it (ip netns exec {ns} keepalived ...)",
                        path.display()
                    );
                    warnings += 1;
                }
            }
            for w in watchdog::missing_interfaces(&loaded.config) {
                let _ = writeln!(out, "{}: warning: {w}", path.display());
                warnings += 1;
            }
            if warnings > 0 {
                WARNINGS
            } else {
                OK
            }
        }
    }
}
