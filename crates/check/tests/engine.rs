//! Checker and quorum behaviour with literal timings, driven through the
//! public `Engine` API the way the checker daemon drives it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use keepalived_check::checker::{CheckKind, CheckerConfig, MiscExit, ProbeFailure, ProbeOutcome};
use keepalived_check::http::UrlSuccess;
use keepalived_check::pool::{
    Action, CheckerId, DesiredDest, Engine, Notify, RealServerConfig, SorryServerConfig,
    VirtualServerConfig,
};
use keepalived_check::service::{Proto, RsAddr, VsName};
use keepalived_check::time::Millis;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn vs_name() -> VsName {
    VsName::Addr(RsAddr {
        addr: sa("203.0.113.10:80"),
        proto: Proto::Tcp,
    })
}

fn tcp(retry: u32, dbr: u64, timeout: u64, delay_loop: u64) -> CheckerConfig {
    CheckerConfig {
        kind: CheckKind::Tcp,
        connect_timeout: Duration::from_secs(timeout),
        retry,
        delay_before_retry: Duration::from_secs(dbr),
        delay_loop: Duration::from_secs(delay_loop),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    }
}

fn rs(addr: &str, weight: u32, checkers: Vec<CheckerConfig>) -> RealServerConfig {
    RealServerConfig {
        addr: sa(addr),
        weight,
        inhibit_on_failure: false,
        checkers,
    }
}

fn vs(real_servers: Vec<RealServerConfig>) -> VirtualServerConfig {
    VirtualServerConfig {
        name: vs_name(),
        proto: Proto::Tcp,
        quorum: 1,
        hysteresis: 0,
        ha_suspend: false,
        omega: false,
        sorry_server: None,
        real_servers,
    }
}

/// How a simulated backend answers a probe started at a given time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    /// Immediate success.
    Ok,
    /// Immediate refusal (RST).
    Refused,
    /// No answer: the checker's deadline passes.
    Silent,
    /// MISC script exit code.
    Exit(u8),
}

type Behaviour = Box<dyn Fn(CheckerId, Millis) -> Answer>;

/// A log of (time, line) and a record of notifications; drives the engine
/// until `until`.
struct Sim {
    engine: Engine,
    logs: Vec<(Millis, String)>,
    notifies: Vec<(Millis, Notify)>,
    behaviour: Behaviour,
    probes: Vec<(Millis, CheckerId)>,
}

impl Sim {
    fn new(cfgs: Vec<VirtualServerConfig>, behaviour: Behaviour) -> Sim {
        Sim::with_vip(cfgs, behaviour, &|_| true)
    }

    fn with_vip(
        cfgs: Vec<VirtualServerConfig>,
        behaviour: Behaviour,
        vip: &dyn Fn(usize) -> bool,
    ) -> Sim {
        let (engine, actions) = Engine::new(cfgs, Millis::ZERO, &mut |_| Duration::ZERO, vip);
        let mut s = Sim {
            engine,
            logs: Vec::new(),
            notifies: Vec::new(),
            behaviour,
            probes: Vec::new(),
        };
        s.absorb(Millis::ZERO, actions);
        s
    }

    fn absorb(&mut self, now: Millis, actions: Vec<Action>) {
        let mut queue = actions;
        while !queue.is_empty() {
            let mut next = Vec::new();
            for a in queue {
                match a {
                    Action::Log(l) => self.logs.push((now, l.0)),
                    Action::Notify(n) => self.notifies.push((now, n)),
                    Action::StartProbe { id, probe } => {
                        self.probes.push((now, id));
                        let outcome = match (self.behaviour)(id, now) {
                            Answer::Ok => Some(ProbeOutcome::Success(Some(UrlSuccess::StatusCode))),
                            Answer::Refused => {
                                Some(ProbeOutcome::Failure(ProbeFailure::ConnectFailed))
                            }
                            Answer::Exit(c) => Some(ProbeOutcome::Misc(MiscExit::Exited(c))),
                            Answer::Silent => None,
                        };
                        if let Some(o) = outcome {
                            next.extend(self.engine.on_result(now, id, probe.token, o));
                        }
                    }
                    Action::AbortProbe { .. } | Action::TableChanged { .. } => {}
                }
            }
            queue = next;
        }
    }

    fn run_until(&mut self, until: Millis) {
        while let Some(t) = self.engine.next_wakeup() {
            if t > until {
                break;
            }
            let a = self.engine.on_timer(t);
            self.absorb(t, a);
        }
    }

    fn lines(&self) -> Vec<String> {
        self.logs.iter().map(|(t, l)| format!("{t} {l}")).collect()
    }

    fn lines_from(&self, from: Millis) -> Vec<String> {
        self.logs
            .iter()
            .filter(|(t, _)| *t >= from)
            .map(|(t, l)| format!("{t} {l}"))
            .collect()
    }
}

fn down_between(from: u64, to: u64) -> Behaviour {
    Box::new(move |_, now| {
        if now >= Millis::from_secs(from) && now < Millis::from_secs(to) {
            Answer::Silent
        } else {
            Answer::Ok
        }
    })
}

