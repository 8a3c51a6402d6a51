//! VRRP benchmark: keepalived-rs against keepalived 2.2.7 on the same
//! namespace topology and configurations, in one run.
//!
//! ```text
//! sudo cargo run --release -p keepalived-integration --bin bench_vrrp -- [options]
//!   --samples N      takeover samples per (implementation, config, kill) (5)
//!   --samples-200 N  the same with 200 instances (2)
//!   --idle-secs S    idle CPU window (30)
//!   --out DIR        results (integration/out)
//!   --ours PATH      our binary (target/release/keepalived)
//!   --theirs PATH    keepalived 2.2.7 (/usr/sbin/keepalived)
//!   --no-200         skip the 200-instance part
//!   --publish        also copy the plot to docs/bench-vrrp.svg
//! ```
//! Measures: takeover after SIGTERM and after a crash (SIGKILL of the VRRP
//! child and the parent) for VRRPv2 `advert_int 1` and VRRPv3
//! `advert_int 0.1`, with a random advert phase before the kill; start to
//! MASTER; idle CPU (`schedstat`) and PSS (`smaps_rollup`) of the parent
//! and VRRP child of both nodes; the same with 200 instances (VRIDs 1–200
//! on one interface, 200 VIPs). Takeover = the VIP appears on the backup
//! (`ip -ts monitor address`); protocol bound = skew time for SIGTERM,
//! master-down interval minus the age of the master's last advert (from a
//! `tcpdump` on the bridge) for a crash.

