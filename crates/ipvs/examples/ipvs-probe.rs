//! `ipvs-probe`: drive IPVS through this crate from the command line, for the
//! qemu guest tests (and by hand). Rules are ipvsadm save-format text.
//!
//! ```text
//! ipvs-probe info                  IPVS version line (as ipvsadm -L prints it)
//! ipvs-probe save                  the kernel table, printed like `ipvsadm -Sn`
//! ipvs-probe add FILE              add every service/dest of FILE (plain NEW_* calls)
//! ipvs-probe plan FILE [--keep]    print the reconciliation ops kernel -> FILE
//! ipvs-probe sync FILE [--keep]    print and apply them, pipelined (--keep: leave unknown
//!                                  services; --quiet: do not print the ops)
//! ipvs-probe zero                  zero all counters
//! ipvs-probe daemons               sync daemons: "STATE IFN SYNCID maxlen=N group=G port=P ttl=T"
//! ipvs-probe daemon-start master|backup IFN SYNCID
//! ipvs-probe daemon-stop master|backup SYNCID
//! ipvs-probe flush
//! ipvs-probe timeouts              print "tcp tcpfin udp"
//! ipvs-probe set-timeouts T F U
//! ipvs-probe json                  the table with stats, as Debug output
//! ipvs-probe stats                 "conns inpkts outpkts inbytes outbytes" per service and
//!                                  destination, in ipvsadm's listing order
//! ```
//! `--netns PATH` as the first arguments runs the command in that network
//! namespace (e.g. `/run/netns/x`) through [`Ipvs::open_in_netns`].
//!
//! Exit status: 0 ok, 1 IPVS error, 2 usage / file error, 3 IPVS missing.

use std::process::ExitCode;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

use keepalived_ipvs::{
    diff, ipvsadm, DiffOptions, Ipvs, IpvsError, SyncDaemon, SyncState, Timeouts,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(m)) => {
            eprintln!("ipvs-probe: {m}");
            ExitCode::from(2)
        }
        Err(Fail::Steps(n)) => {
            eprintln!("ipvs-probe: {n} step(s) failed");
            ExitCode::from(1)
        }
        Err(Fail::Ipvs(e @ IpvsError::NotAvailable { .. })) => {
            eprintln!("ipvs-probe: {e}");
            eprintln!("{}", e.keepalived_log_line());
            ExitCode::from(3)
        }
        Err(Fail::Ipvs(e)) => {
            eprintln!("ipvs-probe: {e}");
            ExitCode::from(1)
        }
    }
}

enum Fail {
    Usage(String),
    Steps(usize),
    Ipvs(IpvsError),
}

impl From<IpvsError> for Fail {
    fn from(e: IpvsError) -> Self {
        Fail::Ipvs(e)
    }
}

fn rules(path: Option<&String>) -> Result<Vec<keepalived_ipvs::VirtualService>, Fail> {
    let path = path.ok_or_else(|| Fail::Usage("missing FILE".into()))?;
    let text = std::fs::read_to_string(path).map_err(|e| Fail::Usage(format!("{path}: {e}")))?;
    ipvsadm::parse(&text).map_err(|e| Fail::Usage(format!("{path}: {e}")))
}

fn open(netns: &Option<String>) -> Result<Ipvs, IpvsError> {
    match netns {
        Some(p) => Ipvs::open_in_netns(std::path::Path::new(p)),
        None => Ipvs::open(),
    }
}

