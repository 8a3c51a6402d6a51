//! Checker chaos exerciser in a real IPVS kernel (issue 6: "the same
//! exerciser in the qemu guest for the checker: backends flapping, reload
//! storms — the IPVS table is always what the health says, and no destination
//! disappears during a reload that does not change it").
//!
//! The host side (this file) holds a model of the backends' health and of the
//! configuration, draws a seeded fault sequence (SplitMix64; the seed is
//! printed, the same seed gives the same sequence), and writes for the guest:
//! one configuration per change (`conf/N.conf`), the table expected after each
//! step (`exp/N.txt`, in `ipvsadm -Sn` rule syntax) and, for the steps that are
//! sampled, the rules that must never be missing (`must/N.txt`, and as the
//! sampler's `/proc/net/ip_vs` tokens `must/N.tok`), plus the step list
//! `steps.sh`. The guest side (`integration/vm/chaos/`) runs our
//! keepalived `-C -n -l -D` in a namespace `lb` over 8 busybox httpd backends
//! in a namespace `be`, injects the faults and audits:
//!
//! * after each fault, within delay_loop + the checkers' timeouts + a margin,
//!   `ipvsadm -Sn` equals the expected table (alive real servers with their
//!   weight, dead ones absent or at weight 0 with inhibit_on_failure, the sorry
//!   server when the quorum is lost), then stays equal for 2 s (4 s after a
//!   restart);
//! * during SIGHUP storms, reloads of a changed configuration and checker
//!   restarts (kill -9, SIGSTOP) the table is sampled every ~50 ms (a fork-free
//!   guest loop over `/proc/net/ip_vs`): no rule that the step does not change
//!   may ever be missing (for restarts: services and weighted real servers;
//!   sorry servers are counted apart, see notes/check-chaos-vm.md); storms with
//!   the unchanged configuration must not change the table at all (no deviating
//!   sample, no Adding/Removing line in the log);
//! * parent and checker child alive, the child's pid unchanged outside
//!   kill/stop steps, exactly two keepalived processes, no zombie child of
//!   keepalived, no panic in the log; at the end SIGTERM removes every service.
//!
//! `cargo test -p keepalived-integration --test check_chaos_vm -- --nocapture`
//! runs the CI-sized sequence (fixed seed, every fault kind at least once).
//! Variables: `KA_CHECK_CHAOS_SEED`, `KA_CHECK_CHAOS_STEPS` (longer runs),
//! `KA_CHECK_CHAOS_STORM_SECS` (SIGHUP storm length, 10 a second),
//! `KA_CHECK_CHAOS_REFERENCE=1` (run keepalived 2.2.7 instead of ours, to check
//! the model), `KA_CHECK_CHAOS_STRICT_RESTART=1` (restarts must change
//! nothing; always on for ours, on request for the reference), `KA_CHECK_CHAOS_LOG=1` (print the daemon's log),
//! `KEEPALIVED_STATIC_BIN` (absolute path; skips the static build).
//! Needs root and the qemu rig (`integration/vm/rig.sh prepare`); skipped
//! otherwise.

#[path = "../vm/rig.rs"]
mod rig;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rig::GuestFile;

/// Fixed seed of the CI run.
const CI_SEED: u64 = 20_261_123;
/// Backends 198.51.100.11 ..= 198.51.100.(10 + N_BACKENDS).
const N_BACKENDS: usize = 8;
/// VS with a sorry server (quorum 1): all its real servers down → sorry server.
const SORRY_VS: u8 = 4;
/// VS with quorum 4 and an inhibited sorry server.
const QUORUM_VS: u8 = 5;
/// Margin on top of the checkers' detection time (TCG, loaded host), seconds.
const MARGIN_S: u32 = 10;

/// SplitMix64: small, seedable, good enough to draw faults.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
    /// `k` distinct elements of `v` (all of them when `k >= len`).
    fn choose<T: Copy>(&mut self, v: &[T], k: usize) -> Vec<T> {
        let mut w = v.to_vec();
        self.shuffle(&mut w);
        w.truncate(k);
        w
    }
}

/// The checker a virtual server's real servers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// TCP_CHECK: up while the backend's httpd listens.
    Tcp,
    /// HTTP_GET /index.html, status 200: httpd listens and the page exists.
    Http,
    /// MISC_CHECK `misc.sh N`: the backend's flag file exists.
    Misc,
}

impl Check {
    /// Worst-case detection time with the timings of [`Model::config`]:
    /// delay_loop + (retry + 1) × timeout + retry × delay_before_retry.
    fn detect_s(self) -> u32 {
        match self {
            Check::Tcp => 1 + 2 + 1,
            Check::Http => 1 + 2 * 2 + 1,
            Check::Misc => 1 + 2 * 3 + 1,
        }
    }
}

/// What a backend offers: its httpd, its page, its MISC flag, and whether its
/// address answers at all (`reach` false = the address is gone from `be`:
/// SYNs vanish and probes time out instead of being refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Backend {
    http: bool,
    page: bool,
    flag: bool,
    reach: bool,
}

