//! Faults, the audit after each, and the seeded run.

use super::backends::REAL_SERVERS;
use super::cluster::{config, write_atomic, Cluster, NODES, VIPS};
use super::procs::{walk, ProcInfo};
use super::rng::Rng;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// One fault the exerciser can inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the VRRP child of node N (the parent respawns it).
    KillVrrp(usize),
    /// SIGKILL the parent of node N (children die by PDEATHSIG); restarted.
    KillParent(usize),
    /// SIGSTOP the VRRP child of node N (the watchdog must kill and respawn it).
    StopChild(usize),
    /// SIGHUP 10 a second for `secs` to node N's parent; `changed` rewrites
    /// the config with `VI_1`'s priority lowered by 40 on every other HUP.
    HupStorm {
        /// Node.
        node: usize,
        /// Whether the configuration changes between reloads.
        changed: bool,
        /// Duration in seconds.
        secs: u64,
    },
    /// `ip link set eth0 down` in node N for `secs`, then up.
    LinkDown(usize, u64),
    /// Node N cut from the bridge (nft bridge-family drops) for `secs`.
    Partition(usize, u64),
    /// nft `numgen random` drops of VRRP in and out of node N (percent) for `secs`.
    Loss(usize, u32, u64),
    /// The track script of node N hangs (timeout 2 s must kill it) for `secs`.
    HangScript(usize, u64),
    /// Notify scripts on every node never exit (60 s) while node N's link
    /// flaps for 5 s.
    HangNotify(usize),
    /// SIGKILL the checker child of node N (the parent respawns it).
    KillChecker(usize),
    /// SIGSTOP the checker child of node N (the watchdog must kill and
    /// respawn it).
    StopChecker(usize),
    /// Real server R's listener closed for `secs`, then reopened; every
    /// checker must drop it from its table (weight 0 with
    /// `inhibit_on_failure`) while it is down.
    BackendFlap(usize, u64),
}

impl Fault {
    /// The kind, for the per-kind counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::KillVrrp(_) => "kill -9 vrrp child",
            Fault::KillParent(_) => "kill -9 parent",
            Fault::StopChild(_) => "SIGSTOP vrrp child",
            Fault::HupStorm { changed: false, .. } => "SIGHUP storm (same config)",
            Fault::HupStorm { changed: true, .. } => "SIGHUP storm (changed config)",
            Fault::LinkDown(..) => "link down/up",
            Fault::Partition(..) => "partition/heal",
            Fault::Loss(..) => "packet loss (nft numgen)",
            Fault::HangScript(..) => "hanging vrrp_script",
            Fault::HangNotify(..) => "notify script never exits",
            Fault::KillChecker(_) => "kill -9 checker child",
            Fault::StopChecker(_) => "SIGSTOP checker child",
            Fault::BackendFlap(..) => "backend flap",
        }
    }

    /// Whether the fault acts on one of our processes (so it never targets
    /// a keepalived 2.2.7 node).
    pub fn ours_only(k: u64) -> bool {
        matches!(k, 2 | 3 | 4 | 5 | 11 | 12)
    }

    /// Draw a fault; process faults go to a node of `ours`.
    pub fn draw(rng: &mut Rng, storm_secs: u64, ours: &[usize]) -> Fault {
        let k = rng.below(Fault::KINDS + 1);
        Fault::draw_kind(rng, k, storm_secs, ours)
    }

    /// Number of distinct kinds: `draw_kind(rng, k, ..)` for `k` in
    /// `1..=KINDS` gives each kind once (0 repeats 1, so [`Fault::draw`]
    /// kills the VRRP child twice as often as the rest).
    pub const KINDS: u64 = 13;

    /// A fault of kind `k` (`0..=13`; 0 and 1 are both kill -9 of the VRRP
    /// child) with random node and parameters. Faults on our processes
    /// ([`Fault::ours_only`]) pick their node in `ours` (the nodes that run
    /// our keepalived); network and script faults any node.
    pub fn draw_kind(rng: &mut Rng, k: u64, storm_secs: u64, ours: &[usize]) -> Fault {
        let r = rng.below(NODES as u64) as usize;
        let n = if Fault::ours_only(k) && !ours.is_empty() {
            ours[r % ours.len()]
        } else {
            r
        };
        match k {
            0 | 1 => Fault::KillVrrp(n),
            2 => Fault::KillParent(n),
            3 => Fault::StopChild(n),
            4 => Fault::HupStorm {
                node: n,
                changed: false,
                secs: storm_secs,
            },
            5 => Fault::HupStorm {
                node: n,
                changed: true,
                secs: storm_secs,
            },
            6 => Fault::LinkDown(n, 1 + rng.below(5)),
            7 => Fault::Partition(n, 2 + rng.below(6)),
            8 => Fault::Loss(n, 20 + rng.below(60) as u32, 3 + rng.below(5)),
            9 => Fault::HangScript(n, 12 + rng.below(4)),
            10 => Fault::HangNotify(n),
            11 => Fault::KillChecker(n),
            12 => Fault::StopChecker(n),
            _ => Fault::BackendFlap(
                rng.below(REAL_SERVERS.len() as u64) as usize,
                2 + rng.below(7),
            ),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::HupStorm {
                node,
                changed,
                secs,
            } => {
                write!(f, "HupStorm(node {node}, changed {changed}, {secs} s)")
            }
            other => write!(f, "{other:?}"),
        }
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of the step sequence.
    pub seed: u64,
    /// Number of steps.
    pub steps: usize,
    /// SIGHUP storm length in seconds.
    pub storm_secs: u64,
    /// Convergence bound after a fault.
    pub converge_timeout: Duration,
    /// Allowed fd growth per process over its life.
    pub max_fd_growth: usize,
    /// Allowed RSS growth per process over its life (KiB).
    pub max_rss_growth_kib: u64,
    /// Node 2 runs keepalived 2.2.7 (VRRP only) instead of ours.
    pub with_keepalived: bool,
    /// Kinds dealt first, in this order (default: every kind once in a
    /// seeded order); random draws follow.
    pub deal: Option<Vec<u64>>,
}