#[test]
fn tcp_retry_3_dbr_2_timeout_3_removed_at_49s_and_readded_at_64s() {
    // delay_loop 10 s. Checks at 1, 11, 21, 31 s (first at BOOTSTRAP 1 s,
    // warmup jitter 0). The backend goes silent at 30 s: the 31 s probe
    // times out at 34 s, retries start at 36, 41, 46 s and time out at
    // 39, 44, 49 s; after the 3rd retry the server is removed at 49 s.
    // It answers again from 60 s: the 59 s probe times out at 62 s, the
    // TCP retry at 64 s succeeds and the server is re-added at 64 s.
    let mut s = Sim::new(
        vec![vs(vec![rs("192.0.2.1:80", 1, vec![tcp(3, 2, 3, 10)])])],
        down_between(30, 60),
    );
    s.run_until(Millis::from_secs(70));
    assert_eq!(
        s.lines(),
        vec![
            "0.000s Gained quorum 1+0=1 <= 1 for VS [203.0.113.10]:tcp:80",
            "0.000s Activating healthchecker for service [192.0.2.1]:tcp:80 for VS [203.0.113.10]:tcp:80",
            "1.000s TCP connection to [192.0.2.1]:tcp:80 success.",
            "49.000s TCP_CHECK on service [192.0.2.1]:tcp:80 failed after 3 retries.",
            "49.000s Removing service [192.0.2.1]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "49.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
            "64.000s TCP connection to [192.0.2.1]:tcp:80 success.",
            "64.000s Adding service [192.0.2.1]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "64.000s Gained quorum 1+0=1 <= 1 for VS [203.0.113.10]:tcp:80",
        ]
    );
    let probe_times: Vec<u64> = s.probes.iter().map(|(t, _)| t.0).collect();
    assert_eq!(
        probe_times,
        vec![1000, 11000, 21000, 31000, 36000, 41000, 46000, 59000, 64000]
    );
    assert_eq!(
        s.notifies,
        vec![
            (Millis(0), Notify::QuorumUp { vs: 0 }),
            (Millis(49000), Notify::RsDown { vs: 0, rs: 0 }),
            (Millis(49000), Notify::QuorumDown { vs: 0 }),
            (Millis(64000), Notify::RsUp { vs: 0, rs: 0 }),
            (Millis(64000), Notify::QuorumUp { vs: 0 }),
        ]
    );
}

#[test]
fn first_failure_at_startup_is_final() {
    // keepalived sets retry_it = retry at start: a dead backend is removed
    // after its first probe, 1 s + connect_timeout 3 s = 4 s, without retries.
    let mut s = Sim::new(
        vec![vs(vec![rs("192.0.2.1:80", 1, vec![tcp(3, 2, 3, 10)])])],
        Box::new(|_, _| Answer::Silent),
    );
    s.run_until(Millis::from_secs(5));
    assert_eq!(
        s.lines_from(Millis(1)),
        vec![
            "4.000s TCP_CHECK on service [192.0.2.1]:tcp:80 failed.",
            "4.000s Removing service [192.0.2.1]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "4.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
        ]
    );
    assert_eq!(
        s.engine.desired_table(0),
        vec![DesiredDest {
            addr: sa("192.0.2.1:80"),
            weight: 0,
            present: false,
            sorry: false
        }]
    );
}

#[test]
fn alpha_starts_down_and_is_added_on_first_success() {
    let mut c = tcp(1, 1, 5, 60);
    c.alpha = true;
    let mut s = Sim::new(
        vec![vs(vec![rs("192.0.2.2:80", 3, vec![c])])],
        Box::new(|_, _| Answer::Ok),
    );
    assert!(!s.engine.rs_alive(0, 0));
    assert!(!s.engine.desired_table(0)[0].present);
    s.run_until(Millis::from_secs(2));
    assert_eq!(
        s.lines(),
        vec![
            "0.000s Activating healthchecker for service [192.0.2.2]:tcp:80 for VS [203.0.113.10]:tcp:80",
            "1.000s TCP connection to [192.0.2.2]:tcp:80 success.",
            "1.000s Adding service [192.0.2.2]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "1.000s Gained quorum 1+0=1 <= 3 for VS [203.0.113.10]:tcp:80",
        ]
    );
    assert_eq!(
        s.engine.desired_table(0),
        vec![DesiredDest {
            addr: sa("192.0.2.2:80"),
            weight: 3,
            present: true,
            sorry: false
        }]
    );
}

#[test]
fn alpha_with_inhibit_is_present_with_weight_0() {
    let mut c = tcp(1, 1, 5, 60);
    c.alpha = true;
    let mut r = rs("192.0.2.2:80", 3, vec![c]);
    r.inhibit_on_failure = true;
    let mut s = Sim::new(
        vec![vs(vec![r])],
        Box::new(|_, now| {
            if now < Millis::from_secs(30) {
                Answer::Refused
            } else {
                Answer::Ok
            }
        }),
    );
    assert_eq!(
        s.engine.desired_table(0)[0],
        DesiredDest {
            addr: sa("192.0.2.2:80"),
            weight: 0,
            present: true,
            sorry: false
        }
    );
    s.run_until(Millis::from_secs(70));
    // Probes at 1 s (refused: keepalived logs the failure of a checker that
    // has never run, even in alpha mode) and 61 s (ok).
    assert_eq!(
        s.lines_from(Millis(1)),
        vec![
            "1.000s TCP_CHECK on service [192.0.2.2]:tcp:80 failed.",
            "61.000s TCP connection to [192.0.2.2]:tcp:80 success.",
            "61.000s Enabling service [192.0.2.2]:tcp:80 of VS [203.0.113.10]:tcp:80",
            "61.000s Gained quorum 1+0=1 <= 3 for VS [203.0.113.10]:tcp:80",
        ]
    );
    assert_eq!(s.engine.desired_table(0)[0].weight, 3);
}

