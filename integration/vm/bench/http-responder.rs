//! Tiny HTTP/1.0 responder for the checker benchmark's backends (std only,
//! built by `check_bench_vm.rs` with `rustc -O -C target-feature=+crt-static`).
//! busybox httpd forks once per request, which at ~700 HTTP_GET checks per
//! second saturates the single TCG vCPU; this serves every request from a
//! few threads without forking.
//!
//! Usage: `http-responder ADDR:PORT [THREADS]`. Reads the request up to the
//! blank line (or 2 s), answers `200 OK` with a 3-byte body, closes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "0.0.0.0:80".into());
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(4);
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("http-responder: bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    let mut handles = Vec::new();
    for _ in 0..threads {
        let l = match listener.try_clone() {
            Ok(l) => l,
            Err(e) => {
                eprintln!("http-responder: {e}");
                std::process::exit(1);
            }
        };
        handles.push(std::thread::spawn(move || loop {
            let Ok((mut s, _)) = l.accept() else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 2048];
            let mut got = 0;
            while got < buf.len() {
                match s.read(&mut buf[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
                if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let _ = s.write_all(
                b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n",
            );
        }));
    }
    for h in handles {
        let _ = h.join();
    }
}
