//! keepalivectl against an in-process status endpoint.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use status::schema::*;
use status::server::{Endpoint, Query};

fn doc() -> StatusDoc {
    StatusDoc::assemble(
        1_700_000_010.0,
        DaemonStatus {
            pid: 77,
            version: "Keepalived v2.2.7 (keepalived-rs 0.1.0)".into(),
            started_at: 1_700_000_000.0,
            uptime_secs: 3725.0,
            config_file: "/etc/keepalived/keepalived.conf".into(),
            config_generation: 3,
            last_reload: None,
            reloads: ReloadCounters::default(),
        },
        vec![],
        None,
        &[],
    )
}

/// Serve `answer` on a fresh socket for `n` connections, in a thread.
fn serve(tag: &str, answer: String, n: u64) -> (PathBuf, std::thread::JoinHandle<()>) {
    let dir = std::env::temp_dir().join(format!("kactl-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sock = dir.join("s/keepalived.sock");
    let mut ep = Endpoint::bind_status(&sock).unwrap();
    let t = std::thread::spawn(move || {
        let mut poll = mio::Poll::new().unwrap();
        ep.register(poll.registry(), 0).unwrap();
        let mut events = mio::Events::with_capacity(8);
        let t0 = std::time::Instant::now();
        while ep.served() < n && t0.elapsed() < Duration::from_secs(20) {
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .unwrap();
            for e in events.iter() {
                ep.handle(poll.registry(), e.token(), &mut |_q: Query| answer.clone());
            }
        }
        ep.close(poll.registry());
        let _ = std::fs::remove_dir_all(&dir);
    });
    (sock, t)
}

fn ctl(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_keepalivectl"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn prints_for_humans_and_as_json() {
    let (sock, t) = serve("ok", doc().to_json(), 2);
    let s = sock.to_str().unwrap();
    let (code, out, err) = ctl(&["status", "-s", s]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().next().unwrap(),
        "Keepalived v2.2.7 (keepalived-rs 0.1.0) — pid 77, up 1h 2m 5s"
    );
    assert!(out.contains("Configuration: /etc/keepalived/keepalived.conf (generation 3)"));
    let (code, out, _) = ctl(&["--json", "--socket", s]);
    assert_eq!(code, 0);
    assert_eq!(StatusDoc::from_json(&out).unwrap(), doc());
    t.join().unwrap();
}

#[test]
fn errors_and_usage() {
    let (code, _, err) = ctl(&["-s", "/nonexistent-ka/keepalived.sock"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("keepalivectl: /nonexistent-ka/keepalived.sock: No such file or directory"),
        "{err}"
    );
    let (code, _, err) = ctl(&["--bogus"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("Unknown argument --bogus\nUsage: keepalivectl"),
        "{err}"
    );
    let (code, _, err) = ctl(&["--socket"]);
    assert_eq!(
        (code, err.trim()),
        (2, "Missing parameter for option --socket")
    );
    let (code, out, _) = ctl(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Usage: keepalivectl"));
    // A newer schema is refused, not misprinted.
    let (sock, t) = serve("v2", "{\"version\":2}".into(), 1);
    let (code, _, err) = ctl(&["-s", sock.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("status document version 2 is not supported"),
        "{err}"
    );
    t.join().unwrap();
}