impl Options {
    /// The command lines that replay this run: the CI test's (when the
    /// storms are the CI's 5 s and nothing is dealt by hand) and the CLI's.
    pub fn repro(&self) -> String {
        let mut cli = format!(
            "target/debug/chaos --seed {} --steps {} --storm-secs {}",
            self.seed, self.steps, self.storm_secs
        );
        if self.with_keepalived {
            cli += " --with-keepalived";
        }
        if let Some(d) = &self.deal {
            let kinds: Vec<String> = d.iter().map(u64::to_string).collect();
            cli += &format!(" --deal {}", kinds.join(","));
        }
        if self.storm_secs == 5 && self.deal.is_none() {
            format!(
                "CHAOS_SEED={} CHAOS_STEPS={}{} cargo test -p keepalived-integration --test chaos -- --nocapture\n   or: {cli}",
                self.seed,
                self.steps,
                if self.with_keepalived {
                    " CHAOS_WITH_KEEPALIVED=1"
                } else {
                    ""
                }
            )
        } else {
            cli
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            steps: 25,
            storm_secs: 5,
            converge_timeout: Duration::from_secs(45),
            max_fd_growth: 16,
            max_rss_growth_kib: 16 * 1024,
            with_keepalived: false,
            deal: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Seed.
    pub seed: u64,
    /// Steps run (with their convergence times).
    pub steps: Vec<(Fault, Duration)>,
    /// Faults by kind.
    pub by_kind: BTreeMap<&'static str, usize>,
    /// Audits passed (the initial one included).
    pub audits_passed: usize,
    /// Longest convergence after a fault, and the fault.
    pub longest: Option<(Duration, String)>,
    /// Observations that do not fail the audit (stray processes...).
    pub notes: Vec<String>,
    /// Largest fd growth of one process over its life.
    pub max_fd_growth: usize,
    /// Largest RSS growth of one process over its life (KiB).
    pub max_rss_growth_kib: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Longest time (per fault kind) during which a VIP had more than one
    /// holder after the fault ended (sampled every ~150 ms).
    pub dual_holder: BTreeMap<&'static str, Duration>,
    /// Checker tables compared with the backends' health (one per node of
    /// ours and audit, plus those during flaps).
    pub tables_checked: usize,
    /// Longest time from the end of a fault until every checker's table
    /// was the backends' health, and the fault.
    pub longest_table: Option<(Duration, String)>,
    /// Tables sampled during SIGHUP storms (each had every destination).
    pub storm_samples: usize,
    /// Longest time from a listener's close until every checker dropped
    /// the real server (or set its weight to 0).
    pub flap_removal_max: Duration,
    /// Whether node 2 ran keepalived 2.2.7.
    pub with_keepalived: bool,
    /// Seconds (log resolution) from the start of a track-script hang to the
    /// logged priority drop, by implementation ("ours" / "keepalived 2.2.7").
    pub script_drop: BTreeMap<&'static str, Vec<u64>>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "chaos seed {}: {} steps in {:.1} s{}",
            self.seed,
            self.steps.len(),
            self.elapsed.as_secs_f64(),
            if self.with_keepalived {
                " (node 2: keepalived 2.2.7)"
            } else {
                ""
            }
        )?;
        for (k, n) in &self.by_kind {
            writeln!(f, "  {n:3} x {k}")?;
        }
        writeln!(f, "  audits passed: {}", self.audits_passed)?;
        if let Some((d, s)) = &self.longest {
            writeln!(
                f,
                "  longest convergence: {:.2} s after {s}",
                d.as_secs_f64()
            )?;
        }
        if let Some((d, s)) = &self.longest_table {
            writeln!(
                f,
                "  longest IPVS table convergence: {:.2} s after {s}",
                d.as_secs_f64()
            )?;
        }
        writeln!(
            f,
            "  checker tables checked: {} (+{} samples during SIGHUP storms, none missing a destination)",
            self.tables_checked, self.storm_samples
        )?;
        if !self.flap_removal_max.is_zero() {
            writeln!(
                f,
                "  flapped real server out of every table within {:.2} s",
                self.flap_removal_max.as_secs_f64()
            )?;
        }
        writeln!(
            f,
            "  max growth per process: fds +{}, RSS +{} KiB",
            self.max_fd_growth, self.max_rss_growth_kib
        )?;
        for (k, d) in self.dual_holder.iter().filter(|(_, d)| !d.is_zero()) {
            writeln!(
                f,
                "  two holders of a VIP for up to {:.2} s after: {k}",
                d.as_secs_f64()
            )?;
        }
        for (who, v) in &self.script_drop {
            writeln!(
                f,
                "  hanging vrrp_script (interval 1, timeout 2, fall 2): priority lowered {v:?} s after the hang began ({who})"
            )?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}

/// A failed run: everything needed to reproduce and diagnose it.
#[derive(Debug)]
pub struct Failure {
    /// Seed.
    pub seed: u64,
    /// The steps so far (the last one failed its audit).
    pub steps: Vec<String>,
    /// What failed.
    pub what: String,
    /// Every node's log.
    pub logs: String,
    /// The command lines that replay the run ([`Options::repro`]).
    pub repro: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "CHAOS FAILURE seed={}: {}", self.seed, self.what)?;
        writeln!(f, "reproduce: {}", self.repro)?;
        writeln!(f, "steps:")?;
        for (i, s) in self.steps.iter().enumerate() {
            writeln!(f, "  {i:3}: {s}")?;
        }
        writeln!(f, "logs:\n{}", self.logs)
    }
}