#[test]
fn inhibit_on_failure_disables_instead_of_removing() {
    let mut r = rs("192.0.2.3:80", 2, vec![tcp(0, 1, 2, 5)]);
    r.inhibit_on_failure = true;
    let mut s = Sim::new(vec![vs(vec![r])], down_between(10, 1000));
    s.run_until(Millis::from_secs(12));
    // Checks at 1, 6, 11 s; the 11 s probe times out at 13 s... not yet.
    s.run_until(Millis::from_secs(13));
    assert_eq!(
        s.lines_from(Millis::from_secs(2)),
        vec![
            "13.000s TCP_CHECK on service [192.0.2.3]:tcp:80 failed.",
            "13.000s Disabling service [192.0.2.3]:tcp:80 of VS [203.0.113.10]:tcp:80",
            "13.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
        ]
    );
    assert_eq!(
        s.engine.desired_table(0),
        vec![DesiredDest {
            addr: sa("192.0.2.3:80"),
            weight: 0,
            present: true,
            sorry: false
        }]
    );
}

#[test]
fn quorum_hysteresis_and_sorry_server() {
    // Three servers of weight 1, quorum 2, hysteresis 1, a sorry server.
    // Gain needs 2+1=3, loss happens below 2-1=1 (i.e. at 0).
    let mut v = vs(vec![
        rs("192.0.2.11:80", 1, vec![tcp(0, 1, 1, 10)]),
        rs("192.0.2.12:80", 1, vec![tcp(0, 1, 1, 10)]),
        rs("192.0.2.13:80", 1, vec![tcp(0, 1, 1, 10)]),
    ]);
    v.quorum = 2;
    v.hysteresis = 1;
    v.sorry_server = Some(SorryServerConfig {
        addr: sa("198.51.100.9:80"),
        weight: 1,
        inhibit: false,
    });
    // Server i (0-based) is refused from 20+10*i s until 60+10*i s.
    let down: HashMap<usize, (u64, u64)> = [(0, (20, 60)), (1, (30, 70)), (2, (40, 80))].into();
    let mut s = Sim::new(
        vec![v],
        Box::new(move |id, now| {
            let (a, b) = down[&id.rs];
            if now >= Millis::from_secs(a) && now < Millis::from_secs(b) {
                Answer::Refused
            } else {
                Answer::Ok
            }
        }),
    );
    assert_eq!(
        s.lines()[0],
        "0.000s Gained quorum 2+1=3 <= 3 for VS [203.0.113.10]:tcp:80"
    );
    s.run_until(Millis::from_secs(100));
    assert_eq!(
        s.lines_from(Millis(1)),
        vec![
            "1.000s TCP connection to [192.0.2.11]:tcp:80 success.",
            "1.000s TCP connection to [192.0.2.12]:tcp:80 success.",
            "1.000s TCP connection to [192.0.2.13]:tcp:80 success.",
            "21.000s TCP_CHECK on service [192.0.2.11]:tcp:80 failed.",
            "21.000s Removing service [192.0.2.11]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "31.000s TCP_CHECK on service [192.0.2.12]:tcp:80 failed.",
            "31.000s Removing service [192.0.2.12]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "41.000s TCP_CHECK on service [192.0.2.13]:tcp:80 failed.",
            "41.000s Removing service [192.0.2.13]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "41.000s Lost quorum 2-1=1 > 0 for VS [203.0.113.10]:tcp:80",
            "41.000s Adding sorry server [198.51.100.9]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "41.000s Removing alive servers from the pool for VS [203.0.113.10]:tcp:80",
            "61.000s TCP connection to [192.0.2.11]:tcp:80 success.",
            "61.000s Adding service [192.0.2.11]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "71.000s TCP connection to [192.0.2.12]:tcp:80 success.",
            "71.000s Adding service [192.0.2.12]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "81.000s TCP connection to [192.0.2.13]:tcp:80 success.",
            "81.000s Adding service [192.0.2.13]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "81.000s Gained quorum 2+1=3 <= 3 for VS [203.0.113.10]:tcp:80",
            "81.000s Removing sorry server [198.51.100.9]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "81.000s Adding alive servers to the pool for VS [203.0.113.10]:tcp:80",
        ]
    );
    assert!(s.engine.quorum_up(0));
    let t = s.engine.desired_table(0);
    assert!(t[..3].iter().all(|d| d.present && d.weight == 1));
    assert!(!t[3].present && t[3].sorry);
}

#[test]
fn sorry_server_table_while_quorum_down() {
    let mut v = vs(vec![
        rs("192.0.2.21:80", 1, vec![tcp(0, 1, 1, 10)]),
        rs("192.0.2.22:80", 1, vec![tcp(0, 1, 1, 10)]),
    ]);
    v.quorum = 2;
    v.sorry_server = Some(SorryServerConfig {
        addr: sa("198.51.100.9:8080"),
        weight: 1,
        inhibit: true,
    });
    // Server 0 is always down: after 1 s the sum is 1 < 2.
    let mut s = Sim::new(
        vec![v],
        Box::new(|id, _| {
            if id.rs == 0 {
                Answer::Refused
            } else {
                Answer::Ok
            }
        }),
    );
    // Inhibited sorry server is configured with weight 0 from the start.
    assert_eq!(
        s.engine.desired_table(0)[2],
        DesiredDest {
            addr: sa("198.51.100.9:8080"),
            weight: 0,
            present: true,
            sorry: true
        }
    );
    s.run_until(Millis::from_secs(2));
    assert!(s.lines().contains(
        &"1.000s Enabling sorry server [198.51.100.9]:tcp:8080 to VS [203.0.113.10]:tcp:80"
            .to_string()
    ));
    assert_eq!(
        s.engine.desired_table(0),
        vec![
            DesiredDest {
                addr: sa("192.0.2.21:80"),
                weight: 0,
                present: false,
                sorry: false
            },
            // Alive, but pulled from the pool while the sorry server serves.
            DesiredDest {
                addr: sa("192.0.2.22:80"),
                weight: 0,
                present: false,
                sorry: false
            },
            DesiredDest {
                addr: sa("198.51.100.9:8080"),
                weight: 1,
                present: true,
                sorry: true
            },
        ]
    );
}

