//! genhash against a local HTTP server on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

/// Serves one connection: records the request, sends `response`, closes.
fn serve_once(response: &'static [u8]) -> (u16, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 512];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        s.write_all(response).unwrap();
        req
    });
    (port, h)
}

#[test]
fn prints_md5_of_body_and_sends_keepalived_request() {
    // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321 A.5).
    let (port, h) = serve_once(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc");
    let out = Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args([
            "-s",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-u",
            "/index.html",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "900150983cd24fb0d6963f7d28e17f72\n"
    );
    assert!(out.status.success());
    let req = h.join().unwrap();
    assert_eq!(
        String::from_utf8(req).unwrap(),
        format!("GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{port}\r\n\r\n")
    );
}

#[test]
fn virtualhost_protocol_and_long_options() {
    let (port, h) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA");
    let out = Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--url",
            "/",
            "--use-virtualhost",
            "www.example.com",
            "--protocol",
            "1.1",
            "--timeout",
            "5",
        ])
        .output()
        .unwrap();
    // Only Content-Length bytes are digested, as keepalived does.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "900150983cd24fb0d6963f7d28e17f72\n"
    );
    assert_eq!(
        String::from_utf8(h.join().unwrap()).unwrap(),
        "GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"
    );
}

#[test]
fn empty_reply_and_bad_arguments() {
    let (port, h) = serve_once(b"");
    let out = Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args(["-s", "127.0.0.1", "-p", &port.to_string(), "-u", "/"])
        .output()
        .unwrap();
    h.join().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "no data received from remote webserver\n"
    );
    assert!(out.stdout.is_empty());

    let out = Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args(["-s", "www.example.com", "-p", "80", "-u", "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("server should be an IP, not www.example.com\nUsage: "),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args(["-s", "127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args(["-s", "127.0.0.1", "-p", "80", "-u", "/", "-P", "2.0"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("invalid HTTP protocol version '2.0'"));
}

#[test]
fn connection_refused() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args(["-s", "127.0.0.1", "-p", &port.to_string(), "-u", "/"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Connection failed\n");
}