impl Backend {
    const UP: Backend = Backend {
        http: true,
        page: true,
        flag: true,
        reach: true,
    };
    const DOWN: Backend = Backend {
        http: false,
        page: false,
        flag: false,
        reach: true,
    };
    fn is_up(self) -> bool {
        self == Self::UP
    }
    fn is_down(self) -> bool {
        self == Self::DOWN
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rs {
    /// Backend number, 1-based.
    be: usize,
    weight: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sorry {
    /// 198.51.100.<octet>.
    octet: u8,
    inhibit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Vs {
    /// 192.0.2.<octet>:80.
    octet: u8,
    sched: &'static str,
    check: Check,
    rss: Vec<Rs>,
    inhibit: bool,
    sorry: Option<Sorry>,
    quorum: u32,
    /// Added by the exerciser (or the initial extra one): may be removed.
    extra: bool,
}

/// The backends' health and the configuration.
#[derive(Clone, Debug)]
struct Model {
    be: Vec<Backend>,
    vss: Vec<Vs>,
}

fn rs(be: usize, weight: u32) -> Rs {
    Rs { be, weight }
}

fn be_addr(be: usize) -> String {
    format!("198.51.100.{}", 10 + be)
}

impl Model {
    fn initial() -> Model {
        let vs = |octet, sched, check, rss| Vs {
            octet,
            sched,
            check,
            rss,
            inhibit: false,
            sorry: None,
            quorum: 1,
            extra: false,
        };
        let mut vss = vec![
            vs(1, "wrr", Check::Tcp, vec![rs(1, 1), rs(2, 2), rs(3, 3)]),
            Vs {
                inhibit: true,
                ..vs(2, "rr", Check::Http, vec![rs(3, 1), rs(4, 2), rs(5, 1)])
            },
            vs(3, "rr", Check::Misc, vec![rs(5, 1), rs(6, 1)]),
            Vs {
                sorry: Some(Sorry {
                    octet: 99,
                    inhibit: false,
                }),
                ..vs(SORRY_VS, "rr", Check::Tcp, vec![rs(6, 1), rs(7, 1)])
            },
            Vs {
                sorry: Some(Sorry {
                    octet: 98,
                    inhibit: true,
                }),
                quorum: 4,
                ..vs(
                    QUORUM_VS,
                    "wrr",
                    Check::Http,
                    vec![rs(1, 2), rs(7, 2), rs(8, 3)],
                )
            },
            Vs {
                extra: true,
                ..vs(10, "rr", Check::Tcp, vec![rs(2, 1), rs(8, 1)])
            },
        ];
        vss.sort_by_key(|v| v.octet);
        Model {
            be: vec![Backend::UP; N_BACKENDS],
            vss,
        }
    }

    fn alive(&self, check: Check, be: usize) -> bool {
        let b = self.be[be - 1];
        match check {
            Check::Tcp => b.http && b.reach,
            Check::Http => b.http && b.page && b.reach,
            Check::Misc => b.flag,
        }
    }

    /// Quorum state (hysteresis 0): the alive weight reaches the quorum,
    /// which is capped to the sum of the configured weights.
    fn quorum_up(&self, vs: &Vs) -> bool {
        let total: u32 = vs.rss.iter().map(|r| r.weight).sum();
        let alive: u32 = vs
            .rss
            .iter()
            .filter(|r| self.alive(vs.check, r.be))
            .map(|r| r.weight)
            .sum();
        alive > 0 && alive >= vs.quorum.min(total)
    }

    /// The table keepalived programs for this health and configuration, as
    /// `ipvsadm -Sn` rules, sorted.
    fn table(&self) -> Vec<String> {
        let mut t = Vec::new();
        for vs in &self.vss {
            let svc = format!("-t 192.0.2.{}:80", vs.octet);
            t.push(format!("-A {svc} -s {}", vs.sched));
            let sorry_active = vs.sorry.is_some() && !self.quorum_up(vs);
            for r in &vs.rss {
                let w = if self.alive(vs.check, r.be) && !sorry_active {
                    Some(r.weight)
                } else if vs.inhibit {
                    Some(0)
                } else {
                    None
                };
                if let Some(w) = w {
                    t.push(format!("-a {svc} -r {}:80 -m -w {w}", be_addr(r.be)));
                }
            }
            if let Some(s) = vs.sorry {
                let w = if sorry_active {
                    Some(1)
                } else if s.inhibit {
                    Some(0)
                } else {
                    None
                };
                if let Some(w) = w {
                    t.push(format!("-a {svc} -r 198.51.100.{}:80 -m -w {w}", s.octet));
                }
            }
        }
        t.sort();
        t
    }

    /// Rules that are real-server destinations with a weight (not sorry
    /// servers, not inhibited) and services: what a restart must never drop.
    fn live_rules(&self) -> Vec<String> {
        let sorry: BTreeSet<String> = self
            .vss
            .iter()
            .filter_map(|v| v.sorry.map(|s| format!("-r 198.51.100.{}:80", s.octet)))
            .collect();
        self.table()
            .into_iter()
            .filter(|l| {
                l.starts_with("-A ")
                    || (!l.ends_with(" -w 0") && !sorry.iter().any(|s| l.contains(s.as_str())))
            })
            .collect()
    }

    fn bound_s(&self) -> u32 {
        self.vss
            .iter()
            .map(|v| v.check.detect_s())
            .max()
            .unwrap_or(4)
            + MARGIN_S
    }

    /// keepalived.conf for the current configuration.
    fn config(&self) -> String {
        let mut c = String::from("global_defs {\n  router_id CHAOS\n}\n");
        for vs in &self.vss {
            let _ = writeln!(c, "virtual_server 192.0.2.{} 80 {{", vs.octet);
            let _ = writeln!(
                c,
                "  delay_loop 1\n  lb_algo {}\n  lb_kind NAT\n  protocol TCP",
                vs.sched
            );
            if vs.quorum != 1 {
                let _ = writeln!(c, "  quorum {}", vs.quorum);
            }
            if let Some(s) = vs.sorry {
                let _ = writeln!(c, "  sorry_server 198.51.100.{} 80", s.octet);
                if s.inhibit {
                    c.push_str("  sorry_server_inhibit\n");
                }
            }
            if vs.inhibit {
                c.push_str("  inhibit_on_failure\n");
            }
            for r in &vs.rss {
                let _ = writeln!(
                    c,
                    "  real_server {} 80 {{\n    weight {}",
                    be_addr(r.be),
                    r.weight
                );
                match vs.check {
                    Check::Tcp => c.push_str(
                        "    TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }\n",
                    ),
                    Check::Http => c.push_str(
                        "    HTTP_GET {\n      url {\n        path /index.html\n        status_code 200\n      }\n      connect_timeout 2\n      retry 1\n      delay_before_retry 1\n    }\n",
                    ),
                    Check::Misc => {
                        let _ = writeln!(
                            c,
                            "    MISC_CHECK {{\n      misc_path \"/guest/chaos/misc.sh {}\"\n      misc_timeout 3\n      retry 1\n      delay_before_retry 1\n    }}",
                            r.be
                        );
                    }
                }
                c.push_str("  }\n");
            }
            c.push_str("}\n");
        }
        c
    }

    fn vs_index(&self, octet: u8) -> Option<usize> {
        self.vss.iter().position(|v| v.octet == octet)
    }

    fn backends_where(&self, f: impl Fn(Backend) -> bool) -> Vec<usize> {
        (1..=N_BACKENDS).filter(|&b| f(self.be[b - 1])).collect()
    }
}

/// Fault kinds; the first steps of every run deal each kind once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    /// One backend down (httpd killed, page and MISC flag removed).
    Down1,
    /// One backend back.
    Up1,
    /// Two or three backends down at once.
    DownMany,
    /// Several backends back at once.
    UpMany,
    /// Every real server of the sorry-server VS down (→ sorry server), or back.
    SorryAll,
    /// Enough real servers of the quorum VS down to lose the quorum, or back.
    Quorum,
    /// One or two backends toggled every 0.2–0.5 s (faster than delay_loop).
    Flap,
    /// Only the page (HTTP 404) or only the MISC flag toggled.
    Partial,
    /// A backend's address removed (probes time out: connect_timeout paths),
    /// or put back.
    Blackhole,
    /// SIGHUP 10 a second with the unchanged configuration.
    HupStorm,
    /// The same storm while a backend goes down (or comes back) in its middle.
    StormFault,
    /// SIGHUP after a real server's weight changed.
    ReloadWeight,
    /// SIGHUP after a real server was added.
    ReloadAddRs,
    /// SIGHUP after a real server was removed.
    ReloadDelRs,
    /// SIGHUP after a virtual server was added.
    ReloadAddVs,
    /// SIGHUP after a virtual server was removed.
    ReloadDelVs,
    /// kill -9 of the checker child (the parent respawns it, it adopts the table).
    KillChild,
    /// SIGSTOP of the checker child: short (SIGCONT after 1–3 s) or until the
    /// parent's heartbeat watchdog replaces it.
    StopChild,
}

const KINDS: [Kind; 18] = [
    Kind::Down1,
    Kind::Up1,
    Kind::DownMany,
    Kind::UpMany,
    Kind::SorryAll,
    Kind::Quorum,
    Kind::Flap,
    Kind::Partial,
    Kind::Blackhole,
    Kind::HupStorm,
    Kind::StormFault,
    Kind::ReloadWeight,
    Kind::ReloadAddRs,
    Kind::ReloadDelRs,
    Kind::ReloadAddVs,
    Kind::ReloadDelVs,
    Kind::KillChild,
    Kind::StopChild,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Down1 => "down1",
            Kind::Up1 => "up1",
            Kind::DownMany => "down-many",
            Kind::UpMany => "up-many",
            Kind::SorryAll => "sorry-all",
            Kind::Quorum => "quorum",
            Kind::Flap => "flap",
            Kind::Partial => "partial",
            Kind::Blackhole => "blackhole",
            Kind::HupStorm => "hup-storm",
            Kind::StormFault => "storm-fault",
            Kind::ReloadWeight => "reload-weight",
            Kind::ReloadAddRs => "reload-add-rs",
            Kind::ReloadDelRs => "reload-del-rs",
            Kind::ReloadAddVs => "reload-add-vs",
            Kind::ReloadDelVs => "reload-del-vs",
            Kind::KillChild => "kill-child",
            Kind::StopChild => "stop-child",
        }
    }
    /// Relative frequency after the first deal.
    fn weight(self) -> u32 {
        match self {
            Kind::Down1 | Kind::Up1 | Kind::Flap => 3,
            Kind::DownMany | Kind::UpMany | Kind::Partial => 2,
            _ => 1,
        }
    }
    fn draw(rng: &mut Rng) -> Kind {
        let total: u32 = KINDS.iter().map(|k| k.weight()).sum();
        let mut x = rng.range(0, total - 1);
        for k in KINDS {
            if x < k.weight() {
                return k;
            }
            x -= k.weight();
        }
        Kind::Down1
    }
    /// What to do instead when the kind has nothing to act on.
    fn fallback(self) -> Kind {
        match self {
            Kind::Up1 => Kind::Down1,
            Kind::Down1 => Kind::Up1,
            Kind::UpMany => Kind::DownMany,
            Kind::DownMany => Kind::UpMany,
            Kind::ReloadDelVs => Kind::ReloadAddVs,
            Kind::ReloadAddRs => Kind::ReloadDelRs,
            Kind::ReloadDelRs => Kind::ReloadAddRs,
            _ => Kind::Down1,
        }
    }
}

/// How a step is sampled while the fault happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sampling {
    None,
    /// Unchanged configuration: no rule may change at all.
    Strict,
    /// A changed configuration: the rules the change does not touch stay.
    Reload,
    /// Checker restart: services and weighted real servers stay.
    Restart,
    /// Storm with a health change: the rules the change does not touch stay.
    StormFault,
}