#[test]
fn starting_with_quorum_down_uses_sorry_server_at_once() {
    let mut c = tcp(0, 1, 1, 10);
    c.alpha = true;
    let mut v = vs(vec![rs("192.0.2.31:80", 1, vec![c])]);
    v.sorry_server = Some(SorryServerConfig {
        addr: sa("198.51.100.9:80"),
        weight: 1,
        inhibit: false,
    });
    let s = Sim::new(vec![v], Box::new(|_, _| Answer::Refused));
    assert_eq!(
        &s.lines()[..3],
        &[
            "0.000s Starting with quorum down 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
            "0.000s Adding sorry server [198.51.100.9]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "0.000s Removing alive servers from the pool for VS [203.0.113.10]:tcp:80",
        ]
    );
    assert!(s.engine.desired_table(0)[1].present);
}

#[test]
fn all_checkers_must_pass() {
    let r = rs("192.0.2.41:80", 1, vec![tcp(0, 1, 1, 10), tcp(0, 1, 1, 10)]);
    let mut s = Sim::new(
        vec![vs(vec![r])],
        Box::new(|id, now| {
            if id.checker == 1 && now >= Millis::from_secs(5) && now < Millis::from_secs(25) {
                Answer::Refused
            } else {
                Answer::Ok
            }
        }),
    );
    s.run_until(Millis::from_secs(35));
    assert_eq!(
        s.lines_from(Millis::from_secs(2)),
        vec![
            "11.000s TCP_CHECK on service [192.0.2.41]:tcp:80 failed.",
            "11.000s Removing service [192.0.2.41]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "11.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
            // Probes at 21 s (still refused) and 31 s: retry 0, so no
            // delay_before_retry probes in between.
            "31.000s TCP connection to [192.0.2.41]:tcp:80 success.",
            "31.000s Adding service [192.0.2.41]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "31.000s Gained quorum 1+0=1 <= 1 for VS [203.0.113.10]:tcp:80",
        ]
    );
}

fn misc(retry: u32, dynamic: bool) -> CheckerConfig {
    CheckerConfig {
        kind: CheckKind::Misc {
            script: "/usr/local/bin/check.sh".into(),
            dynamic,
        },
        connect_timeout: Duration::from_secs(5),
        retry,
        delay_before_retry: Duration::from_secs(1),
        delay_loop: Duration::from_secs(10),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    }
}

#[test]
fn misc_dynamic_weight_from_exit_code() {
    // Exit 0 at 1 s, exit 7 (weight 5) at 11 s, exit 2 (weight 0) at 21 s,
    // exit 1 (failure) at 31 s.
    let codes: HashMap<u64, u8> = [(1, 0), (11, 7), (21, 2), (31, 1)].into();
    let mut s = Sim::new(
        vec![vs(vec![rs("192.0.2.51:80", 1, vec![misc(0, true)])])],
        Box::new(move |_, now| Answer::Exit(codes[&(now.0 / 1000)])),
    );
    s.run_until(Millis::from_secs(32));
    assert_eq!(
        s.lines_from(Millis(1)),
        vec![
            "1.000s Misc check for [[192.0.2.51]:tcp:80 VS [203.0.113.10]:tcp:80] by [/usr/local/bin/check.sh] succeeded.",
            "11.000s Changing weight from 1 to 5 for active service [192.0.2.51]:tcp:80 of VS [203.0.113.10]:tcp:80",
            "21.000s Changing weight from 5 to 0 for active service [192.0.2.51]:tcp:80 of VS [203.0.113.10]:tcp:80",
            "21.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
            "31.000s Misc check for [[192.0.2.51]:tcp:80 VS [203.0.113.10]:tcp:80] by [/usr/local/bin/check.sh] failed with retry disabled (exited with status 1).",
            "31.000s Removing service [192.0.2.51]:tcp:80 from VS [203.0.113.10]:tcp:80",
        ]
    );
}

#[test]
fn misc_without_dynamic_treats_2_as_failure_and_times_out() {
    let mut s = Sim::new(
        vec![vs(vec![rs("192.0.2.52:80", 1, vec![misc(2, false)])])],
        Box::new(|_, now| {
            if now < Millis::from_secs(10) {
                Answer::Ok
            } else {
                Answer::Silent
            }
        }),
    );
    // 1 s ok; 11 s silent → misc_timeout 5 s → "timed out" at 16 s, retry 1
    // s after the *start* (12 s would be before 16 s, so at once: 16 s),
    // timed out 21 s, retry at 21 s, timed out 26 s → final.
    s.run_until(Millis::from_secs(27));
    let probe_times: Vec<u64> = s.probes.iter().map(|(t, _)| t.0).collect();
    assert_eq!(probe_times, vec![1000, 11000, 16000, 21000]);
    assert_eq!(
        s.lines_from(Millis::from_secs(2)),
        vec![
            "26.000s Misc check for [[192.0.2.52]:tcp:80 VS [203.0.113.10]:tcp:80] by [/usr/local/bin/check.sh] timed out after 2 retries.",
            "26.000s Removing service [192.0.2.52]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "26.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
        ]
    );
}

