//! Bad input never panics: mutated seeds and hostile constructs.

use keepalived_config::*;
use std::path::Path;

fn load_text(dir: &Path, text: &[u8]) -> Result<Loaded, Failed> {
    let p = dir.join("k.conf");
    std::fs::write(&p, text).unwrap();
    load(&LoadOptions {
        path: p,
        config_id: Some("n1".into()),
        lenient: false,
    })
}

/// Deterministic xorshift so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "{",
    "}",
    "\"",
    "'",
    "!",
    "#",
    "\\",
    "$",
    "${",
    "$X=",
    "$Y=a \\",
    "@n1 ",
    "@^n1 ",
    "~SEQ(",
    "~SEQ(i,1,3) ",
    "~LST(",
    ")",
    ",",
    "\n",
    " ",
    "\t",
    "\u{a0}",
    "é",
    "\0",
    "include ",
    "include *",
    "-",
    "/",
    "255",
    "0",
    "-1",
    "99999999999999999999",
    "1.5",
    ".",
    "::",
    "fe80::1",
    "192.0.2.1/33",
    "weight",
    "brd",
    "+",
    "TUN",
    "type",
    "gue",
    "fwmark",
    "group",
];

#[test]
fn mutated_samples_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/samples");
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut files: Vec<_> = std::fs::read_dir(samples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let orig = std::fs::read(&f).unwrap();
        for _ in 0..60 {
            let mut t = orig.clone();
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(t.len() + 1);
                match rng.below(3) {
                    0 if !t.is_empty() => {
                        let end = (at + 1 + rng.below(8)).min(t.len());
                        t.drain(at.min(end)..end);
                    }
                    1 => {
                        let p = PIECES[rng.below(PIECES.len())].as_bytes();
                        t.splice(at..at, p.iter().copied());
                    }
                    _ => {
                        let b = (rng.next() & 0xff) as u8;
                        t.insert(at, b);
                    }
                }
            }
            // Must return, never panic; the result itself may be either.
            let _ = load_text(dir.path(), &t);
        }
    }
}

#[test]
fn hostile_constructs_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "$A=$A $A\n$A\n",
        "$A=$A \\\n$A\n\n$A\n",
        "~SEQ(a,1,1000000) ~SEQ(b,1,1000000) x\n",
        "~SEQ(a,-9223372036854775808,9223372036854775807) x\n",
        "~SEQ(a,9223372036854775806,9223372036854775807) x\n",
        "~SEQ)(\n",
        "~SEQx(a,-1,3) x\n",
        "@\n@^\n@^ x\n",
        "include\ninclude \"\"\n",
        "{{{{{{{{{{\n}}}}}}}}}}}}}\n",
        "vrrp_instance\nvirtual_server\nreal_server\n",
    ] {
        let t = std::time::Instant::now();
        let r = load_text(dir.path(), text.as_bytes());
        assert!(
            t.elapsed().as_secs() < 20,
            "{text:?} took {:?}",
            t.elapsed()
        );
        if let Err(f) = r {
            assert!(!f.diagnostics.is_empty());
        }
    }
}

#[test]
fn many_unknown_keywords_stay_cheap() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n");
    for i in 0..20_000 {
        s.push_str(&format!(" prioritee{i} 5\n"));
    }
    s.push_str("}\n");
    let t = std::time::Instant::now();
    let f = load_text(dir.path(), s.as_bytes()).unwrap_err();
    assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
    assert_eq!(
        f.diagnostics
            .iter()
            .filter(|d| d.message.starts_with("Unknown keyword"))
            .count(),
        20_000
    );
    // The first ones still get a suggestion.
    let first = f
        .diagnostics
        .iter()
        .find(|d| d.message.starts_with("Unknown keyword"))
        .unwrap();
    assert!(
        first.message.contains("did you mean 'priority'?"),
        "{first}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("vrrp_instance VI_1 {\n");
    s.push_str(&"authentication {\n".repeat(100_000));
    s.push_str(&"}\n".repeat(100_001));
    let f = load_text(dir.path(), s.as_bytes()).unwrap_err();
    assert!(
        f.diagnostics
            .iter()
            .any(|d| d.message.contains("blocks nest too deeply") && d.line == 129),
        "{:?}",
        &f.diagnostics[..3.min(f.diagnostics.len())]
    );
    // Unclosed: one summary instead of 90,000 messages.
    let f = load_text(
        dir.path(),
        b"~SEQ(i,1,1,300) ~SEQ(j,1,1,300) global_defs {\n",
    )
    .unwrap_err();
    assert!(
        f.diagnostics.len() < 20,
        "{} diagnostics",
        f.diagnostics.len()
    );
    assert!(f
        .diagnostics
        .iter()
        .any(|d| d.message.starts_with("There are 90000 missing '}'s")));
}

#[test]
fn includes_of_special_files_are_skipped_like_keepalived() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("x.conf");
    std::fs::write(&exe, "global_defs {\n}\n").unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = format!(
        "include /dev/zero\ninclude /etc/\ninclude {}\n",
        exe.display()
    );
    let l = load_text(dir.path(), text.as_bytes()).unwrap();
    let m: Vec<(u32, &str)> = l
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert_eq!(
        m,
        vec![
            (
                1,
                "Configuration file '/dev/zero' is not a regular non-executable file - skipping"
            ),
            (2, "Configuration file '/etc' is a directory - skipping"),
            (
                3,
                format!(
                    "Configuration file '{}' is not a regular non-executable file - skipping",
                    exe.display()
                )
                .as_str()
            ),
        ]
    );
}