/// UTC seconds since midnight, now.
fn seconds_of_day() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() % 86_400)
        .unwrap_or(0)
}

/// Seconds since midnight of a console log line
/// (`Sun Nov 22 23:11:39 2026: ...`, UTC in the test machine).
fn log_seconds_of_day(line: &str) -> Option<u64> {
    let hms = line.split_whitespace().nth(3)?;
    let mut it = hms.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (it.next()??, it.next()??, it.next()??);
    Some(h * 3600 + m * 60 + s)
}

fn sig(pid: Option<i32>, s: Signal) -> bool {
    match pid {
        Some(p) if p > 0 && crate::daemon::is_keepalived(p) => kill(Pid::from_raw(p), s).is_ok(),
        _ => false,
    }
}

/// The exerciser.
pub struct Runner {
    /// The cluster.
    pub c: Cluster,
    opts: Options,
    rng: Rng,
    report: Report,
    /// pid → (fds, rss) at first sight.
    first: BTreeMap<i32, (usize, u64)>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner").field("opts", &self.opts).finish()
    }
}

impl Runner {
    /// Build the cluster.
    pub fn new(opts: Options) -> Result<Runner, String> {
        let upstream = opts.with_keepalived.then_some(2);
        let c = Cluster::new("ch", upstream).map_err(|e| format!("cluster: {e}"))?;
        Ok(Runner {
            c,
            rng: Rng::new(opts.seed),
            report: Report {
                seed: opts.seed,
                with_keepalived: opts.with_keepalived,
                ..Default::default()
            },
            opts,
            first: BTreeMap::new(),
        })
    }

    /// With `CHAOS_LOGS=DIR` in the environment, copy every node's log to
    /// `DIR/chaos-SEED-nN.log` (the run directory is removed at the end).
    fn save_logs(&self) {
        let Some(dir) = std::env::var_os("CHAOS_LOGS") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        for n in &self.c.nodes {
            let to = dir.join(format!("chaos-{}-n{}.log", self.opts.seed, n.idx));
            let _ = std::fs::write(to, n.log());
        }
    }

    fn fail(&self, what: String) -> Failure {
        self.save_logs();
        Failure {
            seed: self.opts.seed,
            steps: self
                .report
                .steps
                .iter()
                .map(|(f, _)| f.to_string())
                .collect(),
            what,
            logs: self.c.logs(),
            repro: self.opts.repro(),
        }
    }

    /// Run: initial audit, then `steps` faults each followed by an audit.
    pub fn run(mut self) -> Result<Report, Box<Failure>> {
        let t0 = Instant::now();
        eprintln!("chaos: seed {} steps {}", self.opts.seed, self.opts.steps);
        self.audit(Instant::now())
            .map_err(|w| Box::new(self.fail(format!("initial audit: {w}"))))?;
        let mut deck: Vec<u64> = (1..=Fault::KINDS).collect();
        for i in (1..deck.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            deck.swap(i, j);
        }
        if let Some(d) = &self.opts.deal {
            deck = d.clone();
        }
        let ours: Vec<usize> = self
            .c
            .nodes
            .iter()
            .filter(|n| !n.upstream)
            .map(|n| n.idx)
            .collect();
        for i in 0..self.opts.steps {
            if super::STOP.load(std::sync::atomic::Ordering::Relaxed) {
                self.report
                    .notes
                    .push(format!("interrupted after {i} steps"));
                break;
            }
            // The first steps deal every kind once (seeded order), so even a
            // short run covers them all; then kinds are drawn at random.
            let f = match deck.get(i) {
                Some(&k) => Fault::draw_kind(&mut self.rng, k, self.opts.storm_secs, &ours),
                None => Fault::draw(&mut self.rng, self.opts.storm_secs, &ours),
            };
            eprintln!("chaos[{}] step {i}: {f}", self.opts.seed);
            self.report.steps.push((f.clone(), Duration::ZERO));
            *self.report.by_kind.entry(f.kind()).or_default() += 1;
            let end = self
                .inject(&f)
                .map_err(|w| Box::new(self.fail(format!("step {i} {f}: {w}"))))?;
            let d = self
                .audit(end)
                .map_err(|w| Box::new(self.fail(format!("audit after step {i} {f}: {w}"))))?;
            eprintln!(
                "chaos[{}] step {i}: converged in {:.2} s",
                self.opts.seed,
                d.as_secs_f64()
            );
            if let Some(last) = self.report.steps.last_mut() {
                last.1 = d;
            }
            if self.report.longest.as_ref().is_none_or(|(l, _)| d > *l) {
                self.report.longest = Some((d, f.to_string()));
            }
        }
        self.report.elapsed = t0.elapsed();
        self.save_logs();
        Ok(self.report.clone())
    }