fn http(paths: &[&str], retry: u32) -> CheckerConfig {
    CheckerConfig {
        kind: CheckKind::Http {
            ssl: false,
            paths: paths.iter().map(|p| p.to_string()).collect(),
        },
        connect_timeout: Duration::from_secs(3),
        retry,
        delay_before_retry: Duration::from_secs(3),
        delay_loop: Duration::from_secs(6),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    }
}

#[test]
fn http_failure_and_two_step_recovery() {
    // retry 1, delay_before_retry 3 s, delay_loop 6 s, connect_timeout 3 s.
    // 1 s ok ("Remote Web server ... succeed"), 7 s ok, 13 s refused →
    // retry at 16 s refused → down at 16 s. Down: next at 16+max(3,6)=22 s
    // refused, 28 s ok (url success logged, then a full pass is needed),
    // 34 s ok → up.
    let mut s = Sim::new(
        vec![vs(vec![rs(
            "192.0.2.61:80",
            1,
            vec![http(&["/health"], 1)],
        )])],
        Box::new(|_, now| {
            if now >= Millis::from_secs(12) && now < Millis::from_secs(25) {
                Answer::Refused
            } else {
                Answer::Ok
            }
        }),
    );
    s.run_until(Millis::from_secs(35));
    let probe_times: Vec<u64> = s.probes.iter().map(|(t, _)| t.0 / 1000).collect();
    assert_eq!(probe_times, vec![1, 7, 13, 16, 22, 28, 34]);
    assert_eq!(
        s.lines_from(Millis(1)),
        vec![
            "1.000s Remote Web server [192.0.2.61]:tcp:80 succeed on service.",
            "16.000s HTTP_CHECK on service [192.0.2.61]:tcp:80 failed after 1 retries.",
            "16.000s Removing service [192.0.2.61]:tcp:80 from VS [203.0.113.10]:tcp:80",
            "16.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
            "28.000s HTTP status code success to [192.0.2.61]:tcp:80 url(/health)",
            "34.000s HTTP status code success to [192.0.2.61]:tcp:80 url(/health)",
            "34.000s Remote Web server [192.0.2.61]:tcp:80 succeed on service.",
            "34.000s Adding service [192.0.2.61]:tcp:80 to VS [203.0.113.10]:tcp:80",
            "34.000s Gained quorum 1+0=1 <= 1 for VS [203.0.113.10]:tcp:80",
        ]
    );
}

#[test]
fn http_urls_are_checked_in_turn() {
    let mut s = Sim::new(
        vec![vs(vec![rs(
            "192.0.2.62:80",
            1,
            vec![http(&["/a", "/b"], 0)],
        )])],
        Box::new(|_, _| Answer::Ok),
    );
    let mut urls = Vec::new();
    for _ in 0..4 {
        let t = s.engine.next_wakeup().unwrap();
        for a in s.engine.on_timer(t) {
            if let Action::StartProbe { id, probe } = a {
                urls.push(probe.url);
                s.engine
                    .on_result(t, id, probe.token, ProbeOutcome::Success(None));
            }
        }
    }
    assert_eq!(urls, vec![0, 1, 0, 1]);
}

#[test]
fn stale_and_unknown_results_are_ignored() {
    let (mut e, _) = Engine::new(
        vec![vs(vec![rs("192.0.2.71:80", 1, vec![tcp(0, 1, 1, 10)])])],
        Millis::ZERO,
        &mut |_| Duration::ZERO,
        &|_| true,
    );
    let id = CheckerId {
        vs: 0,
        rs: 0,
        checker: 0,
    };
    assert!(e
        .on_result(Millis(10), id, 99, ProbeOutcome::Failure(ProbeFailure::Io))
        .is_empty());
    let bad = CheckerId {
        vs: 5,
        rs: 0,
        checker: 0,
    };
    assert!(e
        .on_result(Millis(10), bad, 1, ProbeOutcome::Success(None))
        .is_empty());
    let a = e.on_timer(Millis(1000));
    let Some(Action::StartProbe { probe, .. }) = a.first() else {
        panic!("{a:?}")
    };
    assert_eq!(probe.deadline, Millis(2000));
    // Deadline passes: an abort and the failure.
    let a = e.on_timer(Millis(2000));
    assert!(a.contains(&Action::AbortProbe {
        id,
        token: probe.token
    }));
    // The late answer is ignored.
    assert!(e
        .on_result(Millis(2001), id, probe.token, ProbeOutcome::Success(None))
        .is_empty());
}

#[test]
fn ha_suspend_disables_checkers_until_vip_present() {
    let mut v = vs(vec![rs("192.0.2.81:80", 1, vec![tcp(0, 1, 1, 10)])]);
    v.ha_suspend = true;
    let mut s = Sim::with_vip(vec![v], Box::new(|_, _| Answer::Refused), &|_| false);
    assert_eq!(
        s.lines()[1],
        "0.000s Deactivating healthchecker for service [192.0.2.81]:tcp:80 for VS [203.0.113.10]:tcp:80"
    );
    s.run_until(Millis::from_secs(30));
    assert!(s.probes.is_empty(), "no probes while suspended");
    let a = s.engine.vip_event(0, true);
    s.absorb(Millis::from_secs(30), a);
    s.run_until(Millis::from_secs(42));
    assert_eq!(
        s.lines_from(Millis::from_secs(30))[0],
        "30.000s Activating healthchecker for service [192.0.2.81]:tcp:80 for VS [203.0.113.10]:tcp:80"
    );
    // The disabled checker kept its 10 s rhythm: probes at 31 s and 41 s.
    let probe_times: Vec<u64> = s.probes.iter().map(|(t, _)| t.0).collect();
    assert_eq!(probe_times, vec![31000, 41000]);
    let a = s.engine.vip_event(0, false);
    assert_eq!(
        a,
        vec![Action::Log(keepalived_check::log::LogLine(
            "Suspending healthchecker for service [192.0.2.81]:tcp:80 for VS [203.0.113.10]:tcp:80"
                .into()
        ))]
    );
}