#[derive(Clone, Debug)]
struct Step {
    kind: Kind,
    desc: String,
    /// Guest commands of the fault.
    cmds: String,
    expected: Vec<String>,
    must: Vec<String>,
    /// Sampled rules counted apart (sorry servers during a restart).
    soft: Vec<String>,
    sampling: Sampling,
    bound_s: u32,
    stable_tenths: u32,
}

#[derive(Clone, Debug)]
struct Plan {
    seed: u64,
    initial_down: usize,
    configs: Vec<String>,
    /// Step 0 is the start.
    steps: Vec<Step>,
}

/// Applies `kind` to the model; `None` when it has nothing to act on.
fn fault(
    kind: Kind,
    m: &mut Model,
    rng: &mut Rng,
    storm_tenths: u32,
    configs: &mut Vec<String>,
) -> Option<Step> {
    let before = m.table();
    let list = |v: &[usize]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut sampling = Sampling::None;
    let mut stable = 20;
    let (desc, cmds) = match kind {
        Kind::Down1 => {
            let c = m.backends_where(Backend::is_up);
            if c.is_empty() {
                return None;
            }
            let b = rng.pick(&c);
            m.be[b - 1] = Backend::DOWN;
            (format!("backend {b} down"), format!("be_down {b}"))
        }
        Kind::Up1 => {
            let c = m.backends_where(|b| !b.is_up());
            if c.is_empty() {
                return None;
            }
            let b = rng.pick(&c);
            m.be[b - 1] = Backend::UP;
            (format!("backend {b} up"), format!("be_up {b}"))
        }
        Kind::DownMany => {
            let c = m.backends_where(Backend::is_up);
            if c.len() < 2 {
                return None;
            }
            let k = rng.range(2, c.len().min(3) as u32) as usize;
            let mut bs = rng.choose(&c, k);
            bs.sort_unstable();
            for &b in &bs {
                m.be[b - 1] = Backend::DOWN;
            }
            (
                format!("backends {} down at once", list(&bs)),
                format!("be_down {}", list(&bs)),
            )
        }
        Kind::UpMany => {
            let c = m.backends_where(|b| !b.is_up());
            if c.len() < 2 {
                return None;
            }
            let k = rng.range(2, c.len() as u32) as usize;
            let mut bs = rng.choose(&c, k);
            bs.sort_unstable();
            for &b in &bs {
                m.be[b - 1] = Backend::UP;
            }
            (
                format!("backends {} up at once", list(&bs)),
                format!("be_up {}", list(&bs)),
            )
        }
        Kind::SorryAll => {
            let vi = m.vs_index(SORRY_VS)?;
            let bs: Vec<usize> = m.vss[vi].rss.iter().map(|r| r.be).collect();
            if bs.iter().all(|&b| m.be[b - 1].is_down()) {
                for &b in &bs {
                    m.be[b - 1] = Backend::UP;
                }
                (
                    format!(
                        "VS 192.0.2.{SORRY_VS}: backends {} back, sorry server out",
                        list(&bs)
                    ),
                    format!("be_up {}", list(&bs)),
                )
            } else {
                for &b in &bs {
                    m.be[b - 1] = Backend::DOWN;
                }
                (
                    format!(
                        "VS 192.0.2.{SORRY_VS}: all backends ({}) down, sorry server in",
                        list(&bs)
                    ),
                    format!("be_down {}", list(&bs)),
                )
            }
        }
        Kind::Quorum => {
            let vi = m.vs_index(QUORUM_VS)?;
            let vs = m.vss[vi].clone();
            if m.quorum_up(&vs) {
                let mut bs: Vec<usize> = vs.rss.iter().map(|r| r.be).collect();
                rng.shuffle(&mut bs);
                let mut down = Vec::new();
                for b in bs {
                    if !m.quorum_up(&vs) {
                        break;
                    }
                    m.be[b - 1] = Backend::DOWN;
                    down.push(b);
                }
                (
                    format!(
                        "VS 192.0.2.{QUORUM_VS}: backends {} down, quorum lost",
                        list(&down)
                    ),
                    format!("be_down {}", list(&down)),
                )
            } else {
                let bs: Vec<usize> = vs.rss.iter().map(|r| r.be).collect();
                for &b in &bs {
                    m.be[b - 1] = Backend::UP;
                }
                (
                    format!(
                        "VS 192.0.2.{QUORUM_VS}: backends {} up, quorum back",
                        list(&bs)
                    ),
                    format!("be_up {}", list(&bs)),
                )
            }
        }
        Kind::Flap => {
            let c = m.backends_where(|b| b.is_up() || b.is_down());
            if c.is_empty() {
                return None;
            }
            let k = rng.range(1, 2.min(c.len() as u32)) as usize;
            let mut bs = rng.choose(&c, k);
            bs.sort_unstable();
            let period = rng.range(2, 5);
            let toggles = rng.range(4, 12);
            if toggles % 2 == 1 {
                for &b in &bs {
                    let up = m.be[b - 1].is_up();
                    m.be[b - 1] = if up { Backend::DOWN } else { Backend::UP };
                }
            }
            (
                format!(
                    "backends {} toggled {toggles} times every 0.{period} s",
                    list(&bs)
                ),
                format!("flap {period} {toggles} {}", list(&bs)),
            )
        }
        Kind::Blackhole => {
            let holed = m.backends_where(|b| !b.reach);
            let live = m.backends_where(|b| b.reach && b.http);
            if !holed.is_empty() && (live.is_empty() || rng.below(2) == 0) {
                let b = rng.pick(&holed);
                m.be[b - 1].reach = true;
                (
                    format!("backend {b} address back"),
                    format!("be_unhole {b}"),
                )
            } else if !live.is_empty() {
                let b = rng.pick(&live);
                m.be[b - 1].reach = false;
                (
                    format!("backend {b} address removed (probes time out)"),
                    format!("be_hole {b}"),
                )
            } else {
                return None;
            }
        }
        Kind::Partial => {
            let c = m.backends_where(|b| b.http);
            let b = if c.is_empty() {
                rng.range(1, N_BACKENDS as u32) as usize
            } else {
                rng.pick(&c)
            };
            let st = &mut m.be[b - 1];
            if rng.below(2) == 0 {
                st.page = !st.page;
                let on = st.page;
                (
                    format!(
                        "backend {b} page {}",
                        if on { "back" } else { "removed (HTTP 404)" }
                    ),
                    format!("be_page_{} {b}", if on { "on" } else { "off" }),
                )
            } else {
                st.flag = !st.flag;
                let on = st.flag;
                (
                    format!(
                        "backend {b} MISC flag {}",
                        if on { "back" } else { "removed" }
                    ),
                    format!("be_flag_{} {b}", if on { "on" } else { "off" }),
                )
            }
        }
        Kind::HupStorm => {
            sampling = Sampling::Strict;
            let n = storm_tenths;
            (
                format!("{n} SIGHUPs, 10 a second, unchanged configuration"),
                format!("hup_storm {n}"),
            )
        }
        Kind::StormFault => {
            let n = storm_tenths;
            let down = m.backends_where(|b| !b.is_up());
            let up = m.backends_where(Backend::is_up);
            let (b, what) = if !down.is_empty() && (up.is_empty() || rng.below(2) == 0) {
                let b = rng.pick(&down);
                m.be[b - 1] = Backend::UP;
                (b, "up")
            } else {
                let b = rng.pick(&up);
                m.be[b - 1] = Backend::DOWN;
                (b, "down")
            };
            sampling = Sampling::StormFault;
            (
                format!("{n} SIGHUPs, 10 a second, unchanged configuration; backend {b} {what} after {} s", n / 20),
                format!("hup_storm {n} & HS=$!; sleep {}; be_{what} {b}; wait $HS", n / 20),
            )
        }
        Kind::ReloadWeight => {
            let vi = rng.below(m.vss.len());
            let ri = rng.below(m.vss[vi].rss.len());
            let old = m.vss[vi].rss[ri].weight;
            let mut w = rng.range(1, 4);
            if w >= old {
                w += 1;
            }
            m.vss[vi].rss[ri].weight = w;
            let vs = &m.vss[vi];
            sampling = Sampling::Reload;
            (
                format!(
                    "reload: VS 192.0.2.{} RS {} weight {old} -> {w}",
                    vs.octet,
                    be_addr(vs.rss[ri].be)
                ),
                String::new(),
            )
        }
        Kind::ReloadAddRs => {
            let cands: Vec<usize> = (0..m.vss.len())
                .filter(|&i| m.vss[i].octet != QUORUM_VS && m.vss[i].rss.len() < N_BACKENDS)
                .collect();
            if cands.is_empty() {
                return None;
            }
            let vi = rng.pick(&cands);
            let free: Vec<usize> = (1..=N_BACKENDS)
                .filter(|b| !m.vss[vi].rss.iter().any(|r| r.be == *b))
                .collect();
            let b = rng.pick(&free);
            let w = rng.range(1, 3);
            m.vss[vi].rss.push(rs(b, w));
            m.vss[vi].rss.sort_by_key(|r| r.be);
            sampling = Sampling::Reload;
            (
                format!(
                    "reload: VS 192.0.2.{} + RS {} weight {w}",
                    m.vss[vi].octet,
                    be_addr(b)
                ),
                String::new(),
            )
        }
        Kind::ReloadDelRs => {
            let cands: Vec<usize> = (0..m.vss.len())
                .filter(|&i| m.vss[i].octet != QUORUM_VS && m.vss[i].rss.len() >= 2)
                .collect();
            if cands.is_empty() {
                return None;
            }
            let vi = rng.pick(&cands);
            let ri = rng.below(m.vss[vi].rss.len());
            let gone = m.vss[vi].rss.remove(ri);
            sampling = Sampling::Reload;
            (
                format!(
                    "reload: VS 192.0.2.{} - RS {}",
                    m.vss[vi].octet,
                    be_addr(gone.be)
                ),
                String::new(),
            )
        }
        Kind::ReloadAddVs => {
            let used: BTreeSet<u8> = m.vss.iter().map(|v| v.octet).collect();
            let free: Vec<u8> = (10..=40).filter(|o| !used.contains(o)).collect();
            if free.is_empty() {
                return None;
            }
            let octet = rng.pick(&free);
            let check = rng.pick(&[Check::Tcp, Check::Http, Check::Misc]);
            let sched = rng.pick(&["rr", "wrr", "lc", "wlc"]);
            let all: Vec<usize> = (1..=N_BACKENDS).collect();
            let k = rng.range(2, 3) as usize;
            let mut bs = rng.choose(&all, k);
            bs.sort_unstable();
            let rss: Vec<Rs> = bs.iter().map(|&b| rs(b, rng.range(1, 3))).collect();
            m.vss.push(Vs {
                octet,
                sched,
                check,
                rss,
                inhibit: false,
                sorry: None,
                quorum: 1,
                extra: true,
            });
            m.vss.sort_by_key(|v| v.octet);
            sampling = Sampling::Reload;
            (
                format!(
                    "reload: + VS 192.0.2.{octet} ({sched}, {check:?}, backends {})",
                    list(&bs)
                ),
                String::new(),
            )
        }
        Kind::ReloadDelVs => {
            let c: Vec<usize> = (0..m.vss.len()).filter(|&i| m.vss[i].extra).collect();
            if c.is_empty() {
                return None;
            }
            let vi = rng.pick(&c);
            let gone = m.vss.remove(vi);
            sampling = Sampling::Reload;
            (
                format!("reload: - VS 192.0.2.{}", gone.octet),
                String::new(),
            )
        }
        Kind::KillChild => {
            sampling = Sampling::Restart;
            stable = 40;
            (
                "kill -9 of the checker child".to_string(),
                "kill_child".to_string(),
            )
        }
        Kind::StopChild => {
            sampling = Sampling::Restart;
            stable = 40;
            if rng.below(2) == 0 {
                (
                    "SIGSTOP of the checker child until the parent replaces it".to_string(),
                    "stop_child 0".to_string(),
                )
            } else {
                let t = rng.range(10, 30);
                (
                    format!(
                        "SIGSTOP of the checker child for {}.{} s, then SIGCONT",
                        t / 10,
                        t % 10
                    ),
                    format!("stop_child {t}"),
                )
            }
        }
    };
    let cmds = if matches!(sampling, Sampling::Reload) {
        configs.push(m.config());
        format!("ka_conf {}; ka_hup", configs.len() - 1)
    } else {
        cmds
    };
    let expected = m.table();
    let must = match sampling {
        Sampling::None => Vec::new(),
        Sampling::Strict => expected.clone(),
        Sampling::Reload | Sampling::StormFault => before
            .iter()
            .filter(|l| expected.contains(l))
            .cloned()
            .collect(),
        Sampling::Restart => m.live_rules(),
    };
    let soft = if sampling == Sampling::Restart {
        expected
            .iter()
            .filter(|l| !must.contains(l) && !l.ends_with(" -w 0"))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    Some(Step {
        kind,
        desc,
        cmds,
        expected,
        must,
        soft,
        sampling,
        bound_s: m.bound_s(),
        stable_tenths: stable,
    })
}

/// The initial model (one seeded backend down), its configuration and step 0.
fn start(rng: &mut Rng) -> (Model, usize, Vec<String>, Vec<Step>) {
    let mut m = Model::initial();
    let initial_down = rng.range(1, N_BACKENDS as u32) as usize;
    m.be[initial_down - 1] = Backend::DOWN;
    let configs = vec![m.config()];
    let step0 = Step {
        kind: Kind::Down1,
        desc: format!("start: keepalived -C, backend {initial_down} down"),
        cmds: String::new(),
        expected: m.table(),
        must: Vec::new(),
        soft: Vec::new(),
        sampling: Sampling::None,
        bound_s: 30,
        stable_tenths: 20,
    };
    (m, initial_down, configs, vec![step0])
}

/// A plan of the given kinds in order (each falling back if it cannot act).
fn plan_of(seed: u64, kinds: &[Kind], storm_tenths: u32) -> Plan {
    let mut rng = Rng(seed);
    let (mut m, initial_down, mut configs, mut out) = start(&mut rng);
    for &k in kinds {
        let step = match fault(k, &mut m, &mut rng, storm_tenths, &mut configs) {
            Some(s) => Some(s),
            None => fault(k.fallback(), &mut m, &mut rng, storm_tenths, &mut configs),
        };
        out.extend(step);
    }
    Plan {
        seed,
        initial_down,
        configs,
        steps: out,
    }
}

/// The fault sequence of a seed: `steps` faults (at least one of every kind).
fn plan(seed: u64, steps: usize, storm_tenths: u32) -> Plan {
    let mut rng = Rng(seed);
    let (mut m, initial_down, mut configs, mut out) = start(&mut rng);
    let mut deck = KINDS.to_vec();
    rng.shuffle(&mut deck);
    let mut seen: BTreeSet<Kind> = BTreeSet::new();
    let mut i = 0;
    // Enough extra steps to cover kinds that had to fall back.
    while out.len() - 1 < steps || (seen.len() < KINDS.len() && out.len() < steps + 3 * KINDS.len())
    {
        let want = if i < deck.len() {
            deck[i]
        } else if out.len() > steps {
            *KINDS
                .iter()
                .find(|k| !seen.contains(k))
                .unwrap_or(&Kind::Down1)
        } else {
            Kind::draw(&mut rng)
        };
        i += 1;
        let step = match fault(want, &mut m, &mut rng, storm_tenths, &mut configs) {
            Some(s) => Some(s),
            None => fault(
                want.fallback(),
                &mut m,
                &mut rng,
                storm_tenths,
                &mut configs,
            ),
        };
        if let Some(s) = step {
            seen.insert(s.kind);
            out.push(s);
        }
    }
    Plan {
        seed,
        initial_down,
        configs,
        steps: out,
    }
}

impl Plan {
    /// `steps.sh` for the guest.
    fn script(&self, ka_bin: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# seed {} — generated by integration/tests/check_chaos_vm.rs",
            self.seed
        );
        let _ = writeln!(s, "KA_BIN={ka_bin}");
        if std::env::var_os("KA_CHECK_CHAOS_LOG").is_some() {
            s.push_str("SHOW_LOG=1\n");
        }
        let _ = writeln!(s, "setup_backends {N_BACKENDS}");
        let up: Vec<String> = (1..=N_BACKENDS)
            .filter(|&b| b != self.initial_down)
            .map(|b| b.to_string())
            .collect();
        let _ = writeln!(s, "step 0 start \"{}\"", self.steps[0].desc);
        let _ = writeln!(s, "be_up {}", up.join(" "));
        let _ = writeln!(
            s,
            "ka_start 0\nmark\naudit {} 20",
            self.steps[0].bound_s * 10
        );
        let _ = writeln!(s, "[ $FAILED = 0 ] || {{ dump_state; finish; exit 1; }}");
        for (n, st) in self.steps.iter().enumerate().skip(1) {
            let _ = writeln!(s, "step {n} {} \"{}\"", st.kind.name(), st.desc);
            if st.sampling != Sampling::None {
                let soft = if st.soft.is_empty() {
                    String::new()
                } else {
                    format!(" $C/must/{n}.soft")
                };
                let _ = writeln!(s, "sampler_start $C/must/{n}.tok{soft}");
            }
            if st.sampling == Sampling::Strict {
                let _ = writeln!(s, "log_mark");
            }
            let _ = writeln!(s, "{}", st.cmds);
            let _ = writeln!(s, "mark\naudit {} {}", st.bound_s * 10, st.stable_tenths);
            if st.sampling != Sampling::None {
                let _ = writeln!(s, "sampler_stop");
            }
            if st.sampling == Sampling::Strict {
                let _ = writeln!(s, "echo \"@LOGCHG {n} $(log_changes)\"");
            }
            let _ = writeln!(s, "[ $FAILED = 0 ] || {{ finish; exit 1; }}");
        }
        s.push_str("finish\n");
        s
    }

    /// Every file the guest needs besides the binary.
    fn guest_files(&self, ka_bin: &str, strict_restart: bool) -> Vec<GuestFile> {
        let dir = chaos_dir();
        let mut files = vec![
            GuestFile::data("/guest/chaos/chaos.sh", read(&dir.join("chaos.sh"))),
            GuestFile {
                mode: 0o755,
                ..GuestFile::data("/guest/chaos/misc.sh", read(&dir.join("misc.sh")))
            },
            GuestFile::data("/guest/chaos/steps.sh", self.script(ka_bin)),
        ];
        for (i, c) in self.configs.iter().enumerate() {
            files.push(GuestFile::data(
                &format!("/guest/chaos/conf/{i}.conf"),
                c.clone(),
            ));
        }
        for (n, st) in self.steps.iter().enumerate() {
            files.push(GuestFile::data(
                &format!("/guest/chaos/exp/{n}.txt"),
                lines(&st.expected),
            ));
            if st.sampling != Sampling::None {
                // Strict restarts: nothing of the table may go missing, sorry servers included.
                let must = if strict_restart && st.sampling == Sampling::Restart {
                    &st.expected
                } else {
                    &st.must
                };
                files.push(GuestFile::data(
                    &format!("/guest/chaos/must/{n}.txt"),
                    lines(must),
                ));
                files.push(GuestFile::data(
                    &format!("/guest/chaos/must/{n}.tok"),
                    tokens(must),
                ));
            }
            if !st.soft.is_empty() {
                files.push(GuestFile::data(
                    &format!("/guest/chaos/must/{n}.soft"),
                    tokens(&st.soft),
                ));
            }
        }
        files
    }

    /// A generous guess of the guest time (s): for the guest script limit.
    fn estimate_s(&self, storm_s: u64) -> u64 {
        30 + self
            .steps
            .iter()
            .skip(1)
            .map(|st| match st.kind {
                Kind::KillChild | Kind::StopChild => 30,
                Kind::HupStorm | Kind::StormFault => storm_s + 12,
                _ => 12,
            })
            .sum::<u64>()
    }

    fn kinds(&self) -> BTreeMap<Kind, usize> {
        let mut k = BTreeMap::new();
        for st in self.steps.iter().skip(1) {
            *k.entry(st.kind).or_insert(0) += 1;
        }
        k
    }
}

