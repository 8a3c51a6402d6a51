//! `-t/--config-test[=LOG_FILE]`: load the configuration, print every
//! diagnostic, exit with a code that says whether the daemon would run.
//!
//! Exit codes (keepalived 2.2.7 gives 5 for anything it complains about,
//! warnings included, and 0 when the file is missing; see notes/processes.md):
//! * 0: clean;
//! * 3: warnings only (it would run; look at them), a missing interface included;
//! * 4: the configuration file does not exist or cannot be read;
//! * 5: errors: the daemon would not start;
//! * 6: scripts would run without `enable_script_security` (2.2.7's
//!   `CONFIG_SECURITY_ERROR`, "SECURITY VIOLATION - ..."), whatever else.

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
/// Scripts would run without script security (keepalived's
/// `KEEPALIVED_CHK_EXIT_CONFIG_TEST_SECURITY`).
pub const SECURITY: i32 = 6;

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
        Ok(mut loaded) => {
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
            // Every script, as the daemon checks them before starting
            // (keepalived reports the disabling and SECURITY VIOLATION lines
            // as configuration errors; the per-script lines are its log).
            let sec = watchdog::security::apply(
                &mut loaded.config,
                watchdog::security::Scope::ALL,
                &watchdog::security::SystemUsers,
            );
            for l in &sec.lines {
                let _ = writeln!(out, "{}", l.text);
                if l.config_error {
                    warnings += 1;
                }
            }
            if sec.violation {
                SECURITY
            } else if warnings > 0 {
                WARNINGS
            } else {
                OK
            }
        }
    }
}