#[test]
fn warmup_jitter_delays_first_check() {
    let mut c = tcp(0, 1, 1, 10);
    c.warmup = Duration::from_secs(10);
    let (e, _) = Engine::new(
        vec![vs(vec![rs("192.0.2.91:80", 1, vec![c])])],
        Millis::from_secs(100),
        &mut |w| w / 2,
        &|_| true,
    );
    // 100 s + BOOTSTRAP 1 s + 5 s jitter.
    assert_eq!(e.next_wakeup(), Some(Millis::from_secs(106)));
}

#[test]
fn omega_shutdown_notifies() {
    let mut v = vs(vec![rs("192.0.2.95:80", 1, vec![tcp(0, 1, 1, 10)])]);
    v.omega = true;
    let (e, _) = Engine::new(
        vec![v, vs(vec![])],
        Millis::ZERO,
        &mut |_| Duration::ZERO,
        &|_| true,
    );
    assert_eq!(
        e.shutdown(),
        vec![
            Action::Notify(Notify::RsDown { vs: 0, rs: 0 }),
            Action::Notify(Notify::QuorumDown { vs: 0 })
        ]
    );
}

/// Runs one checker of kind `kind` through outcomes at the given times and
/// returns the log lines with their times.
fn run_outcomes(kind: CheckKind, retry: u32, outcomes: &[ProbeOutcome]) -> Vec<String> {
    let c = CheckerConfig {
        kind,
        connect_timeout: Duration::from_secs(2),
        retry,
        delay_before_retry: Duration::from_secs(1),
        delay_loop: Duration::from_secs(5),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    };
    let (mut e, _) = Engine::new(
        vec![vs(vec![rs("192.0.2.100:25", 1, vec![c])])],
        Millis::ZERO,
        &mut |_| Duration::ZERO,
        &|_| true,
    );
    let mut lines = Vec::new();
    for o in outcomes {
        let t = e.next_wakeup().unwrap();
        for a in e.on_timer(t) {
            if let Action::StartProbe { id, probe } = a {
                for a in e.on_result(t, id, probe.token, o.clone()) {
                    if let Action::Log(l) = a {
                        lines.push(format!("{t} {l}"));
                    }
                }
            }
        }
    }
    lines
}

#[test]
fn smtp_dns_udp_ping_wording() {
    use keepalived_check::dns::DnsFailure;
    use keepalived_check::smtp::SmtpFailure;
    let ok = ProbeOutcome::Success(None);
    let smtp = run_outcomes(
        CheckKind::Smtp {
            server: sa("192.0.2.100:25"),
        },
        1,
        &[
            ok.clone(),
            ProbeOutcome::Failure(ProbeFailure::Smtp(SmtpFailure::BadBanner)),
            ProbeOutcome::Failure(ProbeFailure::Smtp(SmtpFailure::BadHelo)),
            ok.clone(),
        ],
    );
    assert_eq!(
        smtp,
        vec![
            "1.000s Remote SMTP server [192.0.2.100]:tcp:25 succeed on service.",
            // 6 s: first failure, retry 1 → silent retry at 7 s.
            "7.000s SMTP_CHECK Bad HELO response from server [192.0.2.100]:25",
            "7.000s Removing service [192.0.2.100]:tcp:25 from VS [203.0.113.10]:tcp:80",
            "7.000s Lost quorum 1-0=1 > 0 for VS [203.0.113.10]:tcp:80",
            "12.000s Remote SMTP server [192.0.2.100]:tcp:25 succeed on service.",
            "12.000s Adding service [192.0.2.100]:tcp:25 to VS [203.0.113.10]:tcp:80",
            "12.000s Gained quorum 1+0=1 <= 1 for VS [203.0.113.10]:tcp:80",
        ]
    );
    let dns = run_outcomes(
        CheckKind::Dns,
        3,
        &[ProbeOutcome::Failure(ProbeFailure::Dns(DnsFailure::Rcode(
            2,
        )))],
    );
    assert_eq!(
        dns[0],
        "1.000s DNS_CHECK ([192.0.2.100]:tcp:25) read error occurred. (rcode = 2)"
    );
    let udp = run_outcomes(
        CheckKind::Udp,
        0,
        &[
            ok.clone(),
            ProbeOutcome::Failure(ProbeFailure::ReplyMismatch),
        ],
    );
    assert_eq!(
        &udp[..2],
        &[
            "1.000s UDP connection to [192.0.2.100]:tcp:25 success.",
            "6.000s UDP_CHECK on service [192.0.2.100]:tcp:25 failed.",
        ]
    );
    let ping = run_outcomes(
        CheckKind::Ping,
        1,
        &[
            ok,
            ProbeOutcome::Failure(ProbeFailure::Timeout),
            ProbeOutcome::Failure(ProbeFailure::Timeout),
        ],
    );
    assert_eq!(
        &ping[..2],
        &[
            "1.000s ICMP connection to [192.0.2.100]:tcp:25 success.",
            "7.000s ICMP CHECK on service [192.0.2.100]:tcp:25 of [203.0.113.10]:tcp:80 failed after 1 retries.",
        ]
    );
}