/// An `ipvsadm -Sn` rule as the guest sampler's token of `/proc/net/ip_vs`:
/// `C0000201:0050/rr` (service), `C0000201:0050>C633640B:0050/3` (destination
/// and weight). Only the IPv4 TCP rules this exerciser writes.
fn proc_token(rule: &str) -> Option<String> {
    fn hex(addr_port: &str) -> Option<String> {
        let (a, p) = addr_port.rsplit_once(':')?;
        let a: std::net::Ipv4Addr = a.parse().ok()?;
        let p: u16 = p.parse().ok()?;
        Some(format!("{:08X}:{p:04X}", u32::from(a)))
    }
    let f: Vec<&str> = rule.split_whitespace().collect();
    match f.as_slice() {
        ["-A", "-t", svc, "-s", sched] => Some(format!("{}/{sched}", hex(svc)?)),
        ["-a", "-t", svc, "-r", rs, "-m", "-w", w] => {
            Some(format!("{}>{}/{w}", hex(svc)?, hex(rs)?))
        }
        _ => None,
    }
}

/// [`proc_token`] of every rule, one a line.
fn tokens(v: &[String]) -> String {
    v.iter()
        .map(|l| proc_token(l).unwrap_or_else(|| panic!("no token for {l}")) + "\n")
        .collect()
}

