//! Hostile configurations (issue 6, "Bad input"): every file of
//! `integration/hostile/*.conf`, plus generated big ones (10 000 nested
//! blocks, a glob matching 5 000 files, an include tree that doubles at each
//! level, 1 MB lines, binary bytes / NUL / invalid UTF-8), goes through the
//! built binary as `keepalived -t -f FILE`, end to end. No root needed.
//!
//! For each file:
//! * the exit code is 5 (errors) or 3 (warnings only), never a panic (101),
//!   an abort (134, e.g. a stack overflow) or a signal; files that
//!   keepalived 2.2.7 itself accepts silently may exit 0 (listed below);
//! * every `error:` line is located (`file:line:col: error: ...`), and at
//!   least one located diagnostic is printed when the exit code is not 0;
//! * where the expected complaint is known, its text is checked;
//! * it finishes within [`BOUND`] (the goal is 1 s; the real time is printed
//!   for every file, the assertion is generous so that a loaded CI box does
//!   not flake).
//!
//! The child runs under `ulimit -v` so that a configuration that makes the
//! reader allocate without bound fails (abort) instead of eating the
//! machine's memory, and is killed after [`KILL_AFTER`].
//!
//! Known findings (reported in notes/REQUESTS.md for the config owner) are
//! listed in [`KNOWN`]: they are still run and printed, and the test fails on
//! them only with `HOSTILE_STRICT=1`, so that this file stays green while the
//! owner works on them; the test prints which of them are fixed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keepalived_integration::daemon::{keepalived_bin, workspace_root};

/// Generous wall-clock bound per file (the goal is 1 s).
const BOUND: Duration = Duration::from_secs(5);
/// The child is killed after this long.
const KILL_AFTER: Duration = Duration::from_secs(20);
/// Address-space limit for the child, KiB (debug binary, no sanitizer).
const ULIMIT_V_KIB: u64 = 2_000_000;

/// Files keepalived 2.2.7 accepts without a complaint (exit 0 allowed).
const MAY_BE_CLEAN: &[&str] = &[
    // 2.2.7 exits 0 too: the definitions are never expanded to 2^31 bytes.
    "macro-exponential.conf",
    // A valid configuration spread over 5 000 files.
    "gen-glob-5000.conf",
    // 2^14 reads of a valid one-line file.
    "gen-include-doubling.conf",
    // 200 000 repeated `router_id` lines: the last one wins, as upstream.
    "gen-many-lines.conf",
    // 2.2.7 takes the bytes as they are (exit 0).
    "gen-invalid-utf8.conf",
    // Big but valid: 20 000 VIPs, 10 000 real servers.
    "gen-vips-20000.conf",
    "gen-real-servers-10000.conf",
];

/// Findings not fixed yet when this file was written: name and what
/// happens. See notes/REQUESTS.md.
const KNOWN: &[(&str, &str)] = &[
    // Empty: the four findings of the first run (stack overflow at 100 000
    // nested blocks and through nested ~SEQ, `include /dev/zero` reading
    // until out of memory, 0.7 ms per unknown keyword) were fixed by the
    // config owner (d2e6973, f39b4f8) and are now ordinary EXPECT entries.
];