use keepalived_integration::bench::capture::{AddrMonitor, Capture, Packet};
use keepalived_integration::bench::keepalived::{Impl, Keepalived, THEIRS_BIN};
use keepalived_integration::bench::report::{self, Group, Row};
use keepalived_integration::bench::stats::{ratio, Summary};
use keepalived_integration::bench::topo::{node_addr, Topo};
use keepalived_integration::bench::{guard, now_epoch, procstat, Error, Result, Rng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug)]
struct Opts {
    samples: usize,
    samples200: usize,
    idle_secs: f64,
    out: PathBuf,
    ours: PathBuf,
    theirs: PathBuf,
    with200: bool,
    publish: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn parse_args() -> std::result::Result<Opts, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let mut o = Opts {
        samples: 5,
        samples200: 2,
        idle_secs: 30.0,
        out: root().join("integration/out"),
        ours: target.join("release/keepalived"),
        theirs: THEIRS_BIN.into(),
        with200: true,
        publish: false,
    };
    let mut a = std::env::args().skip(1);
    let num = |v: Option<String>, what: &str| -> std::result::Result<f64, String> {
        v.and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{what} needs a number"))
    };
    while let Some(arg) = a.next() {
        match arg.as_str() {
            "--samples" => o.samples = num(a.next(), "--samples")? as usize,
            "--samples-200" => o.samples200 = num(a.next(), "--samples-200")? as usize,
            "--idle-secs" => o.idle_secs = num(a.next(), "--idle-secs")?,
            "--out" => o.out = a.next().ok_or("--out needs a directory")?.into(),
            "--ours" => o.ours = a.next().ok_or("--ours needs a path")?.into(),
            "--theirs" => o.theirs = a.next().ok_or("--theirs needs a path")?.into(),
            "--no-200" => o.with200 = false,
            "--publish" => o.publish = true,
            "-h" | "--help" => {
                return Err("see the doc comment of integration/src/bin/bench_vrrp.rs".into())
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

/// A configuration under test.
#[derive(Debug, Clone, Copy)]
struct Cfg {
    label: &'static str,
    version: u8,
    advert: f64,
    instances: usize,
}

const V2: Cfg = Cfg {
    label: "v2 adv 1",
    version: 2,
    advert: 1.0,
    instances: 1,
};
const V3: Cfg = Cfg {
    label: "v3 adv 0.1",
    version: 3,
    advert: 0.1,
    instances: 1,
};
const V2X200: Cfg = Cfg {
    label: "200 inst v2 adv 1",
    version: 2,
    advert: 1.0,
    instances: 200,
};

const MASTER_PRIO: f64 = 100.0;
const BACKUP_PRIO: f64 = 90.0;

impl Cfg {
    fn vrids(&self) -> Vec<u8> {
        if self.instances == 1 {
            vec![51]
        } else {
            (1..=self.instances as u8).collect()
        }
    }

    fn vip(&self, vrid: u8) -> String {
        if self.instances == 1 {
            "192.0.2.200".into()
        } else {
            format!("198.51.100.{vrid}")
        }
    }

    fn vips(&self) -> Vec<String> {
        self.vrids().into_iter().map(|v| self.vip(v)).collect()
    }

    fn skew(&self, prio: f64) -> f64 {
        (256.0 - prio) / 256.0 * self.advert
    }

    fn master_down(&self, prio: f64) -> f64 {
        3.0 * self.advert + self.skew(prio)
    }

    /// Wait after bring-up before measuring idle figures (or, with many
    /// instances, before a kill): past both GARP bursts of the master (at
    /// once and `vrrp_garp_master_delay` 5 s later).
    fn settle(&self) -> Duration {
        Duration::from_secs(if self.instances > 1 { 12 } else { 6 })
    }

    /// The same text for both implementations.
    fn conf(&self, node: usize) -> String {
        let (state, prio) = if node == 1 {
            ("MASTER", MASTER_PRIO)
        } else {
            ("BACKUP", BACKUP_PRIO)
        };
        let mut s = format!(
            "global_defs {{\n  router_id node{node}\n  vrrp_version {}\n}}\n",
            self.version
        );
        for vrid in self.vrids() {
            let (name, vip) = if self.instances == 1 {
                ("VI_1".to_owned(), format!("{}/24", self.vip(vrid)))
            } else {
                (format!("VI_{vrid}"), format!("{}/32", self.vip(vrid)))
            };
            s += &format!(
                "vrrp_instance {name} {{\n  state {state}\n  interface eth0\n  virtual_router_id {vrid}\n  priority {prio}\n  advert_int {}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n",
                self.advert
            );
        }
        s
    }
}

/// One takeover sample.
#[derive(Debug, Clone)]
struct Take {
    which: Impl,
    cfg: &'static str,
    mode: &'static str,
    /// Start of the master (alone) to all its VIPs held, s.
    start_to_master: f64,
    /// Per VIP: kill → VIP on the backup, s.
    takeover: Vec<f64>,
    /// Per VIP: the protocol bound, s.
    bound: Vec<f64>,
    /// Age of the master's last advert (VRID of the first VIP) at the kill.
    last_advert_age: Option<f64>,
    /// Kill → the master's priority-0 advert, s.
    prio0: Option<f64>,
    /// Kill → the backup's first advert, s (first VRID).
    first_advert: Option<f64>,
}

impl Take {
    /// Takeover of the last VIP.
    fn last(&self) -> f64 {
        self.takeover.iter().copied().fold(f64::NAN, f64::max)
    }

    /// Largest (takeover − bound) over the VIPs, ms.
    fn excess_ms(&self) -> f64 {
        self.takeover
            .iter()
            .zip(&self.bound)
            .map(|(t, b)| (t - b) * 1000.0)
            .fold(f64::NAN, f64::max)
    }

    fn json(&self) -> Value {
        json!({
            "impl": self.which.label(), "config": self.cfg, "kill": self.mode,
            "start_to_master_s": self.start_to_master,
            "takeover_last_vip_s": self.last(),
            "takeover_first_vip_s": self.takeover.iter().copied().fold(f64::NAN, f64::min),
            "bound_first_vip_s": self.bound.first(),
            "excess_max_ms": self.excess_ms(),
            "master_last_advert_age_s": self.last_advert_age,
            "master_prio0_s": self.prio0,
            "backup_first_advert_s": self.first_advert,
        })
    }
}

fn bin_of(o: &Opts, w: Impl) -> &Path {
    match w {
        Impl::Ours => &o.ours,
        Impl::Theirs => &o.theirs,
    }
}

fn check_interrupt() -> Result<()> {
    if guard::interrupted() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Bring up node1 (MASTER) alone, then node2 (BACKUP); returns the daemons
/// and node1's start-to-MASTER time.
fn bring_up(
    topo: &Topo,
    o: &Opts,
    w: Impl,
    cfg: &Cfg,
    tag: &str,
) -> Result<(Keepalived, Keepalived, f64)> {
    topo.flush_vips(1);
    topo.flush_vips(2);
    let vips = cfg.vips();
    let mon1 = AddrMonitor::start(topo.ns(1))?;
    let k1 = Keepalived::start(topo, 1, w, bin_of(o, w), &cfg.conf(1), &format!("{tag}-n1"))?;
    let limit = Duration::from_secs_f64(cfg.master_down(MASTER_PRIO) + 10.0);
    let times = mon1
        .wait_added(&vips, k1.started_at, limit)
        .ok_or_else(|| {
            Error::Timeout(format!(
                "{} to take its VIPs; log:\n{}",
                w.label(),
                k1.log_text()
            ))
        })?;
    mon1.stop();
    let start_to_master = times.iter().copied().fold(0.0, f64::max) - k1.started_at;
    let k2 = Keepalived::start(topo, 2, w, bin_of(o, w), &cfg.conf(2), &format!("{tag}-n2"))?;
    k2.wait_log(
        "Entering BACKUP STATE",
        cfg.instances,
        Duration::from_secs(15),
    )?;
    Ok((k1, k2, start_to_master))
}

fn takeover(
    topo: &Topo,
    o: &Opts,
    w: Impl,
    cfg: &Cfg,
    crash: bool,
    rng: &mut Rng,
    tag: &str,
) -> Result<Take> {
    check_interrupt()?;
    let (mut k1, mut k2, start_to_master) = bring_up(topo, o, w, cfg, tag)?;
    if cfg.instances > 1 {
        // kill in steady state, after both GARP bursts of 200 instances
        std::thread::sleep(cfg.settle());
    }
    let cap = Capture::start(&topo.bridge)?;
    let mon2 = AddrMonitor::start(topo.ns(2))?;
    // random advert phase: the kill lands anywhere in the advert interval
    std::thread::sleep(Duration::from_secs_f64(1.0 + rng.next_f64() * cfg.advert));
    let vips = cfg.vips();
    let held = topo.addrs(2).iter().filter(|a| vips.contains(a)).count();
    if held > 0 {
        return Err(Error::Other(format!(
            "{}: the backup holds {held} of {} VIPs before the kill (both nodes MASTER for them)",
            w.label(),
            vips.len()
        )));
    }
    let t_kill = if crash { k1.crash() } else { k1.term() };
    let limit =
        Duration::from_secs_f64(cfg.master_down(BACKUP_PRIO) + 5.0 + cfg.instances as f64 * 0.02);
    let got = mon2.wait_added(&vips, t_kill, limit);
    std::thread::sleep(Duration::from_millis(200));
    let packets = cap.finish();
    mon2.stop();
    let got = got.ok_or_else(|| {
        Error::Timeout(format!(
            "{} backup to take every VIP ({}); log:\n{}",
            w.label(),
            if crash { "crash" } else { "SIGTERM" },
            k2.log_text()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        ))
    })?;
    let (m, b) = (node_addr(1), node_addr(2));
    let mut bound = Vec::new();
    let mut first_age = None;
    for (i, vrid) in cfg.vrids().into_iter().enumerate() {
        let last = packets.iter().rev().find_map(|p| match p {
            Packet::Advert {
                t, src, vrid: v, ..
            } if *t < t_kill && *src == m && *v == vrid => Some(*t),
            _ => None,
        });
        let age = last.map(|l| t_kill - l);
        if i == 0 {
            first_age = age;
        }
        bound.push(if crash {
            cfg.master_down(BACKUP_PRIO) - age.unwrap_or(0.0)
        } else {
            cfg.skew(BACKUP_PRIO)
        });
    }
    let vrid0 = cfg.vrids()[0];
    let prio0 = packets.iter().find_map(|p| match p {
        Packet::Advert { t, src, vrid, prio }
            if *t >= t_kill && *src == m && *vrid == vrid0 && *prio == 0 =>
        {
            Some(t - t_kill)
        }
        _ => None,
    });
    let first_advert = packets.iter().find_map(|p| match p {
        Packet::Advert { t, src, vrid, .. } if *t >= t_kill && *src == b && *vrid == vrid0 => {
            Some(t - t_kill)
        }
        _ => None,
    });
    k2.stop();
    k1.stop();
    topo.flush_vips(1);
    topo.flush_vips(2);
    Ok(Take {
        which: w,
        cfg: cfg.label,
        mode: if crash { "crash" } else { "SIGTERM" },
        start_to_master,
        takeover: got.iter().map(|t| t - t_kill).collect(),
        bound,
        last_advert_age: first_age,
        prio0,
        first_advert,
    })
}

/// Idle figures of one process.
#[derive(Debug, Clone, Copy)]
struct ProcIdle {
    cpu_ms: f64,
    pss_kb: f64,
    rss_kb: f64,
    threads: f64,
}

#[derive(Debug, Clone)]
struct Idle {
    which: Impl,
    cfg: &'static str,
    secs: f64,
    /// master parent, master VRRP child, backup parent, backup VRRP child.
    procs: [ProcIdle; 4],
}

const ROLES: [&str; 4] = [
    "MASTER node parent",
    "MASTER VRRP child",
    "BACKUP node parent",
    "BACKUP VRRP child",
];

fn idle(topo: &Topo, o: &Opts, w: Impl, cfg: &Cfg, tag: &str) -> Result<Idle> {
    check_interrupt()?;
    let (mut k1, mut k2, _) = bring_up(topo, o, w, cfg, tag)?;
    // settle past the second GARP burst (vrrp_garp_master_delay 5 s)
    std::thread::sleep(cfg.settle());
    let pids: Vec<i32> = [
        k1.parent_pid(),
        k1.vrrp_pid(),
        k2.parent_pid(),
        k2.vrrp_pid(),
    ]
    .into_iter()
    .map(|p| p.ok_or_else(|| Error::Other("a pid file vanished".into())))
    .collect::<Result<_>>()?;
    let before: Vec<u64> = pids
        .iter()
        .map(|&p| procstat::cpu_ns(p).unwrap_or(0))
        .collect();
    let t0 = now_epoch();
    let mut left = o.idle_secs;
    while left > 0.0 {
        check_interrupt()?;
        let s = left.min(1.0);
        std::thread::sleep(Duration::from_secs_f64(s));
        left -= s;
    }
    let secs = now_epoch() - t0;
    let mut procs = [ProcIdle {
        cpu_ms: f64::NAN,
        pss_kb: f64::NAN,
        rss_kb: f64::NAN,
        threads: f64::NAN,
    }; 4];
    for (i, &p) in pids.iter().enumerate() {
        let after = procstat::cpu_ns(p).unwrap_or(0);
        procs[i] = ProcIdle {
            cpu_ms: after.saturating_sub(before[i]) as f64 / 1e6,
            pss_kb: procstat::pss_kb(p).map(|x| x as f64).unwrap_or(f64::NAN),
            rss_kb: procstat::rss_kb(p).map(|x| x as f64).unwrap_or(f64::NAN),
            threads: procstat::threads(p).map(|x| x as f64).unwrap_or(f64::NAN),
        };
    }
    let vips = cfg.vips();
    let dual = topo.addrs(2).iter().filter(|a| vips.contains(a)).count();
    if dual > 0 {
        println!(
            "{:>10} {:<18} idle: WARNING: the backup node holds {dual} VIPs (both MASTER)",
            w.label(),
            cfg.label
        );
    }
    k2.stop();
    k1.stop();
    Ok(Idle {
        which: w,
        cfg: cfg.label,
        secs,
        procs,
    })
}

fn fmt_s(v: &[f64]) -> String {
    match Summary::of(v) {
        Some(s) if s.n > 1 => format!("{:.3} s ({:.3}–{:.3})", s.median, s.min, s.max),
        Some(s) => format!("{:.3} s", s.median),
        None => "–".into(),
    }
}

fn med(v: &[f64]) -> f64 {
    Summary::of(v).map(|s| s.median).unwrap_or(f64::NAN)
}

fn takeover_rows(
    rows: &mut Vec<Row>,
    groups: &mut Vec<Group>,
    takes: &[Take],
    cfg: &Cfg,
    mode: &str,
    short: &str,
) {
    let pick = |w: Impl| -> Vec<&Take> {
        takes
            .iter()
            .filter(|t| t.which == w && t.cfg == cfg.label && t.mode == mode)
            .collect()
    };
    let (o, t) = (pick(Impl::Ours), pick(Impl::Theirs));
    if o.is_empty() && t.is_empty() {
        return;
    }
    let last = |v: &[&Take]| -> Vec<f64> { v.iter().map(|x| x.last()).collect() };
    let exc = |v: &[&Take]| -> Vec<f64> { v.iter().map(|x| x.excess_ms()).collect() };
    let (ol, tl, oe, te) = (last(&o), last(&t), exc(&o), exc(&t));
    let bounds: Vec<f64> = o
        .iter()
        .chain(&t)
        .filter_map(|x| x.bound.first().copied())
        .collect();
    let what = if cfg.instances > 1 { "last VIP" } else { "VIP" };
    let bound = if mode == "SIGTERM" {
        format!("skew {:.3} s", cfg.skew(BACKUP_PRIO))
    } else {
        let b = Summary::of(&bounds);
        format!(
            "down {:.3} s − advert age = {}",
            cfg.master_down(BACKUP_PRIO),
            b.map(|b| format!("{:.3}–{:.3} s", b.min, b.max))
                .unwrap_or_default()
        )
    };
    let ex = |v: &[f64]| {
        Summary::of(v)
            .map(|s| format!("{:.1} ms (max {:.1})", s.median, s.max))
            .unwrap_or_else(|| "–".into())
    };
    rows.push(Row {
        metric: format!("takeover after {mode}, {} ({what} on backup)", cfg.label),
        ours: fmt_s(&ol),
        theirs: fmt_s(&tl),
        ratio: ratio(med(&ol), med(&tl)),
        bound,
        excess: format!("{}; {}", ex(&oe), ex(&te)),
    });
    groups.push(Group {
        label: short.into(),
        ours: ol,
        theirs: tl,
        ours_excess: oe,
        theirs_excess: te,
    });
}

fn start_row(rows: &mut Vec<Row>, takes: &[Take], cfg: &Cfg) {
    let v = |w: Impl| -> Vec<f64> {
        takes
            .iter()
            .filter(|t| t.which == w && t.cfg == cfg.label)
            .map(|t| t.start_to_master)
            .collect()
    };
    let (o, t) = (v(Impl::Ours), v(Impl::Theirs));
    if o.is_empty() && t.is_empty() {
        return;
    }
    rows.push(Row {
        metric: format!(
            "start (`state MASTER`) → {} held, {}",
            if cfg.instances > 1 { "all VIPs" } else { "VIP" },
            cfg.label
        ),
        ours: fmt_s(&o),
        theirs: fmt_s(&t),
        ratio: ratio(med(&o), med(&t)),
        bound: format!(
            "master-down {:.3} s (both start BACKUP)",
            cfg.master_down(MASTER_PRIO)
        ),
        excess: String::new(),
    });
}

fn idle_rows(rows: &mut Vec<Row>, idles: &[Idle], cfg: &Cfg) {
    let get = |w: Impl| idles.iter().find(|i| i.which == w && i.cfg == cfg.label);
    let (Some(o), Some(t)) = (get(Impl::Ours), get(Impl::Theirs)) else {
        return;
    };
    for (i, role) in ROLES.iter().enumerate() {
        let (a, b) = (o.procs[i], t.procs[i]);
        rows.push(Row {
            metric: format!("idle CPU per {:.0} s, {role}, {}", o.secs, cfg.label),
            ours: format!("{:.1} ms", a.cpu_ms),
            theirs: format!("{:.1} ms", b.cpu_ms),
            ratio: ratio(a.cpu_ms, b.cpu_ms),
            bound: String::new(),
            excess: String::new(),
        });
    }
    for (i, role) in ROLES.iter().enumerate().take(2) {
        let (a, b) = (o.procs[i], t.procs[i]);
        rows.push(Row {
            metric: format!("PSS (RSS), {role}, {}", cfg.label),
            ours: format!("{:.0} kB ({:.0})", a.pss_kb, a.rss_kb),
            theirs: format!("{:.0} kB ({:.0})", b.pss_kb, b.rss_kb),
            ratio: ratio(a.pss_kb, b.pss_kb),
            bound: String::new(),
            excess: String::new(),
        });
    }
}

fn idle_json(i: &Idle) -> Value {
    let procs: Vec<Value> = ROLES
        .iter()
        .zip(&i.procs)
        .map(|(r, p)| {
            json!({"role": r, "cpu_ms": p.cpu_ms, "pss_kb": p.pss_kb, "rss_kb": p.rss_kb, "threads": p.threads})
        })
        .collect();
    json!({"impl": i.which.label(), "config": i.cfg, "window_s": i.secs, "processes": procs})
}

fn bench(o: &Opts) -> Result<()> {
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io(o.out.display().to_string(), e))?;
    let load0 = procstat::loadavg();
    let t_start = now_epoch();
    let topo = Topo::new(&format!("kbench-{}", std::process::id()), 2, false)?;
    let mut rng = Rng::from_clock();
    let mut takes = Vec::new();
    let mut idles = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut cfgs = vec![(V2, o.samples), (V3, o.samples)];
    if o.with200 {
        cfgs.push((V2X200, o.samples200));
    }
    let mut k = 0;
    for (cfg, n) in &cfgs {
        for i in 0..*n {
            // alternate who goes first, so slow drifts in machine load hit both
            let order = if i % 2 == 0 {
                [Impl::Ours, Impl::Theirs]
            } else {
                [Impl::Theirs, Impl::Ours]
            };
            for w in order {
                for crash in [false, true] {
                    k += 1;
                    let t = match takeover(&topo, o, w, cfg, crash, &mut rng, &format!("t{k}")) {
                        Ok(t) => t,
                        Err(Error::Interrupted) => return Err(Error::Interrupted),
                        Err(e) => {
                            let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                            let what = format!(
                                "{} {} {} #{}",
                                w.label(),
                                cfg.label,
                                if crash { "crash" } else { "SIGTERM" },
                                i + 1
                            );
                            println!("{what}: FAILED: {e}");
                            failures.push(format!("{what}: {first}"));
                            continue;
                        }
                    };
                    println!(
                        "{:>10} {:<18} {:<7} #{}: start→MASTER {:.3} s, takeover {:.3} s, bound {:.3} s, +{:.1} ms",
                        w.label(),
                        cfg.label,
                        t.mode,
                        i + 1,
                        t.start_to_master,
                        t.last(),
                        t.bound.first().copied().unwrap_or(f64::NAN),
                        t.excess_ms()
                    );
                    takes.push(t);
                }
            }
        }
        for w in [Impl::Ours, Impl::Theirs] {
            k += 1;
            let i = match idle(&topo, o, w, cfg, &format!("i{k}")) {
                Ok(i) => i,
                Err(Error::Interrupted) => return Err(Error::Interrupted),
                Err(e) => {
                    let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                    println!("{} {} idle: FAILED: {e}", w.label(), cfg.label);
                    failures.push(format!("{} {} idle: {first}", w.label(), cfg.label));
                    continue;
                }
            };
            println!(
                "{:>10} {:<18} idle {:.0} s: CPU ms {:.1}/{:.1}/{:.1}/{:.1}, PSS kB {:.0}/{:.0} (parent/child of master, backup)",
                w.label(),
                cfg.label,
                i.secs,
                i.procs[0].cpu_ms,
                i.procs[1].cpu_ms,
                i.procs[2].cpu_ms,
                i.procs[3].cpu_ms,
                i.procs[0].pss_kb,
                i.procs[1].pss_kb
            );
            idles.push(i);
        }
    }
    drop(topo);
    let load1 = procstat::loadavg();

    let mut rows = Vec::new();
    let mut groups = Vec::new();
    for (cfg, _) in &cfgs {
        let short = if cfg.instances > 1 { "200×" } else { "" };
        let a = if cfg.version == 2 { "v2 1s" } else { "v3 0.1s" };
        takeover_rows(
            &mut rows,
            &mut groups,
            &takes,
            cfg,
            "SIGTERM",
            &format!("{short}SIGTERM {a}"),
        );
        takeover_rows(
            &mut rows,
            &mut groups,
            &takes,
            cfg,
            "crash",
            &format!("{short}crash {a}"),
        );
        start_row(&mut rows, &takes, cfg);
        idle_rows(&mut rows, &idles, cfg);
    }
    let md = report::markdown(&rows);
    let fmt_load = |l: Option<(f64, f64, f64)>| {
        l.map(|(a, b, c)| format!("{a:.2} {b:.2} {c:.2}"))
            .unwrap_or_default()
    };
    let header = format!(
        "VRRP benchmark, {} samples per takeover row ({} with 200 instances), idle window {:.0} s; load average {} at the start, {} at the end; {:.0} s in all.\n\n",
        o.samples,
        o.samples200,
        o.idle_secs,
        fmt_load(load0),
        fmt_load(load1),
        now_epoch() - t_start
    );
    let mut md_all = header.clone() + &md;
    if !failures.is_empty() {
        md_all += "\nRuns that failed (not in the figures above):\n\n";
        for f in &failures {
            md_all += &format!("* {f}\n");
        }
    }
    let mdp = o.out.join("bench-vrrp.md");
    std::fs::write(&mdp, &md_all).map_err(|e| Error::Io(mdp.display().to_string(), e))?;
    let js = json!({
        "date_epoch": t_start,
        "load_avg_start": load0.map(|l| [l.0, l.1, l.2]),
        "load_avg_end": load1.map(|l| [l.0, l.1, l.2]),
        "samples": o.samples, "samples_200": o.samples200, "idle_secs": o.idle_secs,
        "ours": o.ours.display().to_string(), "theirs": o.theirs.display().to_string(),
        "takeovers": takes.iter().map(Take::json).collect::<Vec<_>>(),
        "idle": idles.iter().map(idle_json).collect::<Vec<_>>(),
        "failures": failures,
    });
    let jp = o.out.join("bench-vrrp.json");
    std::fs::write(&jp, serde_json::to_string_pretty(&js).unwrap_or_default())
        .map_err(|e| Error::Io(jp.display().to_string(), e))?;
    let svg = o.out.join("bench-vrrp.svg");
    report::plot(
        &svg,
        &groups,
        "VRRP takeover: keepalived-rs (blue) vs keepalived 2.2.7 (red), same namespaces and configs",
    )?;
    println!("\n{md_all}");
    println!(
        "written: {}, {}, {}",
        mdp.display(),
        jp.display(),
        svg.display()
    );
    if o.publish {
        let dst = root().join("docs/bench-vrrp.svg");
        if let Some(d) = dst.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        std::fs::copy(&svg, &dst).map_err(|e| Error::Io(dst.display().to_string(), e))?;
        println!("copied the plot to {}", dst.display());
    }
    Ok(())
}

fn main() {
    guard::install();
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("the benchmark needs root (network namespaces)");
        std::process::exit(1);
    }
    for b in [&o.ours, &o.theirs] {
        if !b.exists() {
            eprintln!(
                "{} not found (cargo build --release -p keepalived; apt-get install keepalived)",
                b.display()
            );
            std::process::exit(1);
        }
    }
    let r = bench(&o);
    guard::cleanup_all();
    if let Err(e) = r {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}