fn run(args: &[String]) -> Result<(), Fail> {
    let (netns, args) = match args {
        [flag, path, rest @ ..] if flag == "--netns" => (Some(path.clone()), rest),
        _ => (None, args),
    };
    let cmd = args.first().map(String::as_str).unwrap_or("");
    let keep = args.iter().any(|a| a == "--keep");
    let quiet = args.iter().any(|a| a == "--quiet");
    let opts = DiffOptions {
        remove_unknown_services: !keep,
    };
    match cmd {
        "info" => {
            let info = open(&netns)?.info()?;
            println!("IP Virtual Server version {info}");
        }
        "save" => print!("{}", ipvsadm::save(&open(&netns)?.table()?)),
        "json" => println!("{:#?}", open(&netns)?.table()?),
        "stats" => {
            let mut table = open(&netns)?.table()?;
            ipvsadm::sort_like_ipvsadm(&mut table);
            for v in &table {
                let s = v.service.stats.unwrap_or_default();
                println!("{} {} {} {} {}", s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes);
                for d in &v.dests {
                    let s = d.stats.map(|x| x.stats).unwrap_or_default();
                    println!("{} {} {} {} {}", s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes);
                }
            }
        }
        "add" => {
            let want = rules(args.get(1))?;
            let mut ipvs = open(&netns)?;
            for v in &want {
                ipvs.add_service(&v.service)?;
                for d in &v.dests {
                    ipvs.add_dest(&v.service.key, d)?;
                }
            }
        }
        "plan" | "sync" => {
            let want = rules(args.get(1))?;
            let mut ipvs = open(&netns)?;
            let t0 = Instant::now();
            let current = ipvs.table()?;
            let t1 = Instant::now();
            let ops = diff(&current, &want, opts);
            let t2 = Instant::now();
            if !quiet {
                for op in &ops {
                    println!("{}", ipvsadm::op_line(op));
                }
            }
            let mut failed = 0;
            if cmd == "sync" {
                for (i, e) in ipvs.apply_all(&ops)? {
                    eprintln!("ipvs-probe: step {} failed: {}: {e}", i + 1, ipvsadm::op_line(&ops[i]));
                    failed += 1;
                }
            }
            let t3 = Instant::now();
            let dests: usize = current.iter().map(|v| v.dests.len()).sum();
            eprintln!(
                "{} operation(s); dump {} services/{} dests {:.1} ms, diff {:.1} ms, apply {:.1} ms",
                ops.len(),
                current.len(),
                dests,
                ms(t1 - t0),
                ms(t2 - t1),
                ms(t3 - t2)
            );
            if failed > 0 {
                return Err(Fail::Steps(failed));
            }
        }
        "flush" => open(&netns)?.flush()?,
        "zero" => open(&netns)?.zero(None)?,
        "daemons" => {
            for d in open(&netns)?.daemons()? {
                let state = match d.state {
                    SyncState::Master => "master",
                    SyncState::Backup => "backup",
                };
                let group = d.mcast_group.map(|g| g.to_string()).unwrap_or_default();
                println!(
                    "{state} {} {} maxlen={} group={group} port={} ttl={}",
                    d.mcast_ifn, d.sync_id, d.sync_maxlen, d.mcast_port, d.mcast_ttl
                );
            }
        }
        "daemon-start" | "daemon-stop" => {
            let state = match args.get(1).map(String::as_str) {
                Some("master") => SyncState::Master,
                Some("backup") => SyncState::Backup,
                _ => return Err(Fail::Usage("daemon-start|daemon-stop master|backup ...".into())),
            };
            let num = |i: usize| -> Result<u32, Fail> {
                args.get(i)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Fail::Usage("missing or bad SYNCID".into()))
            };
            let mut ipvs = open(&netns)?;
            if cmd == "daemon-start" {
                let ifn = args.get(2).ok_or_else(|| Fail::Usage("missing IFN".into()))?;
                ipvs.start_daemon(&SyncDaemon::new(state, ifn, num(3)?))?;
            } else {
                ipvs.stop_daemon(state, num(2)?)?;
            }
        }
        "timeouts" => {
            let t = open(&netns)?.timeouts()?;
            println!("{} {} {}", t.tcp, t.tcp_fin, t.udp);
        }
        "set-timeouts" => {
            let n = |i: usize| -> Result<u32, Fail> {
                args.get(i)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Fail::Usage("set-timeouts TCP TCPFIN UDP".into()))
            };
            let t = Timeouts {
                tcp: n(1)?,
                tcp_fin: n(2)?,
                udp: n(3)?,
            };
            open(&netns)?.set_timeouts(&t)?;
        }
        _ => {
            return Err(Fail::Usage(
                "usage: ipvs-probe info|save|json|stats|add FILE|plan FILE|sync FILE [--keep]|flush|zero|daemons|daemon-start S IFN ID|daemon-stop S ID|timeouts|set-timeouts T F U"
                    .into(),
            ))
        }
    }
    Ok(())
}
