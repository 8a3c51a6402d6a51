//! IPVS in a real kernel: Debian's 6.1 kernel under qemu (see `vm/rig.sh`).
//! One boot runs every check of `vm/guest/ipvs-crate.sh`:
//! (a) services/destinations added through our crate (the `ipvs-probe` example,
//! built static) read back by `ipvsadm -Sn` and our own dump printed the same
//! way; GET_INFO, timeouts, flush, thresholds, typed kernel errors;
//! (b) a reconciliation round against a table made by `ipvsadm -R`: the planned
//! operations are the minimal ones and the kernel converges.
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
    let files = vec![
        GuestFile::bin(&probe),
        GuestFile::data(
            "/guest/ipvs-rules-all.txt",
            include_str!("../vm/guest/ipvs-rules-all.txt"),
        ),
        GuestFile::data(
            "/guest/reconcile-before.txt",
            include_str!("../vm/guest/reconcile-before.txt"),
        ),
        GuestFile::data(
            "/guest/reconcile-after.txt",
            include_str!("../vm/guest/reconcile-after.txt"),
        ),
        GuestFile::data(
            "/guest/reconcile-plan.txt",
            include_str!("../vm/guest/reconcile-plan.txt"),
        ),
    ];
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
    assert_eq!(oks, 14, "every check reported ok:\n{}", r.stdout);
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
}
