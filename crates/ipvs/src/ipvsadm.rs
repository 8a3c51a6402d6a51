//! The `ipvsadm -S -n` rule text: print a table the way ipvsadm 1.31 saves it,
//! and read such text back into a table.
//!
//! Used by the tests to compare what we programmed with what `ipvsadm -Sn`
//! shows, and by the probe tool to take a desired table as rules.
//! The printed form follows ipvsadm's save format as observed in the guest
//! (`-A -t 10.0.0.1:80 -s rr`, `-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1`, ...).
//! ipvsadm's save format does not carry the thresholds (`-x`/`-y`); the
//! parser accepts them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use thiserror::Error;

use crate::consts::*;
use crate::types::*;

/// A rule line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {msg}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

fn svc_arg(k: &ServiceKey) -> String {
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let opt = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{opt} {}", addr_port(addr, *port))
        }
        ServiceKey::Fwmark { family, mark } => match family {
            Family::Inet => format!("-f {mark}"),
            Family::Inet6 => format!("-f {mark} -6"),
        },
    }
}

fn addr_port(a: &IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn sched_flags(s: &Service) -> Option<String> {
    let f = s.flags;
    let (one, two) = match s.scheduler {
        Scheduler::Mh => ("mh-fallback", "mh-port"),
        _ => ("sh-fallback", "sh-port"),
    };
    let mut v = Vec::new();
    if f.contains(ServiceFlags::SH_FALLBACK) {
        v.push(one);
    }
    if f.contains(ServiceFlags::SH_PORT) {
        v.push(two);
    }
    if f.contains(ServiceFlags::SCHED3) {
        v.push("flag-3");
    }
    (!v.is_empty()).then(|| v.join(","))
}

/// One service line (`-A ...`).
pub fn service_line(s: &Service) -> String {
    let mut out = format!("-A {} -s {}", svc_arg(&s.key), s.scheduler.name());
    if s.flags.contains(ServiceFlags::PERSISTENT) {
        let _ = write!(out, " -p {}", s.timeout);
        match s.netmask {
            Netmask::V4(m) if m != Ipv4Addr::new(255, 255, 255, 255) => {
                let _ = write!(out, " -M {m}");
            }
            Netmask::V6(p) if p != 128 => {
                let _ = write!(out, " -M {p}");
            }
            _ => {}
        }
    }
    if let Some(pe) = &s.pe_name {
        let _ = write!(out, " --pe {pe}");
    }
    if s.flags.contains(ServiceFlags::ONE_PACKET) {
        let _ = write!(out, " -o");
    }
    if let Some(b) = sched_flags(s) {
        let _ = write!(out, " -b {b}");
    }
    out
}

/// One destination line (`-a ...`).
pub fn dest_line(svc: &ServiceKey, d: &Destination) -> String {
    let fwd = match d.forward {
        Forward::Masq => "-m",
        Forward::Route | Forward::Local | Forward::Bypass => "-g",
        Forward::Tunnel(_) => "-i",
    };
    let mut out = format!(
        "-a {} -r {} {fwd} -w {}",
        svc_arg(svc),
        addr_port(&d.key.addr, d.key.port),
        d.weight
    );
    if let Forward::Tunnel(t) = d.forward {
        let name = match t.kind {
            TunnelType::Ipip => "ipip".to_string(),
            TunnelType::Gue => "gue".to_string(),
            TunnelType::Gre => "gre".to_string(),
            TunnelType::Unknown(x) => format!("{x}"),
        };
        let _ = write!(out, " --tun-type {name}");
        if t.kind == TunnelType::Gue {
            let _ = write!(out, " --tun-port {}", t.port);
        }
        if matches!(t.kind, TunnelType::Gue | TunnelType::Gre) {
            let c = if t.flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM != 0 {
                "--tun-remcsum"
            } else if t.flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM != 0 {
                "--tun-csum"
            } else {
                "--tun-nocsum"
            };
            let _ = write!(out, " {c}");
        }
    }
    out
}

/// A reconciliation step as the equivalent ipvsadm command line
/// (`-A`/`-E`/`-D` for services, `-a`/`-e`/`-d` for destinations).
pub fn op_line(op: &crate::diff::Op) -> String {
    use crate::diff::Op;
    match op {
        Op::AddService(s) => service_line(s),
        Op::EditService(s) => format!("-E{}", &service_line(s)[2..]),
        Op::DelService(k) => format!("-D {}", svc_arg(k)),
        Op::AddDest(k, d) => dest_line(k, d),
        Op::EditDest(k, d) => format!("-e{}", &dest_line(k, d)[2..]),
        Op::DelDest(k, d) => format!("-d {} -r {}", svc_arg(k), addr_port(&d.addr, d.port)),
    }
}

/// ipvsadm's listing order of services: fwmark (0 for address services),
/// family, protocol, address, port (libipvs `ipvs_cmp_services`).
fn service_order(k: &ServiceKey) -> (u32, u16, u16, Vec<u8>, u16) {
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            0,
            Family::of(addr).to_raw(),
            protocol.to_raw(),
            ip_bytes(addr),
            *port,
        ),
        ServiceKey::Fwmark { family, mark } => (*mark, family.to_raw(), 0, Vec::new(), 0),
    }
}

