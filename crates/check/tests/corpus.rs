//! Replays the committed fuzz seeds (and any saved crash artifacts) through
//! the parsers on the stable toolchain, without libFuzzer.

use std::fs;
use std::path::PathBuf;

use keepalived_check::dns;
use keepalived_check::http::{ResponseParser, DEFAULT_MAX_BODY_BYTES};
use keepalived_check::smtp::SmtpDialogue;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut v = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(rd) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(b) = fs::read(e.path()) {
                v.push(b);
            }
        }
    }
    v
}

#[test]
fn http_seeds() {
    let seeds = inputs("http_response");
    assert!(seeds.len() >= 5);
    let mut ok = 0;
    for s in &seeds {
        let mut p = ResponseParser::new(true, DEFAULT_MAX_BODY_BYTES);
        if p.feed(s).is_ok() && p.finish().is_ok() {
            ok += 1;
        }
    }
    assert!(ok >= 4, "{ok}");
}

#[test]
fn smtp_seeds() {
    let seeds = inputs("smtp_reply");
    assert!(seeds.len() >= 3);
    for s in &seeds {
        let mut d = SmtpDialogue::new("x");
        let _ = d.feed(s.get(1..).unwrap_or_default());
        let _ = d.eof();
    }
}

#[test]
fn dns_seeds() {
    let seeds = inputs("dns_response");
    assert!(seeds.len() >= 3);
    for s in &seeds {
        let id = s
            .get(..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .unwrap_or(0);
        let _ = dns::check_response(id, s);
    }
}