/// Expected text in the output for some files (substring of a located line).
const EXPECT: &[(&str, &str)] = &[
    ("advert-int-huge.conf", "Advert interval"),
    ("advert-int-negative.conf", "Advert interval '-1' not valid"),
    ("advert-int-zero.conf", "Advert interval '0' not valid"),
    ("delay-loop-zero.conf", "value 70000 out of range"),
    ("duplicate-vrid.conf", "VRID 51 is already used"),
    (
        "empty-name-vrrp-instance.conf",
        "'vrrp_instance' needs a name",
    ),
    ("empty-name-vrrp-script.conf", "'vrrp_script' needs a name"),
    ("empty-name-virtual-server.conf", "virtual_server"),
    ("garp-delay-huge.conf", "garp_master_delay"),
    ("include-loop-a.conf", "include loop"),
    ("include-loop-b.conf", "include loop"),
    ("include-self.conf", "include loop"),
    ("macro-mutual-recursion.conf", "recursive definition"),
    ("macro-self-recursion.conf", "maximum line length"),
    ("preempt-delay-out-of-range.conf", "preempt_delay"),
    ("priority-0.conf", "Priority '0' not valid"),
    ("priority-300.conf", "Priority '300' not valid"),
    (
        "priority-huge.conf",
        "Priority '99999999999999999999' not valid",
    ),
    ("priority-negative.conf", "Priority '-5' not valid"),
    ("priority-not-a-number.conf", "Priority 'high' not valid"),
    ("real-server-port-70000.conf", "value 70000 out of range"),
    ("real-server-weight-huge.conf", "weight"),
    ("seq-huge-numbers.conf", "Invalid ~SEQ"),
    ("seq-huge-range.conf", "exceeds"),
    ("seq-negative-step.conf", "Invalid ~SEQ"),
    ("seq-zero-step.conf", "Invalid ~SEQ"),
    (
        "track-script-weight-out-of-range.conf",
        "weight '300' for chk invalid",
    ),
    ("two-instances-same-name.conf", "defined twice"),
    ("unbalanced-close-brace.conf", "Extra '}'"),
    ("unbalanced-open-brace.conf", "Missing '}'"),
    ("unterminated-quote-eof.conf", "Unterminated quote"),
    ("unterminated-quote-script.conf", "Unterminated quote"),
    ("vip-bad-address.conf", "invalid IP address '192.0.2.300'"),
    ("vip-bad-prefix.conf", "invalid prefix length"),
    (
        "virtual-server-bad-algo.conf",
        "unknown scheduler 'nonsense'",
    ),
    ("virtual-server-port-70000.conf", "value 70000 out of range"),
    ("vrid-0.conf", "VRID '0' not valid"),
    ("vrid-256.conf", "VRID '256' not valid"),
    ("vrid-huge.conf", "VRID '99999999999999999999' not valid"),
    ("gen-line-1mb.conf", "line"),
    (
        "include-dev-zero.conf",
        "is not a regular non-executable file",
    ),
    ("include-directory.conf", "is a directory"),
    ("seq-nested-300.conf", "nest too deeply"),
    ("gen-nesting-100000-blocks.conf", "nest too deeply"),
    (
        "gen-unknown-keywords-10000.conf",
        "Unknown keyword 'prioritee9999'",
    ),
    ("gen-nesting-10000-braces.conf", "{"),
];

/// What one `keepalived -t -f FILE` run gave.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    output: String,
    elapsed: Duration,
    killed: bool,
}

fn run_t(file: &Path) -> Outcome {
    let bin = keepalived_bin();
    let start = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ULIMIT_V_KIB}; exec \"$0\" -t -f \"$1\" 2>&1"
        ))
        .arg(&bin)
        .arg(file)
        .current_dir(file.parent().unwrap_or(Path::new("/")))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn keepalived -t");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let mut killed = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > KILL_AFTER {
            let _ = child.kill();
            killed = true;
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let out = reader.join().unwrap_or_default();
    use std::os::unix::process::ExitStatusExt;
    Outcome {
        code: status.code(),
        signal: status.signal(),
        output: String::from_utf8_lossy(&out).into_owned(),
        elapsed,
        killed,
    }
}