fn ip_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// The whole table as `ipvsadm -S -n` prints it (one line each, `\n`-terminated),
/// sorted the way ipvsadm sorts: services by fwmark, family, protocol, address,
/// port; destinations by family, address, port. The kernel's dump order
/// (hash buckets, newest destination first) does not matter.
pub fn save(table: &[VirtualService]) -> String {
    let mut sorted = table.to_vec();
    sort_like_ipvsadm(&mut sorted);
    let mut out = String::new();
    for v in &sorted {
        out.push_str(&service_line(&v.service));
        out.push('\n');
        for d in &v.dests {
            out.push_str(&dest_line(&v.service.key, d));
            out.push('\n');
        }
    }
    out
}

/// Sort a table in place into ipvsadm's listing order (see [`save`]).
pub fn sort_like_ipvsadm(table: &mut [VirtualService]) {
    table.sort_by_key(|v| service_order(&v.service.key));
    for v in table.iter_mut() {
        v.dests.sort_by_key(|d| {
            (
                Family::of(&d.key.addr).to_raw(),
                ip_bytes(&d.key.addr),
                d.key.port,
            )
        });
    }
}

fn parse_addr_port(s: &str, default_port: Option<u16>) -> Result<(IpAddr, u16), String> {
    let (a, p) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| format!("bad address {s:?}"))?;
        let a = &rest[..end];
        let p = rest[end + 1..].strip_prefix(':');
        (a, p)
    } else if s.matches(':').count() == 1 {
        let (a, p) = s.split_once(':').unwrap_or((s, ""));
        (a, Some(p))
    } else {
        (s, None)
    };
    let addr: IpAddr = a.parse().map_err(|_| format!("bad address {a:?}"))?;
    let port = match p {
        Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
        None => default_port.ok_or_else(|| format!("missing port in {s:?}"))?,
    };
    Ok((addr, port))
}

fn parse_netmask(s: &str, family: Family) -> Result<Netmask, String> {
    match family {
        Family::Inet => s
            .parse::<Ipv4Addr>()
            .map(Netmask::V4)
            .map_err(|_| format!("bad netmask {s:?}")),
        Family::Inet6 => match s.parse::<u8>() {
            Ok(p) if (1..=128).contains(&p) => Ok(Netmask::V6(p)),
            _ => Err(format!("bad IPv6 prefix {s:?}")),
        },
    }
}

/// Read rule text (`-A`/`-a` lines as `ipvsadm -S` writes them; blank lines and
/// `#` comments skipped) into a table, in order. Defaults are ipvsadm's:
/// scheduler `wlc`, forwarding `-g`, weight 1, `-p` without value 300 s.
pub fn parse(text: &str) -> Result<Vec<VirtualService>, ParseError> {
    let mut table: Vec<VirtualService> = Vec::new();
    let mut index: HashMap<ServiceKey, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        parse_line(line, &mut table, &mut index)
            .map_err(|msg| ParseError { line: line_no, msg })?;
    }
    Ok(table)
}