/// One rule a line.
fn lines(v: &[String]) -> String {
    v.iter().map(|l| format!("{l}\n")).collect()
}

fn chaos_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vm/chaos")
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// What the guest reported.
#[derive(Debug, Default)]
struct Report {
    audits_ok: usize,
    failures: Vec<String>,
    /// (step, seconds, departures)
    conv: Vec<(usize, f64, u64)>,
    /// (step, samples, deviating, missing, soft missing)
    samples: Vec<(usize, u64, u64, u64, u64)>,
    logchg: Vec<(usize, u64)>,
    hups: Vec<(usize, u64, f64)>,
    respawn: Vec<(usize, f64)>,
    watchdog: Vec<(usize, f64)>,
    services_left: Option<u64>,
    /// (step, checker child pid after the step)
    child: Vec<(usize, u64)>,
    done: Option<i32>,
}

fn parse_report(out: &str) -> Report {
    let mut r = Report::default();
    for l in out.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        let flt = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
        match f.first().copied() {
            Some("@AUDIT") => r.audits_ok += 1,
            Some("@FAIL") => r.failures.push(l.to_string()),
            Some("@CONV") => r.conv.push((num(1) as usize, flt(2), num(3))),
            Some("@SAMPLES") => r
                .samples
                .push((num(1) as usize, num(2), num(3), num(4), num(5))),
            Some("@CHILD") => r.child.push((num(1) as usize, num(2))),
            Some("@LOGCHG") => r.logchg.push((num(1) as usize, num(2))),
            Some("@HUPS") => r.hups.push((num(1) as usize, num(2), flt(3))),
            Some("@RESPAWN") => r.respawn.push((num(1) as usize, flt(2))),
            Some("@WATCHDOG") => r.watchdog.push((num(1) as usize, flt(2))),
            Some("@STOPPED") => {
                r.services_left = l
                    .split("services_left=")
                    .nth(1)
                    .and_then(|x| x.trim().parse().ok())
            }
            Some("@DONE") => r.done = f.get(1).and_then(|x| x.parse().ok()),
            _ => {}
        }
    }
    r
}