fn three_rs_vs(w0: u32) -> VirtualServerConfig {
    vs(vec![
        rs("192.0.2.111:80", w0, vec![tcp(1, 1, 2, 10)]),
        rs("192.0.2.112:80", 1, vec![tcp(1, 1, 2, 10)]),
        rs("192.0.2.113:80", 1, vec![tcp(1, 1, 2, 10)]),
    ])
}

#[test]
fn reload_unchanged_config_changes_nothing() {
    let mut s = Sim::new(
        vec![three_rs_vs(1)],
        Box::new(|id, _| {
            if id.rs == 1 {
                Answer::Refused
            } else {
                Answer::Ok
            }
        }),
    );
    s.run_until(Millis::from_secs(15));
    let before = s.engine.desired_table(0);
    assert!(!before[1].present);
    let next = s.engine.next_wakeup();
    let a = s.engine.reload(
        vec![three_rs_vs(1)],
        Millis::from_secs(15),
        &mut |_| Duration::ZERO,
        &|_| true,
    );
    let logs: Vec<_> = a
        .iter()
        .filter(|a| matches!(a, Action::Log(_) | Action::Notify(_)))
        .collect();
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(s.engine.desired_table(0), before);
    // The schedule is kept too.
    assert_eq!(s.engine.next_wakeup(), next);
    assert!(!s.engine.rs_alive(0, 1));
    assert!(s
        .engine
        .checker(CheckerId {
            vs: 0,
            rs: 1,
            checker: 0
        })
        .unwrap()
        .has_run());
}

#[test]
fn reload_weight_change_removed_server_and_inflight_probe() {
    let (mut e, _) = Engine::new(
        vec![three_rs_vs(1)],
        Millis::ZERO,
        &mut |_| Duration::ZERO,
        &|_| true,
    );
    // Start the 1 s probes and keep them in flight.
    let started: Vec<(CheckerId, u64)> = e
        .on_timer(Millis(1000))
        .into_iter()
        .filter_map(|a| match a {
            Action::StartProbe { id, probe } => Some((id, probe.token)),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 3);
    // New config: first server weight 3, second server gone.
    let new = vs(vec![
        rs("192.0.2.111:80", 3, vec![tcp(1, 1, 2, 10)]),
        rs("192.0.2.113:80", 1, vec![tcp(1, 1, 2, 10)]),
    ]);
    let a = e.reload(vec![new], Millis(1500), &mut |_| Duration::ZERO, &|_| true);
    let lines: Vec<String> = a
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some(l.0.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            "service [192.0.2.112]:tcp:80 no longer exist",
            "Changing weight from 1 to 3 for active service [192.0.2.111]:tcp:80 of VS [203.0.113.10]:tcp:80",
        ]
    );
    assert!(!e.is_in_flight(started[1].1));
    // The third server's probe answers under its old id (rs 2): it lands on
    // rs 1 now. keepalived's migration leaves retry_it = min(old, retry-1)
    // = 0, so this failure only schedules a retry (1 s later).
    let (old_id, token) = started[2];
    assert!(e.is_in_flight(token));
    let a = e.on_result(
        Millis(1600),
        old_id,
        token,
        ProbeOutcome::Failure(ProbeFailure::ConnectFailed),
    );
    assert!(a.is_empty(), "{a:?}");
    let c = e
        .checker(CheckerId {
            vs: 0,
            rs: 1,
            checker: 0,
        })
        .unwrap();
    assert!(c.has_run() && c.in_flight().is_none());
    assert_eq!(c.next_wakeup(), Millis(2600));
    assert!(e.rs_alive(0, 1));
    assert_eq!(e.desired_table(0)[0].weight, 3);
}

#[test]
fn two_thousand_servers_delay_loop_1s() {
    let servers: Vec<RealServerConfig> = (0..2000u32)
        .map(|i| {
            rs(
                &format!("10.{}.{}.{}:80", i >> 16, (i >> 8) & 255, i & 255),
                1,
                vec![tcp(1, 1, 1, 1)],
            )
        })
        .collect();
    let mut s = Sim::new(
        vec![vs(servers)],
        Box::new(|id, _| {
            if id.rs % 3 == 0 {
                Answer::Refused
            } else {
                Answer::Ok
            }
        }),
    );
    let t0 = std::time::Instant::now();
    s.run_until(Millis::from_secs(10));
    let elapsed = t0.elapsed();
    // Up servers: probes at 1..=10 s. Dead ones (every third): first failure
    // at 1 s is final, then down-state TCP retries every 1 s as well.
    assert_eq!(s.probes.len(), 2000 * 10);
    let removed = s
        .lines()
        .iter()
        .filter(|l| l.contains("Removing service"))
        .count();
    assert_eq!(removed, 667);
    eprintln!("20,000 probes simulated in {elapsed:?}");
}

fn file_check(name: &str, weight: i32, reverse: bool, initial: i64) -> CheckerConfig {
    CheckerConfig {
        kind: CheckKind::File {
            name: name.to_string(),
            weight,
            reverse,
            initial,
        },
        ..tcp(1, 1, 5, 60)
    }
}

