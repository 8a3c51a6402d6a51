//! `ConfigPayload` carries every configuration the parser produces:
//! `decode(encode(c)) == c` on each sample (`etc/samples`), each operator
//! seed (`integration/seeds`) and a generated 2,000 × 10 service file.

use config::{Config, LoadOptions};
use keepalived_ipc::ConfigPayload;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: &Path) -> Option<Config> {
    let opts = LoadOptions {
        path: path.to_path_buf(),
        config_id: None,
        lenient: true,
    };
    config::load(&opts).ok().map(|l| l.config)
}

fn roundtrip(c: &Config) -> ConfigPayload {
    let p = ConfigPayload::encode(c).expect("encodes");
    assert!(!p.is_empty());
    let back = p.decode().expect("decodes");
    assert_eq!(*back, *c);
    // A clone shares the region and decodes the same.
    assert_eq!(*p.clone().decode().expect("clone decodes"), *c);
    p
}

#[test]
fn every_sample_and_seed_round_trips() {
    let mut loaded = 0;
    let mut files = 0;
    for dir in ["etc/samples", "integration/seeds"] {
        let mut entries: Vec<_> = std::fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        entries.sort();
        for path in entries {
            files += 1;
            let Some(c) = load(&path) else {
                println!("{}: not loadable, skipped", path.display());
                continue;
            };
            let p = roundtrip(&c);
            let json = serde_json::to_vec(&c).expect("json");
            println!(
                "{}: {} bytes (JSON {})",
                path.display(),
                p.len(),
                json.len()
            );
            loaded += 1;
        }
    }
    assert!(files >= 40, "only {files} files found");
    // Nearly all of them load (a few include files that are not standalone).
    assert!(loaded * 10 >= files * 8, "{loaded} of {files} loaded");
}

#[test]
fn default_config_round_trips() {
    roundtrip(&Config::default());
}

#[test]
fn big_config_round_trips_and_is_smaller_than_json() {
    let mut t = String::from("global_defs {\n  router_id RELOAD\n}\n");
    for s in 0..2000 {
        let _ = writeln!(
            t,
            "virtual_server 100.64.{}.{} 80 {{\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP",
            s / 250,
            1 + s % 250
        );
        for d in 0..10 {
            let j = s * 10 + d;
            let _ = writeln!(
                t,
                "  real_server 10.10.{}.{} 80 {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}",
                j / 256,
                j % 256
            );
        }
        t += "}\n";
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keepalived.conf");
    std::fs::write(&path, t).unwrap();
    let c = load(&path).expect("generated config loads");
    assert_eq!(c.virtual_servers.len(), 2000);

    // The buffer is sized from the previous encode in the process: a small
    // one first makes the big one outgrow it (encoded again, unsized),
    // then the same big one fits.
    roundtrip(&Config::default());
    roundtrip(&c);
    roundtrip(&c);
    let t0 = Instant::now();
    let json = serde_json::to_string(&c).unwrap();
    let t1 = Instant::now();
    let _: Config = serde_json::from_str(&json).unwrap();
    let t2 = Instant::now();
    let p = ConfigPayload::encode(&c).unwrap();
    let t3 = Instant::now();
    let back = p.decode().unwrap();
    let t4 = Instant::now();
    assert_eq!(*back, c);
    // For comparison: the same bincode 2 configuration through serde
    // (what the payload used before the native derives).
    let via_serde = bincode::serde::encode_to_vec(&c, bincode::config::standard()).unwrap();
    let t5 = Instant::now();
    let (_, _): (Config, usize) =
        bincode::serde::decode_from_slice(&via_serde, bincode::config::standard()).unwrap();
    let t6 = Instant::now();
    println!(
        "2000 x 10: JSON {} bytes, ser {:.1} ms, de {:.1} ms; payload {} bytes, encode {:.1} ms, decode {:.1} ms; bincode through serde {} bytes, encode {:.1} ms, decode {:.1} ms",
        json.len(),
        (t1 - t0).as_secs_f64() * 1e3,
        (t2 - t1).as_secs_f64() * 1e3,
        p.len(),
        (t3 - t2).as_secs_f64() * 1e3,
        (t4 - t3).as_secs_f64() * 1e3,
        via_serde.len(),
        (t5 - t4).as_secs_f64() * 1e3,
        (t6 - t5).as_secs_f64() * 1e3,
    );
    assert!(p.len() * 3 < json.len(), "{} vs {}", p.len(), json.len());
}
