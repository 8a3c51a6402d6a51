//! Configuration lexer + reader + typed parser (`config::load`, the only
//! public entry point: the lexer is private). The input is written to a
//! file in a private scratch directory and loaded from there, so relative
//! `include`s resolve inside that directory. Must never panic and must
//! give every diagnostic a location.
//!
//! Input layout: byte 0 bit 0 selects `--lenient`; the rest is the file.
#![no_main]
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("ka-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        // Something for relative includes and globs to find.
        std::fs::write(d.join("inc.conf"), "global_defs {\n router_id fuzz\n}\n").unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, text)) = data.split_first() else {
        return;
    };
    let path = scratch().join("keepalived.conf");
    std::fs::write(&path, text).expect("write input");
    let opts = config::LoadOptions {
        path: path.clone(),
        config_id: Some("fuzz".into()),
        lenient: sel & 1 == 1,
    };
    let diags = match config::load(&opts) {
        Ok(l) => {
            // What the parent sends to the children must serialise.
            let _ = format!("{:?}", l.config);
            l.diagnostics
        }
        Err(f) => {
            assert!(
                f.diagnostics
                    .iter()
                    .any(|d| d.severity == config::Severity::Error),
                "Failed without an error"
            );
            f.diagnostics
        }
    };
    for d in &diags {
        assert!(d.line >= 1 && d.col >= 1, "unlocated diagnostic: {d}");
        let _ = d.to_string();
    }
});
