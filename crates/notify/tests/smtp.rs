//! SMTP alerts against a tiny SMTP server on 127.0.0.1 written here.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use keepalived_notify::notify::NotifyState;
use keepalived_notify::smtp::{send_alert, vrrp_instance_alert, SmtpConfig, SmtpError, SmtpSender};

/// Serves one session. `rcpt_code` is the reply to RCPT TO. Returns the
/// transcript (client lines prefixed "C: ", server lines "S: ").
fn server(rcpt_code: u16, greet: bool) -> (SocketAddr, thread::JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let mut t = Vec::new();
        let say = |w: &mut std::net::TcpStream, t: &mut Vec<String>, line: &str| {
            t.push(format!("S: {line}"));
            w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        };
        if !greet {
            // Accept and stay silent until the client gives up.
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            return t;
        }
        say(&mut w, &mut t, "220-test.invalid ESMTP");
        say(&mut w, &mut t, "220 ready");
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let line = line.trim_end_matches("\r\n").to_string();
            t.push(format!("C: {line}"));
            if in_data {
                if line == "." {
                    in_data = false;
                    say(&mut w, &mut t, "250 queued");
                }
                continue;
            }
            let up = line.to_ascii_uppercase();
            if up.starts_with("HELO") || up.starts_with("MAIL") {
                say(&mut w, &mut t, "250 ok");
            } else if up.starts_with("RCPT") {
                say(&mut w, &mut t, &format!("{rcpt_code} rcpt"));
            } else if up == "DATA" {
                in_data = true;
                say(&mut w, &mut t, "354 go");
            } else if up == "QUIT" {
                say(&mut w, &mut t, "221 bye");
                break;
            } else {
                say(&mut w, &mut t, "500 what");
            }
        }
        t
    });
    (addr, h)
}

fn cfg(addr: SocketAddr) -> SmtpConfig {
    SmtpConfig {
        server: addr,
        helo_name: String::new(),
        from: "keepalived@node1.invalid".into(),
        to: vec![
            "ops@example.invalid".into(),
            "oncall@example.invalid".into(),
        ],
        timeout: Duration::from_secs(3),
    }
}

#[test]
fn alert_dialogue() {
    let (addr, h) = server(250, true);
    let alert = vrrp_instance_alert("LVS_DEVEL", "VI_1", NotifyState::Master).unwrap();
    send_alert(&cfg(addr), &alert, "Sun, 22 Nov 2026 20:08:22 +0000").unwrap();
    let t = h.join().unwrap();
    let expect = [
        "S: 220-test.invalid ESMTP",
        "S: 220 ready",
        "C: HELO localhost",
        "S: 250 ok",
        "C: MAIL FROM:<keepalived@node1.invalid>",
        "S: 250 ok",
        "C: RCPT TO:<ops@example.invalid>",
        "S: 250 rcpt",
        "C: RCPT TO:<oncall@example.invalid>",
        "S: 250 rcpt",
        "C: DATA",
        "S: 354 go",
        "C: Date: Sun, 22 Nov 2026 20:08:22 +0000",
        "C: From: keepalived@node1.invalid",
        "C: Subject: [LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state",
        "C: X-Mailer: Keepalived",
        "C: To: ops@example.invalid, oncall@example.invalid",
        "C: ",
        "C: => VRRP Instance is now owning VRRP VIPs <=",
        "C: ",
        "C: .",
        "S: 250 queued",
        "C: QUIT",
        "S: 221 bye",
    ];
    assert_eq!(t, expect);
}

#[test]
fn refused_recipient_is_reported_with_keepalived_wording() {
    let (addr, h) = server(550, true);
    let alert = vrrp_instance_alert("r1", "VI_1", NotifyState::Backup).unwrap();
    let e = send_alert(&cfg(addr), &alert, "d").unwrap_err();
    assert!(matches!(
        e,
        SmtpError::Status {
            cmd: "RCPT",
            code: 550,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        format!(
            "Error processing RCPT cmd on SMTP server [127.0.0.1]:{}. SMTP status code = 550",
            addr.port()
        )
    );
    drop(h);
}

#[test]
fn silent_server_times_out() {
    let (addr, _h) = server(250, false);
    let mut c = cfg(addr);
    c.timeout = Duration::from_millis(300);
    let t0 = Instant::now();
    let alert = vrrp_instance_alert("r1", "VI_1", NotifyState::Fault).unwrap();
    let e = send_alert(&c, &alert, "d").unwrap_err();
    assert!(matches!(e, SmtpError::ReadTimeout(_)), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(
        e.to_string(),
        format!(
            "Timeout reading data to remote SMTP server [127.0.0.1]:{}.",
            addr.port()
        )
    );
}

#[test]
fn connection_refused() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let alert = vrrp_instance_alert("r1", "VI_1", NotifyState::Stop).unwrap();
    let e = send_alert(&cfg(addr), &alert, "d").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("SMTP connection ERROR to [127.0.0.1]:{port}.")
    );
}

#[test]
fn worker_thread_never_blocks_the_caller() {
    let (addr, h) = server(250, true);
    let (tx, rx) = mpsc::channel();
    let sender = SmtpSender::spawn(cfg(addr), Some(tx)).unwrap();
    let t0 = Instant::now();
    assert!(sender.send(vrrp_instance_alert("r1", "VI_1", NotifyState::Master).unwrap()));
    // Enqueueing is immediate.
    assert!(t0.elapsed() < Duration::from_millis(50));
    let r = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(r.is_ok(), "{r:?}");
    sender.finish();
    let t = h.join().unwrap();
    assert!(t.contains(&"C: Subject: [r1] VRRP Instance VI_1 - Entering MASTER state".to_string()));
    assert!(t
        .iter()
        .any(|l| l.starts_with("C: Date: ") && l.ends_with(" +0000")));
}