/// `file:line:col: severity: ...` with numeric line and column.
fn is_located(line: &str) -> bool {
    let mut parts = line.splitn(4, ':');
    let (Some(file), Some(l), Some(c), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !file.is_empty()
        && l.parse::<u32>().is_ok_and(|n| n >= 1)
        && c.parse::<u32>().is_ok_and(|n| n >= 1)
        && (rest.starts_with(" error:") || rest.starts_with(" warning:"))
}

/// Checks one outcome; returns the list of problems (empty = fine).
fn judge(name: &str, o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    if o.killed {
        bad.push(format!("still running after {KILL_AFTER:?}: killed"));
    }
    if o.output.contains("panicked") || o.output.contains("RUST_BACKTRACE") {
        bad.push("panic".into());
    }
    if o.output.contains("overflowed its stack") {
        bad.push("stack overflow".into());
    }
    if o.output.contains("out of memory") {
        bad.push("read until out of memory (unbounded read)".into());
    }
    if o.output.contains("memory allocation") {
        bad.push("allocation failure (unbounded memory use)".into());
    }
    let clean_ok = MAY_BE_CLEAN.contains(&name);
    match (o.code, o.signal) {
        (Some(5), _) | (Some(3), _) => {}
        (Some(0), _) if clean_ok => {}
        (Some(c), _) => bad.push(format!("exit code {c} (want 5 or 3)")),
        (None, Some(s)) if !o.killed => bad.push(format!("killed by signal {s}")),
        _ => {}
    }
    if o.elapsed > BOUND {
        bad.push(format!("took {:.2?} (bound {BOUND:?})", o.elapsed));
    }
    let lines: Vec<&str> = o.output.lines().collect();
    for l in &lines {
        if l.contains(" error:") && !is_located(l) {
            bad.push(format!("unlocated error line: {l}"));
        }
    }
    // The watchdog's missing-interface warning names the file only (a
    // request to locate it is in notes/REQUESTS.md); it is the only
    // diagnostic of a valid VRRP configuration on this box.
    let interface_only = o.code == Some(3)
        && lines
            .iter()
            .any(|l| l.contains(": warning: interface ") && l.contains("doesn't exist"));
    if o.code != Some(0) && !o.killed && !interface_only && !lines.iter().any(|l| is_located(l)) {
        bad.push("no located diagnostic".into());
    }
    if let Some((_, want)) = EXPECT.iter().find(|(n, _)| *n == name) {
        if !lines.iter().any(|l| is_located(l) && l.contains(want)) {
            bad.push(format!("no located line containing {want:?}"));
        }
    }
    bad
}

fn hostile_dir() -> PathBuf {
    workspace_root().join("integration").join("hostile")
}

/// Writes the big generated cases into `dir`; returns their main files.
fn generate(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write generated config");
        out.push(p);
    };
    let vrrp = "vrrp_instance VI_1 {\n    interface kahostile0\n    virtual_router_id 51\n    \
                priority 100\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n";

    // 10 000 levels of braces on one line, and 10 000 / 100 000 nested
    // keyword blocks (one per line).
    let n = 10_000;
    put(
        "gen-nesting-10000-braces.conf",
        format!("global_defs {}\n{}\n", "{".repeat(n), "}".repeat(n)).into_bytes(),
    );
    for n in [10_000usize, 100_000] {
        let mut s = String::from("vrrp_instance VI_1 {\n");
        s.push_str(&"authentication {\n".repeat(n));
        s.push_str(&"}\n".repeat(n + 1));
        put(&format!("gen-nesting-{n}-blocks.conf"), s.into_bytes());
    }

    // Two ~SEQ on one line: 300 x 300 = 90 000 `global_defs {` never closed.
    put(
        "seq-nested-300.conf",
        b"~SEQ(i,1,1,300) ~SEQ(j,1,1,300) global_defs {\n    router_id r$i$j\n}\n".to_vec(),
    );

    // A glob matching 5 000 files, each a valid vrrp_script.
    let inc = dir.join("glob5000");
    std::fs::create_dir_all(&inc).expect("mkdir");
    for i in 0..5_000 {
        std::fs::write(
            inc.join(format!("s{i:04}.conf")),
            format!("vrrp_script chk_{i} {{\n    script \"/bin/true\"\n    interval 2\n}}\n"),
        )
        .expect("write include");
    }
    put("gen-glob-5000.conf", b"include glob5000/*.conf\n".to_vec());

    // An include tree (no loop) that doubles at each level: 2^14 reads.
    let levels = 14;
    for l in 0..levels {
        let next = if l + 1 == levels {
            "! leaf\n".to_string()
        } else {
            format!("include dbl{}.conf\ninclude dbl{}.conf\n", l + 1, l + 1)
        };
        std::fs::write(dir.join(format!("dbl{l}.conf")), next).expect("write");
    }
    put(
        "gen-include-doubling.conf",
        b"include dbl0.conf\nglobal_defs {\n    router_id doubling\n}\n".to_vec(),
    );

    // 1 MB lines: a value, a keyword, a comment, a quoted string.
    let mb = 1 << 20;
    put(
        "gen-line-1mb.conf",
        format!("global_defs {{\n    router_id {}\n}}\n", "a".repeat(mb)).into_bytes(),
    );
    put(
        "gen-keyword-1mb.conf",
        format!("{} {{\n}}\n{vrrp}", "k".repeat(mb)).into_bytes(),
    );
    put(
        "gen-quote-1mb.conf",
        format!(
            "global_defs {{\n    router_id \"{}\n}}\n",
            "q ".repeat(mb / 2)
        )
        .into_bytes(),
    );
    put(
        "gen-many-lines.conf",
        format!(
            "global_defs {{\n{}}}\n",
            "    router_id x\n".repeat(200_000)
        )
        .into_bytes(),
    );

    // 10 000 unknown keywords (each gets a "did you mean" search).
    let mut s = String::from("vrrp_instance VI_1 {\n");
    for i in 0..10_000 {
        s.push_str(&format!("    prioritee{i} 5\n"));
    }
    s.push_str("}\n");
    put("gen-unknown-keywords-10000.conf", s.into_bytes());

    // Big valid configurations.
    let mut s = String::from(
        "vrrp_instance VI_1 {\n    interface kahostile0\n    virtual_router_id 51\n    \
         priority 100\n    virtual_ipaddress {\n",
    );
    for i in 0..20_000u32 {
        s.push_str(&format!(
            "        10.{}.{}.{}/32\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    s.push_str("    }\n}\n");
    put("gen-vips-20000.conf", s.into_bytes());
    let mut s = String::from(
        "virtual_server 192.0.2.10 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n",
    );
    for i in 0..10_000u32 {
        s.push_str(&format!(
            "    real_server 10.{}.{}.{} 80 {{\n        weight 1\n        TCP_CHECK {{\n            \
             connect_timeout 3\n        }}\n    }}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    s.push_str("}\n");
    put("gen-real-servers-10000.conf", s.into_bytes());

    // Binary: NUL inside a keyword, invalid UTF-8, a BOM, CR line ends,
    // and 64 KiB of pseudo-random bytes (fixed seed).
    put(
        "gen-nul-in-keyword.conf",
        format!("vrrp_inst\0ance VI_1 {{\n}}\n{vrrp}").into_bytes(),
    );
    put(
        "gen-invalid-utf8.conf",
        b"global_defs {\n    router_id \xff\xfe\xc3\x28\xa0\xa1\n}\n".to_vec(),
    );
    let mut v = b"\xef\xbb\xbf".to_vec();
    v.extend_from_slice(vrrp.as_bytes());
    v.extend_from_slice(b"\x00\x01\x02 virtual_router_id \x7f\n");
    put("gen-bom-and-controls.conf", v);
    put("gen-cr-only.conf", vrrp.replace('\n', "\r").into_bytes());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..65_536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect();
    put("gen-random-64k.conf", random);
    out
}

struct Row {
    name: String,
    outcome: Outcome,
    problems: Vec<String>,
}

fn run_all() -> Vec<Row> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(hostile_dir())
        .expect("integration/hostile")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "hostile corpus missing? {}", files.len());
    files.extend(generate(tmp.path()));

    println!(
        "{:<42} {:>5} {:>9}  first diagnostic / problems",
        "file", "exit", "time"
    );
    let mut rows = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = run_t(&f);
        let problems = judge(&name, &outcome);
        let first = outcome
            .output
            .lines()
            .find(|l| is_located(l))
            .unwrap_or("")
            .chars()
            .take(110)
            .collect::<String>();
        let code = match (outcome.code, outcome.signal) {
            (Some(c), _) => c.to_string(),
            (None, Some(s)) => format!("sig{s}"),
            _ => "?".into(),
        };
        println!(
            "{name:<42} {code:>5} {:>8.3}s  {}",
            outcome.elapsed.as_secs_f64(),
            if problems.is_empty() {
                first
            } else {
                format!("PROBLEM: {}", problems.join("; "))
            }
        );
        rows.push(Row {
            name,
            outcome,
            problems,
        });
    }
    rows
}

#[test]
fn hostile_configs_are_rejected_located_fast_and_never_panic() {
    let strict = std::env::var_os("HOSTILE_STRICT").is_some();
    let rows = run_all();
    let slowest = rows.iter().max_by_key(|r| r.outcome.elapsed).expect("rows");
    println!(
        "{} files; slowest {} in {:.3}s",
        rows.len(),
        slowest.name,
        slowest.outcome.elapsed.as_secs_f64()
    );
    let mut failures = Vec::new();
    let mut fixed = Vec::new();
    for r in &rows {
        let known = KNOWN.iter().find(|(n, _)| *n == r.name);
        match (known, r.problems.is_empty()) {
            (Some(_), true) => fixed.push(r.name.clone()),
            (Some((_, what)), false) if !strict => {
                println!("known finding (notes/REQUESTS.md): {}: {what}", r.name)
            }
            (_, false) => failures.push(format!("{}: {}", r.name, r.problems.join("; "))),
            (None, true) => {}
        }
    }
    if !fixed.is_empty() {
        println!("known findings now FIXED (remove from KNOWN): {fixed:?}");
    }
    assert!(
        failures.is_empty(),
        "hostile configurations mishandled:\n{}",
        failures.join("\n")
    );
}
