//! Runs every scenario in `tests/scenarios/`. Set `VRRP_REPLAY_REGEN=1` to
//! rewrite the `>` lines from the current behaviour (then review the diff).

use std::fs;
use std::path::Path;

#[test]
fn scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let regen = std::env::var_os("VRRP_REPLAY_REGEN").is_some();
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for p in &names {
        let text = fs::read_to_string(p).unwrap();
        match keepalived_vrrp::replay::run(&text, regen) {
            Ok(out) if regen => fs::write(p, out).unwrap(),
            Ok(_) => {}
            Err(e) => failures.push(format!("{}: {e}", p.display())),
        }
    }
    assert!(names.len() >= 5, "scenarios missing");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