fn logs(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some(l.0.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn file_check_weight_and_fault() {
    // RS .1 weight 10 with FILE_CHECK weight 1 (file holds 5 at start);
    // RS .2 weight 3 with FILE_CHECK weight 0 (non-zero = fault).
    let cfg = vs(vec![
        rs("192.0.2.1:80", 10, vec![file_check("f", 1, false, 5)]),
        rs("192.0.2.2:80", 3, vec![file_check("g", 0, false, 0)]),
    ]);
    let (mut e, acts) = Engine::new(vec![cfg], Millis::ZERO, &mut |_| Duration::ZERO, &|_| true);
    // No "Activating healthchecker" line for FILE_CHECK, no timer.
    assert!(logs(&acts).iter().all(|l| !l.contains("Activating")));
    assert_eq!(e.next_wakeup(), None);
    assert_eq!(e.track_files(), vec!["f", "g"]);
    let t = e.desired_table(0);
    assert_eq!((t[0].present, t[0].weight), (true, 15));
    assert_eq!((t[1].present, t[1].weight), (true, 3));

    // 5 -> 7: weight 17.
    let a = e.track_file_value("f", 7);
    assert_eq!(
        logs(&a),
        vec!["Changing weight from 15 to 17 for active service [192.0.2.1]:tcp:80 of VS [203.0.113.10]:tcp:80"]
    );
    assert!(a.contains(&Action::TableChanged { vs: 0 }));
    assert_eq!(e.desired_table(0)[0].weight, 17);
    // Same value: nothing.
    assert!(e.track_file_value("f", 7).is_empty());
    // -20: effective -10, IPVS weight 0, still present.
    let a = e.track_file_value("f", -20);
    assert_eq!(
        logs(&a),
        vec!["Changing weight from 17 to 0 for active service [192.0.2.1]:tcp:80 of VS [203.0.113.10]:tcp:80"]
    );
    assert_eq!(
        (e.desired_table(0)[0].present, e.desired_table(0)[0].weight),
        (true, 0)
    );
    // INT_MIN: FAULT, removed.
    let a = e.track_file_value("f", -2_147_483_648);
    assert_eq!(
        logs(&a),
        vec!["Removing service [192.0.2.1]:tcp:80 from VS [203.0.113.10]:tcp:80"]
    );
    assert!(!e.desired_table(0)[0].present);
    assert!(a.contains(&Action::Notify(Notify::RsDown { vs: 0, rs: 0 })));
    // Back to 0: added with its configured weight.
    let a = e.track_file_value("f", 0);
    assert_eq!(
        logs(&a),
        vec!["Adding service [192.0.2.1]:tcp:80 to VS [203.0.113.10]:tcp:80"]
    );
    assert_eq!(
        (e.desired_table(0)[0].present, e.desired_table(0)[0].weight),
        (true, 10)
    );

    // weight 0: 1 = fault, 0 = up again.
    let a = e.track_file_value("g", 1);
    assert_eq!(
        logs(&a),
        vec!["Removing service [192.0.2.2]:tcp:80 from VS [203.0.113.10]:tcp:80"]
    );
    let a = e.track_file_value("g", 0);
    assert_eq!(
        logs(&a),
        vec!["Adding service [192.0.2.2]:tcp:80 to VS [203.0.113.10]:tcp:80"]
    );
    assert_eq!(e.desired_table(0)[1].weight, 3);
    // Unknown name: nothing.
    assert!(e.track_file_value("nope", 9).is_empty());
}

#[test]
fn file_check_fault_at_start_and_reverse() {
    // Fault at start: never added. Reverse weight 2 with value 3: 10 - 6.
    let cfg = vs(vec![
        rs("192.0.2.1:80", 1, vec![file_check("f", 0, false, 4)]),
        rs("192.0.2.2:80", 10, vec![file_check("r", 2, true, 3)]),
    ]);
    let (mut e, _) = Engine::new(
        vec![cfg.clone()],
        Millis::ZERO,
        &mut |_| Duration::ZERO,
        &|_| true,
    );
    assert!(!e.desired_table(0)[0].present);
    assert!(!e.rs_alive(0, 0));
    assert_eq!(e.desired_table(0)[1].weight, 4);
    // Reload with the file now 0 (re-read): the RS comes up.
    let mut cfg2 = cfg;
    cfg2.real_servers[0].checkers[0] = file_check("f", 0, false, 0);
    let a = e.reload(vec![cfg2], Millis(1000), &mut |_| Duration::ZERO, &|_| true);
    assert!(logs(&a)
        .iter()
        .any(|l| l == "Adding service [192.0.2.1]:tcp:80 to VS [203.0.113.10]:tcp:80"));
    assert!(e.desired_table(0)[0].present);
    assert_eq!(e.desired_table(0)[1].weight, 4);
}

#[test]
fn file_check_with_tcp_check_on_the_same_server() {
    // A server with both: the file adds weight; a failing TCP_CHECK still
    // removes it, and the weight is kept for when it returns.
    let cfg = vs(vec![rs(
        "192.0.2.1:80",
        2,
        vec![tcp(0, 1, 3, 10), file_check("f", 1, false, 3)],
    )]);
    let (mut e, _) = Engine::new(vec![cfg], Millis::ZERO, &mut |_| Duration::ZERO, &|_| true);
    assert_eq!(e.desired_table(0)[0].weight, 5);
    assert_eq!(e.next_wakeup(), Some(Millis(1000)));
    let a = e.on_timer(Millis(1000));
    let probe = a
        .iter()
        .find_map(|x| match x {
            Action::StartProbe { id, probe } => Some((*id, *probe)),
            _ => None,
        })
        .unwrap();
    assert_eq!(probe.0.checker, 0);
    let a = e.on_result(
        Millis(1010),
        probe.0,
        probe.1.token,
        ProbeOutcome::Failure(ProbeFailure::ConnectFailed),
    );
    assert!(logs(&a).iter().any(|l| l.starts_with("Removing service")));
    let a = e.track_file_value("f", 4);
    assert_eq!(
        logs(&a),
        vec!["Changing weight from 5 to 6 for inactive service [192.0.2.1]:tcp:80 of VS [203.0.113.10]:tcp:80"]
    );
    assert!(!e.desired_table(0)[0].present);
}
