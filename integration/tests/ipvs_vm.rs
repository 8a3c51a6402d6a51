//! IPVS in a real kernel: Debian's 6.1 kernel under qemu (see `vm/rig.sh`).
//! One boot runs every check of `vm/guest/ipvs-crate.sh`:
//! (a) services/destinations added through our crate (the `ipvs-probe` example,
//! built static) read back by `ipvsadm -Sn` and our own dump printed the same
//! way; GET_INFO, timeouts, flush, thresholds, typed kernel errors;
//! (b) a reconciliation round against a table made by `ipvsadm -R`: the planned
//! operations are the minimal ones and the kernel converges;
//! (c) HTTP through a NAT service to a real server in a guest netns: our stats
//! equal ipvsadm's and a weight edit keeps the destination's counters;
//! (d) keepalived 2.2.7 programs a config: our plan against its table is empty
//! and our programming of the same rules gives the same `ipvsadm -Sn`.
//! Needs root (the rig may install packages) and qemu; skipped otherwise.

#[path = "../vm/rig.rs"]
mod rig;

use rig::GuestFile;

fn skip(why: &str) -> bool {
    eprintln!("skipped: {why}");
    true
}

#[test]
fn ipvs_crate_against_ipvsadm_in_guest() {
    if !nix::unistd::Uid::effective().is_root() && skip("not root") {
        return;
    }
    if let Some(why) = rig::unavailable() {
        skip(&why);
        return;
    }
    let probe = rig::build_static_example("keepalived-ipvs", "ipvs-probe")
        .expect("static build of ipvs-probe");
    // vm/guest/*: the guest script and its rule files and configs, under /guest.
    let guest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vm/guest");
    let mut files = rig::files_in(&guest_dir, "/guest").expect("vm/guest files");
    files.push(GuestFile::bin(&probe));
    let r =
        rig::run_in_guest(&files, include_str!("../vm/guest/ipvs-crate.sh")).expect("guest run");
    println!("{}", r.stdout);
    println!(
        "boot+run wall {:.2} s, guest ready at {:?} s, done at {:?} s",
        r.wall.as_secs_f64(),
        r.guest_ready_s,
        r.guest_done_s
    );
    if r.exit == -1 {
        println!("--- console\n{}", r.console);
    }
    assert_eq!(r.exit, 0, "guest checks failed:\n{}", r.stdout);
    let oks = r.stdout.lines().filter(|l| l.starts_with("ok: ")).count();
    assert_eq!(oks, 31, "every check reported ok:\n{}", r.stdout);
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
}

/// The per-run archive is a valid newc cpio (checked with the host's cpio when present).
#[test]
fn guest_archive_is_valid_newc() {
    let a = rig::newc_archive(&[
        ("/guest/a.txt".into(), 0o644, b"hello\n".to_vec()),
        (
            "/usr/local/bin/tool".into(),
            0o755,
            vec![0x7f, b'E', b'L', b'F'],
        ),
        ("/guest/run.sh".into(), 0o755, b"echo hi\n".to_vec()),
    ]);
    assert_eq!(&a[..6], b"070701");
    assert_eq!(a.len() % 4, 0);
    let Ok(mut child) = std::process::Command::new("cpio")
        .args(["-it", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("no cpio on the host: structure checked only");
        return;
    };
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&a).unwrap();
    let out = child.wait_with_output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        listing.lines().collect::<Vec<_>>(),
        [
            "guest",
            "usr",
            "usr/local",
            "usr/local/bin",
            "guest/a.txt",
            "usr/local/bin/tool",
            "guest/run.sh"
        ]
    );
}

/// Reload-size figures (2,000 services, 20,000 destinations) in the guest; a
/// benchmark, so only on demand: `cargo test -p keepalived-integration --test
/// ipvs_vm -- --ignored --nocapture`.
#[test]
#[ignore]
fn ipvs_scale_in_guest() {
    if !nix::unistd::Uid::effective().is_root() && skip("not root") {
        return;
    }
    if let Some(why) = rig::unavailable() {
        skip(&why);
        return;
    }
    let probe = rig::build_static_example_release("keepalived-ipvs", "ipvs-probe")
        .expect("static build of ipvs-probe");
    let r = rig::run_in_guest(
        &[GuestFile::bin(&probe)],
        include_str!("../vm/bench/ipvs-scale.sh"),
    )
    .expect("guest run");
    println!("{}", r.stdout);
    println!("boot+run wall {:.2} s", r.wall.as_secs_f64());
    assert_eq!(r.exit, 0, "{}", r.stdout);
}