    /// Inject `f`; returns the instant the fault ended (healed/restarted).
    fn inject(&mut self, f: &Fault) -> Result<Instant, String> {
        match *f {
            Fault::KillVrrp(n) => {
                let old = self.c.nodes[n].vrrp_pid();
                if !sig(old, Signal::SIGKILL) {
                    return Err(format!("no VRRP child to kill on node {n}"));
                }
                // kill(2) returns before the process is gone.
                crate::wait::wait_for(Duration::from_secs(5), || {
                    !old.is_some_and(crate::daemon::alive)
                });
                Ok(Instant::now())
            }
            Fault::KillParent(n) => {
                let (p, v) = (self.c.nodes[n].parent_pid(), self.c.nodes[n].vrrp_pid());
                let ck = self.c.nodes[n].checker_pid();
                if !sig(p, Signal::SIGKILL) {
                    return Err(format!("no parent to kill on node {n}"));
                }
                let gone = crate::wait::wait_for(Duration::from_secs(10), || {
                    self.c.nodes[n].reap();
                    !v.is_some_and(crate::daemon::alive) && !ck.is_some_and(crate::daemon::alive)
                });
                if !gone {
                    sig(v, Signal::SIGKILL);
                    sig(ck, Signal::SIGKILL);
                    return Err(format!(
                        "VRRP child {v:?} / checker child {ck:?} of node {n} still alive 10 s after their parent was killed (PDEATHSIG)"
                    ));
                }
                self.c.start(n).map_err(|e| e.to_string())?;
                Ok(Instant::now())
            }
            Fault::StopChild(n) => {
                let v = self.c.nodes[n].vrrp_pid();
                let log0 = self.c.nodes[n].log().len();
                if !sig(v, Signal::SIGSTOP) {
                    return Err(format!("no VRRP child to stop on node {n}"));
                }
                let killed = crate::wait::wait_for(Duration::from_secs(20), || {
                    !v.is_some_and(crate::daemon::alive)
                });
                if !killed {
                    sig(v, Signal::SIGKILL);
                    return Err(format!(
                        "stopped VRRP child {v:?} of node {n} not killed by the watchdog within 20 s"
                    ));
                }
                let needle = format!("({}) has not answered heartbeats", v.unwrap_or(0));
                if !self.wait_log_line(n, log0, &needle) {
                    return Err(format!("no '...{needle}' log line"));
                }
                Ok(Instant::now())
            }
            Fault::HupStorm {
                node,
                changed,
                secs,
            } => {
                let nd = self.c.nodes[node].dir.clone();
                let vs = self.c.nodes[node].has_checker();
                let conf = nd.join("keepalived.conf");
                let dump = nd.join("keepalived_check.data");
                // The virtual server is the same in every reload (the changed
                // config only moves VI_1's priority): no destination may
                // leave the table. Sampled with SIGUSR1 every ~300 ms without
                // slowing the storm down.
                let want = self.c.backends.expected_table();
                let mut pending: Option<Instant> = None;
                let mut unanswered = Duration::ZERO;
                // IPVS operations applied (first and last sample): with a
                // stable virtual server and stable backends, none expected.
                let mut ops: (Option<u64>, u64) = (None, 0);
                let t = Instant::now();
                let mut k = 0u32;
                while t.elapsed() < Duration::from_secs(secs) {
                    if changed {
                        let delta = if k % 2 == 0 { -40 } else { 0 };
                        write_atomic(&conf, &config(&nd, node, delta, vs))
                            .map_err(|e| e.to_string())?;
                    }
                    if !sig(self.c.nodes[node].parent_pid(), Signal::SIGHUP) {
                        return Err(format!(
                            "parent of node {node} gone during the SIGHUP storm"
                        ));
                    }
                    if vs && k % 3 == 0 {
                        if let Some(at) = pending {
                            match std::fs::read_to_string(&dump) {
                                Ok(text) => {
                                    let got =
                                        super::backends::parse_table(&text).unwrap_or_default();
                                    if got != want {
                                        return Err(format!(
                                            "node {node}'s IPVS table during a SIGHUP storm (changed config: {changed}, reload {k}): {got:?}, the backends' health {want:?}"
                                        ));
                                    }
                                    self.report.storm_samples += 1;
                                    if let Some(n) = super::backends::parse_ops(&text) {
                                        ops.0.get_or_insert(n);
                                        ops.1 = n;
                                    }
                                    pending = None;
                                }
                                Err(_) => unanswered = unanswered.max(at.elapsed()),
                            }
                        }
                        if pending.is_none() {
                            let _ = std::fs::remove_file(&dump);
                            if sig(self.c.nodes[node].checker_pid(), Signal::SIGUSR1) {
                                pending = Some(Instant::now());
                            }
                        }
                    }
                    k += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                if let Some(first) = ops.0 {
                    if ops.1 > first {
                        self.report.notes.push(format!(
                            "node {node}: {} IPVS operations during a SIGHUP storm (changed config: {changed}) with an unchanged virtual server and stable backends",
                            ops.1 - first
                        ));
                    }
                }
                if unanswered > Duration::from_secs(3) {
                    self.report.notes.push(format!(
                        "node {node}: a checker dump took {:.1} s to come during a SIGHUP storm",
                        unanswered.as_secs_f64()
                    ));
                }
                if changed {
                    write_atomic(&conf, &config(&nd, node, 0, vs)).map_err(|e| e.to_string())?;
                    // Let queued reloads drain, then one last reload with the base config.
                    std::thread::sleep(Duration::from_millis(500));
                    sig(self.c.nodes[node].parent_pid(), Signal::SIGHUP);
                }
                Ok(Instant::now())
            }
            Fault::LinkDown(n, secs) => {
                let ns = &self.c.lan.nodes[n].ns;
                ns.ip(&["link", "set", "eth0", "down"])
                    .map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_secs(secs));
                ns.ip(&["link", "set", "eth0", "up"])
                    .map_err(|e| e.to_string())?;
                Ok(Instant::now())
            }
            Fault::Partition(n, secs) => {
                let br = self.c.lan.bridge.name().to_string();
                let port = format!("p{n}");
                self.c
                    .nft(&br, &["add", "table", "bridge", "chaos"])
                    .and_then(|_| {
                        self.c.nft(
                            &br,
                            &[
                                "add",
                                "chain",
                                "bridge",
                                "chaos",
                                "fw",
                                "{ type filter hook forward priority 0; }",
                            ],
                        )
                    })
                    .and_then(|_| {
                        self.c.nft(
                            &br,
                            &[
                                "add", "rule", "bridge", "chaos", "fw", "iifname", &port, "drop",
                            ],
                        )
                    })
                    .and_then(|_| {
                        self.c.nft(
                            &br,
                            &[
                                "add", "rule", "bridge", "chaos", "fw", "oifname", &port, "drop",
                            ],
                        )
                    })
                    .map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_secs(secs));
                self.c
                    .nft(&br, &["delete", "table", "bridge", "chaos"])
                    .map_err(|e| e.to_string())?;
                Ok(Instant::now())
            }
            Fault::Loss(n, pct, secs) => {
                let ns = self.c.ns(n).to_string();
                let pct_s = pct.to_string();
                let mut r = self.c.nft(&ns, &["add", "table", "inet", "chaos"]);
                for (chain, hook) in [("cin", "input"), ("cout", "output")] {
                    let spec = format!("{{ type filter hook {hook} priority 0; }}");
                    r = r
                        .and_then(|_| {
                            self.c
                                .nft(&ns, &["add", "chain", "inet", "chaos", chain, &spec])
                        })
                        .and_then(|_| {
                            self.c.nft(
                                &ns,
                                &[
                                    "add", "rule", "inet", "chaos", chain, "ip", "protocol",
                                    "vrrp", "numgen", "random", "mod", "100", "lt", &pct_s, "drop",
                                ],
                            )
                        });
                }
                r.map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_secs(secs));
                self.c
                    .nft(&ns, &["delete", "table", "inet", "chaos"])
                    .map_err(|e| e.to_string())?;
                Ok(Instant::now())
            }
            Fault::HangScript(n, secs) => {
                let flag = self.c.nodes[n].dir.join("hang");
                let log0 = self.c.nodes[n].log().len();
                let upstream = self.c.nodes[n].upstream;
                std::fs::write(&flag, b"").map_err(|e| e.to_string())?;
                let t = Instant::now();
                let sod0 = seconds_of_day();
                let mut max_hung = 0;
                // The VIP node n holds must move while its script hangs
                // (weight -60 puts it below the 120 of node 1).
                let held: Vec<usize> = (0..VIPS.len())
                    .filter(|&i| self.expected_holders()[i] == n)
                    .collect();
                let mut moved = held.iter().map(|_| false).collect::<Vec<_>>();
                // Detection takes two timeouts (fall 2, timeout 2 s, interval
                // 1 s) and the takeover a master-down interval (3.5 s) more:
                // keep hanging past `secs` until the VIP moved (at most 30 s).
                let mut moved_at = None;
                while t.elapsed() < Duration::from_secs(secs)
                    || (moved.contains(&false) && t.elapsed() < Duration::from_secs(30))
                {
                    let hung = self.hung_sleeps(n, "1000");
                    max_hung = max_hung.max(hung);
                    let h = self.c.holders();
                    for (k, &i) in held.iter().enumerate() {
                        if h[i] == vec![1] {
                            moved[k] = true;
                        }
                    }
                    if moved_at.is_none() && !held.is_empty() && !moved.contains(&false) {
                        moved_at = Some(t.elapsed());
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                if let Some(d) = moved_at {
                    eprintln!(
                        "chaos[{}]: script hang on node {n}: VIP moved {:.2} s after the hang began",
                        self.opts.seed,
                        d.as_secs_f64()
                    );
                }
                let tail = self.c.nodes[n]
                    .log()
                    .get(log0..)
                    .unwrap_or_default()
                    .to_string();
                if !tail.contains("VRRP_Script(chk) timed_out") {
                    return Err(
                        "no 'VRRP_Script(chk) timed_out' log line while the script hung".into(),
                    );
                }
                if moved.contains(&false) {
                    return Err(format!(
                        "VIP(s) of instances {held:?} did not move to node 1 while node {n}'s script hung"
                    ));
                }
                // When the priority drop was logged (1 s resolution).
                let who = if upstream { "keepalived 2.2.7" } else { "ours" };
                if let Some(sod) = tail
                    .lines()
                    .find(|l| l.contains("Changing effective priority from"))
                    .and_then(log_seconds_of_day)
                {
                    let d = (sod + 86_400 - sod0) % 86_400;
                    self.report.script_drop.entry(who).or_default().push(d);
                }
                let _ = std::fs::remove_file(&flag);
                // timeout 2 s + the runner's TERM→KILL grace: none may survive.
                let cleared = crate::wait::wait_for(Duration::from_secs(8), || {
                    self.hung_sleeps(n, "1000") == 0
                });
                let left = self.hung_sleeps(n, "1000");
                if upstream {
                    // keepalived 2.2.7 runs overlapping scripts and loses
                    // track of some hung ones: noted, and cleaned up here.
                    if !cleared || max_hung > 2 {
                        self.report.notes.push(format!(
                            "keepalived 2.2.7 node {n}: up to {max_hung} hung track scripts at once, {left} still running 8 s after the hang ended (killed by the harness)"
                        ));
                        self.kill_sleeps(n, "1000");
                    }
                    return Ok(Instant::now());
                }
                if !cleared {
                    return Err(format!(
                        "{left} hung track script(s) still running 8 s after the hang ended (timeout 2 s)"
                    ));
                }
                if max_hung > 2 {
                    return Err(format!(
                        "{max_hung} hung track scripts at once (timeout 2 s, interval 1 s)"
                    ));
                }
                Ok(Instant::now())
            }
            Fault::KillChecker(n) => {
                let old = self.c.nodes[n].checker_pid();
                if !sig(old, Signal::SIGKILL) {
                    return Err(format!("no checker child to kill on node {n}"));
                }
                crate::wait::wait_for(Duration::from_secs(5), || {
                    !old.is_some_and(crate::daemon::alive)
                });
                Ok(Instant::now())
            }
            Fault::StopChecker(n) => {
                let v = self.c.nodes[n].checker_pid();
                let log0 = self.c.nodes[n].log().len();
                if !sig(v, Signal::SIGSTOP) {
                    return Err(format!("no checker child to stop on node {n}"));
                }
                let killed = crate::wait::wait_for(Duration::from_secs(20), || {
                    !v.is_some_and(crate::daemon::alive)
                });
                if !killed {
                    sig(v, Signal::SIGKILL);
                    return Err(format!(
                        "stopped checker child {v:?} of node {n} not killed by the watchdog within 20 s"
                    ));
                }
                let needle = format!("({}) has not answered heartbeats", v.unwrap_or(0));
                if !self.wait_log_line(n, log0, &needle) {
                    return Err(format!("no '...{needle}' log line"));
                }
                Ok(Instant::now())
            }
            Fault::BackendFlap(r, secs) => {
                self.c.backends.set_up(r, false);
                let t = Instant::now();
                let want = self.c.backends.expected_table();
                // Every checker must drop it (TCP/HTTP connect refused,
                // retry 1 after 1 s, delay_loop 1 s: ~2-3 s).
                let mut pending: Vec<usize> = self
                    .c
                    .nodes
                    .iter()
                    .filter(|n| n.has_checker())
                    .map(|n| n.idx)
                    .collect();
                let mut last = BTreeMap::new();
                while !pending.is_empty() && t.elapsed() < Duration::from_secs(20) {
                    pending.retain(|&i| {
                        let got = self.c.nodes[i].checker_table(Duration::from_secs(2));
                        let done = got.as_ref() == Some(&want);
                        last.insert(i, got);
                        !done
                    });
                    self.report.tables_checked += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
                if !pending.is_empty() {
                    self.c.backends.set_up(r, true);
                    return Err(format!(
                        "real server {r} (port {}) down for {:.1} s but nodes {pending:?} still have tables {last:?} (health {want:?})",
                        REAL_SERVERS[r].port,
                        t.elapsed().as_secs_f64()
                    ));
                }
                let d = t.elapsed();
                self.report.flap_removal_max = self.report.flap_removal_max.max(d);
                eprintln!(
                    "chaos[{}]: real server {r} out of every table {:.2} s after its listener closed",
                    self.opts.seed,
                    d.as_secs_f64()
                );
                if let Some(rest) = Duration::from_secs(secs).checked_sub(t.elapsed()) {
                    std::thread::sleep(rest);
                }
                self.c.backends.set_up(r, true);
                Ok(Instant::now())
            }
            Fault::HangNotify(n) => {
                for nd in &self.c.nodes {
                    std::fs::write(nd.dir.join("notify_hang"), b"").map_err(|e| e.to_string())?;
                }
                let ns = &self.c.lan.nodes[n].ns;
                ns.ip(&["link", "set", "eth0", "down"])
                    .map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_secs(5));
                ns.ip(&["link", "set", "eth0", "up"])
                    .map_err(|e| e.to_string())?;
                for nd in &self.c.nodes {
                    let _ = std::fs::remove_file(nd.dir.join("notify_hang"));
                }
                Ok(Instant::now())
            }
        }
    }

