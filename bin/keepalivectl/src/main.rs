//! `keepalivectl [status] [--json] [--socket PATH] [--timeout SECS]`: print the
//! status of a running keepalived-rs, read from its root-only Unix socket.
//!
//! Exit codes: 0 printed; 1 the daemon could not be reached or answered
//! something unreadable; 2 usage error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "Usage: keepalivectl [status] [--json] [--socket PATH] [--timeout SECS]\n\
  status          print the daemon's state (the default command)\n\
  --json          print the raw versioned JSON document\n\
  -s, --socket    status socket (default /run/keepalived/keepalived.sock,\n\
                  or $KEEPALIVED_STATUS_SOCKET)\n\
  --timeout SECS  give up after SECS seconds (default 5)\n";

fn main() -> ExitCode {
    let mut json = false;
    let mut socket = std::env::var_os("KEEPALIVED_STATUS_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(status::server::DEFAULT_SOCKET));
    let mut timeout = Duration::from_secs(5);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "status" => {}
            "--json" | "-j" => json = true,
            "-s" | "--socket" => match args.next() {
                Some(p) => socket = PathBuf::from(p),
                None => {
                    eprintln!("Missing parameter for option {a}");
                    return ExitCode::from(2);
                }
            },
            "--timeout" => match args.next().and_then(|t| t.parse::<f64>().ok()) {
                Some(t) if t > 0.0 && t < 3600.0 => timeout = Duration::from_secs_f64(t),
                _ => {
                    eprintln!("--timeout needs a number of seconds (0 < SECS < 3600)");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("Unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if json {
        // Validate before printing, so scripts never get half a document.
        match status::client::query_raw(&socket, timeout).and_then(|t| {
            status::StatusDoc::from_json(&t)
                .map(|_| t)
                .map_err(status::client::ClientError::Schema)
        }) {
            Ok(t) => {
                print!("{t}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("keepalivectl: {e}");
                ExitCode::from(1)
            }
        }
    } else {
        match status::client::query(&socket, timeout) {
            Ok(doc) => {
                print!("{}", status::client::render_human(&doc));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("keepalivectl: {e}");
                ExitCode::from(1)
            }
        }
    }
}