fn parse_line(
    line: &str,
    table: &mut Vec<VirtualService>,
    index: &mut HashMap<ServiceKey, usize>,
) -> Result<(), String> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    let verb = toks[0];
    let mut key: Option<ServiceKey> = None;
    let mut fwmark: Option<u32> = None;
    let mut v6 = false;
    let mut sched = Scheduler::Wlc;
    let mut flags = ServiceFlags::empty();
    let mut timeout = 0u32;
    let mut netmask: Option<String> = None;
    let mut pe = None;
    let mut rs: Option<String> = None;
    let mut fwd = "-g";
    let mut weight = 1u32;
    let mut ut = 0u32;
    let mut lt = 0u32;
    let mut tun = Tunnel::IPIP;
    let mut sflags: Vec<String> = Vec::new();
    let mut it = toks[1..].iter().peekable();
    let num = |s: Option<&&str>, what: &str| -> Result<u32, String> {
        s.ok_or_else(|| format!("{what} needs a value"))?
            .parse::<u32>()
            .map_err(|_| format!("bad {what} value"))
    };
    while let Some(&t) = it.next() {
        match t {
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" => {
                let protocol = match t {
                    "-t" | "--tcp-service" => Protocol::Tcp,
                    "-u" | "--udp-service" => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                let a = it.next().ok_or("service needs an address")?;
                let (addr, port) = parse_addr_port(a, None)?;
                key = Some(ServiceKey::Addr {
                    protocol,
                    addr,
                    port,
                });
            }
            "-f" | "--fwmark-service" => fwmark = Some(num(it.next(), "fwmark")?),
            "-6" | "--ipv6" => v6 = true,
            "-s" | "--scheduler" => {
                sched = Scheduler::from_name(it.next().ok_or("-s needs a scheduler")?)
            }
            "-p" | "--persistent" => {
                flags |= ServiceFlags::PERSISTENT;
                timeout = 300;
                if let Some(n) = it.peek().and_then(|s| s.parse::<u32>().ok()) {
                    timeout = n;
                    it.next();
                }
            }
            "-M" | "--netmask" => netmask = Some(it.next().ok_or("-M needs a mask")?.to_string()),
            "--pe" => pe = Some(it.next().ok_or("--pe needs a name")?.to_string()),
            "-o" | "--ops" => flags |= ServiceFlags::ONE_PACKET,
            "-b" | "--sched-flags" => sflags.extend(
                it.next()
                    .ok_or("-b needs flags")?
                    .split(',')
                    .map(str::to_string),
            ),
            "-r" | "--real-server" => {
                rs = Some(it.next().ok_or("-r needs an address")?.to_string())
            }
            "-g" | "--gatewaying" | "-m" | "--masquerading" | "-i" | "--ipip" => fwd = t,
            "-w" | "--weight" => weight = num(it.next(), "weight")?,
            "-x" | "--u-threshold" => ut = num(it.next(), "u-threshold")?,
            "-y" | "--l-threshold" => lt = num(it.next(), "l-threshold")?,
            "--tun-type" => {
                tun.kind = match *it.next().ok_or("--tun-type needs a type")? {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    other => return Err(format!("unknown tunnel type {other:?}")),
                }
            }
            "--tun-port" => {
                tun.port = u16::try_from(num(it.next(), "tun-port")?).map_err(|_| "bad tun-port")?
            }
            "--tun-nocsum" => tun.flags = IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
            "--tun-csum" => tun.flags = IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
            "--tun-remcsum" => tun.flags = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let key = match (key, fwmark) {
        (Some(k), None) => k,
        (None, Some(mark)) => ServiceKey::Fwmark {
            family: if v6 { Family::Inet6 } else { Family::Inet },
            mark,
        },
        _ => return Err("need exactly one of -t/-u/--sctp-service/-f".into()),
    };
    match verb {
        "-A" | "--add-service" => {
            let mut s = Service::new(key, sched);
            s.flags = flags;
            for f in &sflags {
                s.flags |= match f.as_str() {
                    "sh-fallback" | "mh-fallback" | "flag-1" => ServiceFlags::SH_FALLBACK,
                    "sh-port" | "mh-port" | "flag-2" => ServiceFlags::SH_PORT,
                    "flag-3" => ServiceFlags::SCHED3,
                    other => return Err(format!("unknown scheduler flag {other:?}")),
                };
            }
            s.timeout = timeout;
            if let Some(m) = netmask {
                s.netmask = parse_netmask(&m, key.family())?;
            }
            s.pe_name = pe;
            index.insert(key, table.len());
            table.push(VirtualService {
                service: s,
                dests: Vec::new(),
            });
        }
        "-a" | "--add-server" => {
            let rs = rs.ok_or("-a needs -r")?;
            let default_port = match key {
                ServiceKey::Addr { port, .. } => port,
                ServiceKey::Fwmark { .. } => 0,
            };
            let (addr, port) = parse_addr_port(&rs, Some(default_port))?;
            let forward = match fwd {
                "-m" | "--masquerading" => Forward::Masq,
                "-i" | "--ipip" => Forward::Tunnel(tun),
                _ => Forward::Route,
            };
            let v = index
                .get(&key)
                .and_then(|&i| table.get_mut(i))
                .ok_or_else(|| format!("no service {key} before this -a"))?;
            v.dests.push(Destination {
                key: DestKey { addr, port },
                forward,
                weight,
                u_threshold: ut,
                l_threshold: lt,
                stats: None,
            });
        }
        other => return Err(format!("unsupported command {other:?}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Literal output of `ipvsadm -Sn` (1.31) in the guest for these rules.
    const SAVED: &str = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.3:8080 -m -w 3
-A -u 10.0.0.1:53 -s wrr -p 300 -M 255.255.255.0
-a -u 10.0.0.1:53 -r 10.0.0.4:53 -i -w 1 --tun-type ipip
-a -u 10.0.0.1:53 -r 10.0.0.5:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-A -t [2001:db8::1]:443 -s wlc -p 60 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 0
-A -f 7 -s sh -b sh-fallback,sh-port
-A -f 8 -6 -s mh -p 360 -b mh-port
";

    #[test]
    fn parse_then_save_is_identity_on_ipvsadm_output() {
        let t = parse(SAVED).unwrap();
        assert_eq!(t.len(), 5);
        assert_eq!(save(&t), SAVED);
        let udp = &t[1].service;
        assert_eq!(udp.netmask, Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(udp.flags, ServiceFlags::PERSISTENT);
        assert_eq!(t[2].service.netmask, Netmask::V6(64));
        assert_eq!(
            t[1].dests[1].forward,
            Forward::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: 1
            })
        );
        assert_eq!(
            t[4].service.key,
            ServiceKey::Fwmark {
                family: Family::Inet6,
                mark: 8
            }
        );
    }

    #[test]
    fn save_sorts_like_ipvsadm() {
        let mut t = parse(SAVED).unwrap();
        t.reverse();
        for v in &mut t {
            v.dests.reverse();
        }
        assert_eq!(save(&t), SAVED);
    }

    #[test]
    fn ops_print_as_ipvsadm_commands() {
        use crate::diff::Op;
        let t = parse(SAVED).unwrap();
        let k = t[0].service.key;
        assert_eq!(
            op_line(&Op::EditService(t[0].service.clone())),
            "-E -t 10.0.0.1:80 -s rr"
        );
        assert_eq!(op_line(&Op::DelService(k)), "-D -t 10.0.0.1:80");
        assert_eq!(
            op_line(&Op::EditDest(k, t[0].dests[1].clone())),
            "-e -t 10.0.0.1:80 -r 10.0.0.3:8080 -m -w 3"
        );
        assert_eq!(
            op_line(&Op::DelDest(t[2].service.key, t[2].dests[0].key)),
            "-d -t [2001:db8::1]:443 -r [2001:db8::2]:443"
        );
    }

    #[test]
    fn bad_lines_are_errors() {
        assert_eq!(parse("-A -t 10.0.0.1 -s rr").unwrap_err().line, 1);
        assert!(parse("\n-a -t 10.0.0.1:80 -r 10.0.0.2").is_err());
        assert!(parse("-A -t 10.0.0.1:80 -s rr -w").is_err());
        assert!(parse("-A -t 10.0.0.1:80 -f 3").is_err());
        assert!(parse("-A -t [::1:80 -s rr").is_err());
    }
}