    /// `sleep ARG` processes in node `n`'s namespace (hung scripts).
    fn sleeps(&self, n: usize, arg: &str) -> Vec<i32> {
        walk(&self.c.ns_inodes)
            .iter()
            .filter(|p| p.node == n && p.comm == "sleep" && p.state != 'Z')
            .filter(|p| {
                std::fs::read(format!("/proc/{}/cmdline", p.pid))
                    .map(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
                    .unwrap_or(false)
            })
            .map(|p| p.pid)
            .collect()
    }

    /// Whether node `n`'s log, from byte `log0`, gets a line containing
    /// `needle` within 5 s (the parent logs a killed child's line after
    /// reaping it, which can come after the child is gone from `/proc`).
    fn wait_log_line(&self, n: usize, log0: usize, needle: &str) -> bool {
        crate::wait::wait_for(Duration::from_secs(5), || {
            self.c.nodes[n]
                .log()
                .get(log0..)
                .is_some_and(|t| t.contains(needle))
        })
    }

    fn hung_sleeps(&self, n: usize, arg: &str) -> usize {
        self.sleeps(n, arg).len()
    }

    /// SIGKILL the `sleep ARG` processes in node `n`'s namespace.
    fn kill_sleeps(&self, n: usize, arg: &str) {
        for p in self.sleeps(n, arg) {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
        }
    }

    fn expected_holders(&self) -> [usize; 2] {
        [0, 2]
    }

    fn daemons_up(&mut self) -> bool {
        self.c.nodes.iter_mut().all(|n| {
            let p = n.parent_pid();
            let child = |v: Option<i32>| {
                v.is_some_and(|v| crate::daemon::alive(v) && crate::daemon::ppid(v) == p)
            };
            n.spawned_running()
                && p.is_some_and(crate::daemon::alive)
                && child(n.vrrp_pid())
                && (!n.has_checker() || child(n.checker_pid()))
        })
    }

    /// Every checker's table is the backends' health: sampled until it is
    /// (then once more 1 s later); returns the time from `since`.
    fn audit_tables(&mut self, since: Instant) -> Result<Duration, String> {
        let deadline = since + self.opts.converge_timeout;
        let nodes: Vec<usize> = self
            .c
            .nodes
            .iter()
            .filter(|n| n.has_checker())
            .map(|n| n.idx)
            .collect();
        if nodes.is_empty() {
            return Ok(Duration::ZERO);
        }
        let mut matched_at: Option<Duration> = None;
        loop {
            let want = self.c.backends.expected_table();
            let mut bad = Vec::new();
            for &i in &nodes {
                let got = self.c.nodes[i].checker_table(Duration::from_secs(3));
                self.report.tables_checked += 1;
                if got.as_ref() != Some(&want) {
                    bad.push((i, got));
                }
            }
            match (bad.is_empty(), matched_at) {
                (true, Some(at)) => return Ok(at),
                (true, None) => matched_at = Some(since.elapsed()),
                (false, _) => matched_at = None,
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "IPVS tables not the backends' health within {:?}: (node, table) {bad:?}, health {want:?} (listeners up: {:?})",
                    self.opts.converge_timeout,
                    self.c.backends.states()
                ));
            }
            std::thread::sleep(Duration::from_millis(if matched_at.is_some() {
                1000
            } else {
                200
            }));
        }
    }

    /// The audit; returns the convergence time measured from `since`.
    fn audit(&mut self, since: Instant) -> Result<Duration, String> {
        // 1. Convergence: every daemon up, each VIP on exactly its expected node,
        //    stable for 1.5 s.
        let expect = self.expected_holders();
        let deadline = since + self.opts.converge_timeout;
        let mut last = Instant::now();
        let mut dual = Duration::ZERO;
        let converged = loop {
            let h = self.c.holders();
            if h.iter().any(|v| v.len() > 1) {
                dual += last.elapsed();
            }
            last = Instant::now();
            let ok = self.daemons_up() && h[0] == vec![expect[0]] && h[1] == vec![expect[1]];
            if ok {
                let at = since.elapsed();
                let stable = crate::wait::wait_for(Duration::from_millis(1500), || {
                    let h = self.c.holders();
                    !(self.daemons_up() && h[0] == vec![expect[0]] && h[1] == vec![expect[1]])
                });
                if !stable {
                    break Some(at);
                }
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if let Some(k) = self.report.steps.last().map(|(f, _)| f.kind()) {
            let e = self.report.dual_holder.entry(k).or_default();
            *e = (*e).max(dual);
        }
        let Some(conv) = converged else {
            let h = self.c.holders();
            let pids: Vec<_> = self
                .c
                .nodes
                .iter()
                .map(|n| (n.parent_pid(), n.vrrp_pid()))
                .collect();
            return Err(format!(
                "no convergence within {:?}: holders {VIPS:?} = {h:?} (expected {expect:?}), pids (parent, vrrp) {pids:?}",
                self.opts.converge_timeout
            ));
        };
        // 1b. The daemons agree: the last "(VI_k) Entering X STATE" of each
        //     node says MASTER exactly where the VIP is.
        for n in &self.c.nodes {
            let log = n.log();
            for (i, want_master) in expect.iter().map(|&e| e == n.idx).enumerate() {
                let needle = format!("(VI_{}) Entering ", i + 1);
                let state = log
                    .lines()
                    .rev()
                    .find_map(|l| l.split_once(&needle).map(|(_, r)| r.to_string()))
                    .unwrap_or_default();
                if state.starts_with("MASTER") != want_master {
                    return Err(format!(
                        "node {}: VI_{} last logged 'Entering {state}' but holds the VIP: {want_master}",
                        n.idx,
                        i + 1
                    ));
                }
            }
        }
        // 1c. Every checker's IPVS table is the backends' health.
        let tconv = self.audit_tables(since)?;
        if let Some((f, _)) = self.report.steps.last() {
            if self
                .report
                .longest_table
                .as_ref()
                .is_none_or(|(l, _)| tconv > *l)
            {
                self.report.longest_table = Some((tconv, f.to_string()));
            }
        }
        // 2. ARP from the client: the holder's MAC answers.
        for (i, vip) in VIPS.iter().enumerate() {
            let want = &self.c.macs[expect[i]];
            let got = self.c.arp_mac(vip);
            if got.as_deref() != Some(want.as_str()) {
                return Err(format!(
                    "ARP for {vip} from the client: {got:?}, holder's MAC {want}"
                ));
            }
        }
        // 3. Processes: three keepalived per node of ours (parent, VRRP and
        //    checker children), two on a 2.2.7 node (-P), no zombie that
        //    stays, no keepalived orphan.
        //    A script being forked is a keepalived process until it execs:
        //    look again a few times before calling a third one a leak.
        let mut procs = walk(&self.c.ns_inodes);
        for attempt in 0..5 {
            let bad = (0..NODES)
                .map(|n| {
                    let ka: Vec<&ProcInfo> = procs
                        .iter()
                        .filter(|p| p.node == n && p.keepalived)
                        .collect();
                    (n, ka.len(), format!("{ka:?}"))
                })
                .find(|(n, k, _)| *k != self.c.nodes[*n].expected_procs());
            match bad {
                None => break,
                Some((n, k, list)) if attempt == 4 => {
                    return Err(format!("node {n}: {k} keepalived processes: {list}"));
                }
                Some(_) => {
                    std::thread::sleep(Duration::from_millis(300));
                    procs = walk(&self.c.ns_inodes);
                }
            }
        }
        let parents: Vec<i32> = self.c.nodes.iter().filter_map(|n| n.parent_pid()).collect();
        let ka_pids: Vec<i32> = procs
            .iter()
            .filter(|p| p.keepalived)
            .map(|p| p.pid)
            .collect();
        for p in &procs {
            if p.keepalived && !parents.contains(&p.pid) && !parents.contains(&p.ppid) {
                return Err(format!("orphan keepalived process: {p:?}"));
            }
        }
        let zombies: Vec<i32> = procs
            .iter()
            .filter(|p| p.state == 'Z')
            .map(|p| p.pid)
            .collect();
        if !zombies.is_empty() {
            std::thread::sleep(Duration::from_secs(2));
            let still: Vec<ProcInfo> = walk(&self.c.ns_inodes)
                .into_iter()
                .filter(|p| p.state == 'Z' && zombies.contains(&p.pid))
                .collect();
            if !still.is_empty() {
                return Err(format!("zombies for more than 2 s: {still:?}"));
            }
        }
        // Processes of scripts whose parent is not a keepalived of ours (reparented).
        for p in &procs {
            if !p.keepalived && p.node < NODES && !ka_pids.contains(&p.ppid) {
                let note = format!(
                    "stray process in node {}: pid {} '{}' ppid {}",
                    p.node, p.pid, p.comm, p.ppid
                );
                if !self.report.notes.contains(&note) {
                    self.report.notes.push(note);
                }
            }
        }
        // 4. fds and RSS per process over its life.
        for p in procs.iter().filter(|p| p.keepalived && p.state != 'Z') {
            let (f0, r0) = *self.first.entry(p.pid).or_insert((p.fds, p.rss_kib));
            let fg = p.fds.saturating_sub(f0);
            let rg = p.rss_kib.saturating_sub(r0);
            self.report.max_fd_growth = self.report.max_fd_growth.max(fg);
            self.report.max_rss_growth_kib = self.report.max_rss_growth_kib.max(rg);
            if fg > self.opts.max_fd_growth {
                return Err(format!("pid {} ({}) fds {f0} -> {}", p.pid, p.node, p.fds));
            }
            if rg > self.opts.max_rss_growth_kib {
                return Err(format!(
                    "pid {} ({}) RSS {r0} -> {} KiB",
                    p.pid, p.node, p.rss_kib
                ));
            }
        }
        // 5. No panic in any log.
        for n in &self.c.nodes {
            if n.log().contains("panicked") {
                return Err(format!("node {}: 'panicked' in the log", n.idx));
            }
        }
        self.report.audits_passed += 1;
        Ok(conv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_time_of_day() {
        assert_eq!(
            log_seconds_of_day("Sun Nov 22 23:11:39 2026: VRRP_Script(chk) timed_out"),
            Some(23 * 3600 + 11 * 60 + 39)
        );
        assert_eq!(log_seconds_of_day("garbage"), None);
    }

    #[test]
    fn repro_lines() {
        let o = Options {
            seed: 7,
            steps: 10,
            with_keepalived: true,
            ..Options::default()
        };
        let r = o.repro();
        assert!(r.starts_with("CHAOS_SEED=7 CHAOS_STEPS=10 CHAOS_WITH_KEEPALIVED=1 cargo test"));
        assert!(r.ends_with("--seed 7 --steps 10 --storm-secs 5 --with-keepalived"));
        let o = Options {
            storm_secs: 60,
            deal: Some(vec![11, 12]),
            ..o
        };
        assert_eq!(
            o.repro(),
            "target/debug/chaos --seed 7 --steps 10 --storm-secs 60 --with-keepalived --deal 11,12"
        );
    }

    #[test]
    fn process_faults_avoid_the_upstream_node() {
        let mut rng = Rng::new(5);
        for _ in 0..200 {
            for k in 0..=Fault::KINDS {
                let f = Fault::draw_kind(&mut rng, k, 5, &[0, 1]);
                let node = match f {
                    Fault::KillParent(n)
                    | Fault::StopChild(n)
                    | Fault::KillChecker(n)
                    | Fault::StopChecker(n)
                    | Fault::HupStorm { node: n, .. } => Some(n),
                    _ => None,
                };
                assert_ne!(node, Some(2), "{f}");
            }
        }
    }
}