/// How a run is made.
struct RunOpts {
    /// keepalived in the guest (ours or 2.2.7).
    ka_bin: &'static str,
    /// Restarts sampled against the whole table (sorry servers included, no
    /// deviation allowed) instead of the real servers with a weight.
    strict_restart: bool,
    /// The guest script's time limit (`/guest/limit`).
    guest_s: u64,
    /// qemu's wall-clock limit.
    limit: Duration,
    /// The command that reproduces the run (printed on failure).
    repro: String,
}

fn mode_name(s: Sampling) -> &'static str {
    match s {
        Sampling::Strict => "SIGHUP storm (unchanged config)",
        Sampling::Reload => "reload (changed config)",
        Sampling::Restart => "checker restart",
        Sampling::StormFault => "SIGHUP storm with a backend change",
        Sampling::None => "-",
    }
}

/// Runs one plan in the guest; returns the figures or panics with the seed
/// and the repro command.
fn run_plan(plan: &Plan, bin: &Path, o: &RunOpts) -> String {
    // Always /usr/local/bin/keepalived, whatever the host file is called.
    let mut files = vec![GuestFile {
        guest: "/usr/local/bin/keepalived".into(),
        ..GuestFile::bin(bin)
    }];
    files.extend(plan.guest_files(o.ka_bin, o.strict_restart));
    files.push(GuestFile::data("/guest/limit", o.guest_s.to_string()));
    let script = String::from_utf8_lossy(&read(&chaos_dir().join("run.sh"))).into_owned();
    let r = rig::run_in_guest_timeout(&files, &script, o.limit).expect("guest run");
    let rep = parse_report(&r.stdout);
    let steps = plan.steps.len() - 1;
    let repro = &o.repro;
    let mut fig = String::new();
    let _ = writeln!(
        fig,
        "seed {}: {steps} fault steps + start, boot+run {:.1} s wall (guest script {:?}..{:?} s)",
        plan.seed,
        r.wall.as_secs_f64(),
        r.guest_ready_s,
        r.guest_done_s
    );
    let kinds = plan.kinds();
    let _ = writeln!(
        fig,
        "faults per kind: {}",
        kinds
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(fig, "audits passed: {}/{}", rep.audits_ok, plan.steps.len());
    let mut per_kind: BTreeMap<&str, f64> = BTreeMap::new();
    for &(n, secs, _) in &rep.conv {
        if let Some(st) = plan.steps.get(n) {
            let name = if n == 0 { "start" } else { st.kind.name() };
            let e = per_kind.entry(name).or_insert(0.0);
            *e = e.max(secs);
        }
    }
    let longest = rep
        .conv
        .iter()
        .filter(|c| c.0 > 0)
        .fold(
            (0usize, 0.0f64),
            |a, &(n, secs, _)| if secs > a.1 { (n, secs) } else { a },
        );
    let _ = writeln!(
        fig,
        "longest convergence after a fault: {:.2} s (step {}, {}); per kind: {}",
        longest.1,
        longest.0,
        plan.steps.get(longest.0).map_or("-", |s| s.kind.name()),
        per_kind
            .iter()
            .map(|(k, s)| format!("{k} {s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let departures: Vec<String> = rep
        .conv
        .iter()
        .filter(|c| c.2 > 0)
        .map(|&(n, _, d)| format!("step {n} ({}) {d}", plan.steps[n].kind.name()))
        .collect();
    let _ = writeln!(
        fig,
        "table left the expected state again after reaching it: {}",
        if departures.is_empty() {
            "never".to_string()
        } else {
            departures.join(", ")
        }
    );
    let mut by_mode: BTreeMap<&str, [u64; 5]> = BTreeMap::new();
    for &(n, total, dev, miss, soft) in &rep.samples {
        let e = by_mode
            .entry(mode_name(plan.steps[n].sampling))
            .or_insert([0; 5]);
        e[0] += 1;
        e[1] += total;
        e[2] += dev;
        e[3] += miss;
        e[4] += soft;
    }
    for (mode, [k, total, dev, miss, soft]) in &by_mode {
        let _ = writeln!(
            fig,
            "sampled during {mode}: {k} steps, {total} samples, {dev} differing from the audited table, {miss} with a must-stay rule missing, {soft} with a sorry server missing"
        );
    }
    let missing: u64 = rep.samples.iter().map(|s| s.3).sum();
    let _ = writeln!(fig, "destinations ever missing: {missing}");
    if !rep.hups.is_empty() {
        let _ = writeln!(
            fig,
            "SIGHUP storms: {}",
            rep.hups
                .iter()
                .map(|(n, c, t)| format!("step {n}: {c} in {t:.1} s"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !rep.respawn.is_empty() || !rep.watchdog.is_empty() {
        let _ = writeln!(
            fig,
            "checker respawned after kill -9 in: {}; SIGSTOPped child replaced after: {}",
            rep.respawn
                .iter()
                .map(|(_, t)| format!("{t:.2} s"))
                .collect::<Vec<_>>()
                .join(", "),
            rep.watchdog
                .iter()
                .map(|(_, t)| format!("{t:.2} s"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // The checker child may only change where a step replaced it.
    let mut replaced = Vec::new();
    let mut unexpected = Vec::new();
    for w in rep.child.windows(2) {
        let ((_, a), (n, b)) = (w[0], w[1]);
        if a != b {
            match plan.steps[n].kind {
                Kind::KillChild | Kind::StopChild => replaced.push(n),
                k => unexpected.push(format!("step {n} ({})", k.name())),
            }
        }
    }
    let _ = writeln!(
        fig,
        "checker child replaced: {} time(s) by kill -9 / SIGSTOP steps, {} time(s) elsewhere{}",
        replaced.len(),
        unexpected.len(),
        if unexpected.is_empty() {
            String::new()
        } else {
            format!(" ({})", unexpected.join(", "))
        }
    );
    println!("{}\n--- figures\n{fig}", r.stdout);
    let ctx = format!(
        "CHECK CHAOS FAILURE seed={}; repro: {repro}\n{fig}",
        plan.seed
    );
    if r.exit == -1 {
        let tail: Vec<&str> = r.console.lines().rev().take(80).collect();
        println!("--- console (tail)");
        for l in tail.into_iter().rev() {
            println!("{l}");
        }
    }
    assert!(rep.failures.is_empty(), "{ctx}{}", rep.failures.join("\n"));
    assert_eq!(r.exit, 0, "{ctx}guest exit {}", r.exit);
    assert_eq!(rep.done, Some(0), "{ctx}no @DONE 0");
    assert_eq!(rep.audits_ok, plan.steps.len(), "{ctx}audits");
    assert_eq!(missing, 0, "{ctx}destinations missing while sampled");
    assert!(
        unexpected.is_empty(),
        "{ctx}checker child replaced outside kill/stop steps"
    );
    for &(n, _, dev, _, soft) in &rep.samples {
        let st = &plan.steps[n];
        if st.sampling == Sampling::Strict || (o.strict_restart && st.sampling == Sampling::Restart)
        {
            assert_eq!(
                dev,
                0,
                "{ctx}step {n}: the table changed during a {}",
                mode_name(st.sampling)
            );
            assert_eq!(
                soft,
                0,
                "{ctx}step {n}: a sorry server went missing during a {}",
                mode_name(st.sampling)
            );
        }
    }
    for &(n, c) in &rep.logchg {
        assert_eq!(
            c, 0,
            "{ctx}step {n}: table changes logged during a storm with the unchanged configuration"
        );
    }
    assert_eq!(
        rep.services_left,
        Some(0),
        "{ctx}services left after SIGTERM"
    );
    fig
}

#[test]
fn checker_chaos_in_guest() {
    if let Some(why) = rig::skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let seed = env_u64("KA_CHECK_CHAOS_SEED").unwrap_or(CI_SEED);
    let steps = env_u64("KA_CHECK_CHAOS_STEPS").map_or(KINDS.len(), |v| v as usize);
    let storm_s = env_u64("KA_CHECK_CHAOS_STORM_SECS").unwrap_or(4);
    let reference = std::env::var_os("KA_CHECK_CHAOS_REFERENCE").is_some();
    // Ours must adopt the table on a restart without changing it; keepalived
    // 2.2.7 re-adds dead real servers until its first checks, so the reference
    // run is strict only on request.
    let strict_restart = !reference || std::env::var_os("KA_CHECK_CHAOS_STRICT_RESTART").is_some();
    let bin = rig::keepalived_bin(false);
    let ka_bin = if reference {
        "/usr/sbin/keepalived"
    } else {
        "/usr/local/bin/keepalived"
    };
    let plan = plan(seed, steps, (storm_s * 10) as u32);
    println!(
        "check chaos: seed {seed}, {} steps, storms {storm_s} s, daemon {ka_bin}{}",
        plan.steps.len() - 1,
        if strict_restart {
            ", strict restarts"
        } else {
            ""
        }
    );
    for (n, st) in plan.steps.iter().enumerate() {
        println!(
            "  step {n:3} {:14} {}",
            if n == 0 { "start" } else { st.kind.name() },
            st.desc
        );
    }
    // Long runs: raise the guest script's limit (600 s by default, rig.sh).
    let guest_s = (plan.estimate_s(storm_s) * 3 / 2).max(600);
    let o = RunOpts {
        ka_bin,
        strict_restart,
        guest_s,
        limit: Duration::from_secs(guest_s + 300),
        repro: format!(
            "KA_CHECK_CHAOS_SEED={seed} KA_CHECK_CHAOS_STEPS={} KA_CHECK_CHAOS_STORM_SECS={storm_s}{}{} cargo test -p keepalived-integration --test check_chaos_vm checker_chaos_in_guest -- --nocapture",
            plan.steps.len() - 1,
            if reference { " KA_CHECK_CHAOS_REFERENCE=1" } else { "" },
            if strict_restart { " KA_CHECK_CHAOS_STRICT_RESTART=1" } else { "" }
        ),
    };
    let fig = run_plan(&plan, &bin, &o);
    println!("check chaos passed\n{fig}");
}

/// Restarts of the checker child while sorry servers are in use and real
/// servers are down, audited strictly: the respawned child must adopt the
/// table as it is (no sample may differ, the sorry servers stay): the check
/// daemon seeds its initial state from the adopted table (notes/REQUESTS.md,
/// "From check-chaos-vm").
#[test]
fn checker_restart_adopts_table_in_guest() {
    if let Some(why) = rig::skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let bin = rig::keepalived_bin(false);
    let kinds = [
        Kind::SorryAll,
        Kind::Quorum,
        Kind::KillChild,
        Kind::StopChild,
        Kind::KillChild,
    ];
    let plan = plan_of(3, &kinds, 40);
    for (n, st) in plan.steps.iter().enumerate() {
        println!("  step {n:3} {:14} {}", st.kind.name(), st.desc);
    }
    let o = RunOpts {
        ka_bin: "/usr/local/bin/keepalived",
        strict_restart: true,
        guest_s: 600,
        limit: Duration::from_secs(900),
        repro: "cargo test -p keepalived-integration --test check_chaos_vm checker_restart_adopts_table_in_guest -- --nocapture".into(),
    };
    let fig = run_plan(&plan, &bin, &o);
    println!("strict restarts passed\n{fig}");
}

/// The plan is a function of the seed, and the CI plan deals every kind.
#[test]
fn plan_is_reproducible_and_covers_every_kind() {
    let a = plan(CI_SEED, KINDS.len(), 40);
    let b = plan(CI_SEED, KINDS.len(), 40);
    let da: Vec<&str> = a.steps.iter().map(|s| s.desc.as_str()).collect();
    let db: Vec<&str> = b.steps.iter().map(|s| s.desc.as_str()).collect();
    assert_eq!(da, db);
    assert_eq!(a.configs, b.configs);
    assert_eq!(a.kinds().len(), KINDS.len(), "{:?}", a.kinds());
    let c = plan(CI_SEED + 1, KINDS.len(), 40);
    assert_ne!(
        da,
        c.steps.iter().map(|s| s.desc.as_str()).collect::<Vec<_>>()
    );
    // The strict-restart plan restarts the child with both sorry servers in use.
    let p = plan_of(
        3,
        &[
            Kind::SorryAll,
            Kind::Quorum,
            Kind::KillChild,
            Kind::StopChild,
            Kind::KillChild,
        ],
        40,
    );
    let kinds: Vec<Kind> = p.steps.iter().skip(1).map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::SorryAll,
            Kind::Quorum,
            Kind::KillChild,
            Kind::StopChild,
            Kind::KillChild
        ]
    );
    for st in &p.steps[3..] {
        assert!(
            st.expected
                .contains(&"-a -t 192.0.2.4:80 -r 198.51.100.99:80 -m -w 1".to_string()),
            "{:#?}",
            st.expected
        );
        assert!(
            st.expected
                .contains(&"-a -t 192.0.2.5:80 -r 198.51.100.98:80 -m -w 1".to_string()),
            "{:#?}",
            st.expected
        );
        assert_eq!(st.soft.len(), 2, "{:#?}", st.soft);
    }
    assert_eq!(
        proc_token("-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 3").as_deref(),
        Some("C0000201:0050>C633640B:0050/3")
    );
    assert_eq!(
        proc_token("-A -t 192.0.2.10:80 -s wrr").as_deref(),
        Some("C000020A:0050/wrr")
    );
    // Any seed covers every kind too.
    for seed in 0..50 {
        let p = plan(seed, 5, 40);
        assert_eq!(p.kinds().len(), KINDS.len(), "seed {seed}: {:?}", p.kinds());
    }
}

/// The model's table for the initial configuration, and the quorum / sorry /
/// inhibit rules, against literal `ipvsadm -Sn` lines.
#[test]
fn model_table_literal() {
    let mut m = Model::initial();
    let t = m.table();
    assert!(
        t.contains(&"-a -t 192.0.2.5:80 -r 198.51.100.98:80 -m -w 0".to_string()),
        "{t:#?}"
    );
    assert!(t.contains(&"-a -t 192.0.2.1:80 -r 198.51.100.13:80 -m -w 3".to_string()));
    assert!(!t.iter().any(|l| l.contains("198.51.100.99")));
    assert_eq!(t.len(), 6 + 3 + 3 + 2 + 2 + 3 + 1 + 2);
    // Backend 3 down: gone from the TCP VS, weight 0 in the inhibit VS.
    m.be[2] = Backend::DOWN;
    let t = m.table();
    assert!(!t
        .iter()
        .any(|l| l.starts_with("-a -t 192.0.2.1:80 -r 198.51.100.13:80")));
    assert!(t.contains(&"-a -t 192.0.2.2:80 -r 198.51.100.13:80 -m -w 0".to_string()));
    // Sorry VS: both down → only the sorry server.
    m.be[5] = Backend::DOWN;
    m.be[6] = Backend::DOWN;
    let t = m.table();
    let vs4: Vec<&String> = t.iter().filter(|l| l.contains("192.0.2.4:80")).collect();
    assert_eq!(
        vs4,
        [
            "-A -t 192.0.2.4:80 -s rr",
            "-a -t 192.0.2.4:80 -r 198.51.100.99:80 -m -w 1"
        ]
    );
    // Quorum VS (quorum 4; b7 down leaves b1 2 + b8 3 = 5): up.
    assert!(t.contains(&"-a -t 192.0.2.5:80 -r 198.51.100.18:80 -m -w 3".to_string()));
    // b8 down too: 2 < 4 → the alive b1 is removed, the sorry server gets weight 1.
    m.be[7] = Backend::DOWN;
    let t = m.table();
    let vs5: Vec<&String> = t.iter().filter(|l| l.contains("192.0.2.5:80")).collect();
    assert_eq!(
        vs5,
        [
            "-A -t 192.0.2.5:80 -s wrr",
            "-a -t 192.0.2.5:80 -r 198.51.100.98:80 -m -w 1"
        ]
    );
    // HTTP 404 only fails HTTP_GET, not TCP_CHECK.
    let mut m = Model::initial();
    m.be[0].page = false;
    let t = m.table();
    assert!(t.contains(&"-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 1".to_string()));
    assert!(!t
        .iter()
        .any(|l| l.starts_with("-a -t 192.0.2.5:80 -r 198.51.100.11:80")));
}

/// Every configuration of the CI plan (and of a longer one) is accepted by
/// keepalived 2.2.7's config test. Host only, no daemon started.
#[test]
fn plan_configs_pass_keepalived_config_test() {
    if !Path::new("/usr/sbin/keepalived").exists() {
        eprintln!("skipped: keepalived 2.2.7 not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut all = plan(CI_SEED, KINDS.len(), 40).configs;
    all.extend(plan(7, 60, 40).configs);
    for (i, text) in all.iter().enumerate() {
        let p = dir.path().join(format!("{i}.conf"));
        std::fs::write(&p, text).unwrap();
        let out = std::process::Command::new("/usr/sbin/keepalived")
            .arg("-t")
            .arg("-f")
            .arg(&p)
            .output()
            .unwrap();
        let msg = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "config {i}: {msg}\n{text}");
    }
}
