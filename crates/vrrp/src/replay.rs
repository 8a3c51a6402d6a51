//! Replay scenarios: a small text format of timestamped inputs and the
//! actions expected after each, with a runner. Used by `tests/replay.rs`
//! on `tests/scenarios/*.txt`; the daemon's tests may use it too.
//!
//! ```text
//! # comment
//! config name=VI_1 vrid=51 priority=90 advert=1 src=192.0.2.1 vip=192.0.2.100
//! @0 startup
//! > log (VI_1) Entering BACKUP STATE (init)
//! > state INIT->BACKUP
//! > notify BACKUP
//! > arm-timer master-down 3.648437
//! @3.648437 timer master-down
//! > ...
//! ```
//!
//! * `config KEY=VALUE ...` (before the first input; several lines add up):
//!   `name vrid priority advert(seconds) version(2|3) src vip(a,b) state(MASTER|BACKUP)
//!   nopreempt preempt_delay(s) unicast_peer(a,b) check_unicast_src auth_pass auth_ah
//!   skip_check_adv_addr garp_master_delay(s) garp_master_repeat garp_master_refresh(s)
//!   lower_prio_no_advert higher_prio_send_advert down_timer_adverts interface
//!   sync_group startup_delay(s) track(kind:name:weight[:reverse])`.
//! * `@SECONDS INPUT`: `startup`, `timer KIND`, `shutdown`,
//!   `interface up|down`, `track KIND NAME up|down|unknown|value=N`,
//!   `source ADDR|none`, `sync-go-master`, `sync-go-backup`, `sync-fault on|off`,
//!   `reload KEY=VALUE ...` (config changes), and
//!   `rx src=ADDR [prio=N] [advert=S] [ttl=N] [vrid=N] [version=N] [type=N]
//!   [dst=ADDR] [vip=a,b] [auth_pass=P] [auth_type=N] [bad_checksum] [trunc=N] [extra=N]`
//!   (an advert built from the instance's own parameters with these changes).
//! * `> ACTION`: the expected actions of the preceding input, in order, in
//!   [`crate::Action`]'s `Display` form (rejections also carry keepalived's
//!   log line: `rejected KIND: TEXT`). Every action must be listed.
//!
//! A scenario may end with `stats FIELD=N ...` lines checked against the
//! instance's counters.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::{Auth, InitialState, InstanceConfig, TrackConfig, TrackKind, UnicastPeer};
use crate::rx::RxPacket;
use crate::time::{Centis, Instant};
use crate::track::TrackStatus;
use crate::wire::{self, ipv4, vrrp as wv, ChecksumMode, Family, Version, VrrpRepr};
use crate::{Input, Instance, TimerKind};

/// A replay failure, with the scenario line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError {
    /// 1-based line number.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ReplayError {}

fn err(line: usize, message: impl Into<String>) -> ReplayError {
    ReplayError {
        line,
        message: message.into(),
    }
}

fn secs(v: &str) -> Option<Duration> {
    let f: f64 = v.parse().ok()?;
    (f >= 0.0).then(|| Duration::from_micros((f * 1e6).round() as u64))
}

fn addrs(v: &str) -> Option<Vec<IpAddr>> {
    if v.is_empty() {
        return Some(Vec::new());
    }
    v.split(',').map(|a| a.parse().ok()).collect()
}

/// Applies one `KEY=VALUE` (or flag) to a config.
pub fn apply_config(cfg: &mut InstanceConfig, kv: &str) -> Result<(), String> {
    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
    let bad = || format!("bad value for {k}: {v:?}");
    match k {
        "name" => cfg.name = v.into(),
        "interface" => cfg.interface = v.into(),
        "vrid" => cfg.vrid = v.parse().map_err(|_| bad())?,
        "priority" => cfg.priority = v.parse().map_err(|_| bad())?,
        "advert" => cfg.adver_int = Centis((secs(v).ok_or_else(bad)?.as_millis() / 10) as u16),
        "version" => {
            cfg.version = match v {
                "2" => Version::V2,
                "3" => Version::V3,
                _ => return Err(bad()),
            }
        }
        "src" => {
            let a: IpAddr = v.parse().map_err(|_| bad())?;
            if Family::of(&a) != cfg.family {
                cfg.family = Family::of(&a);
                cfg.mcast_group = match cfg.family {
                    Family::V4 => IpAddr::V4(crate::config::MCAST_GROUP4),
                    Family::V6 => IpAddr::V6(crate::config::MCAST_GROUP6),
                };
                if cfg.family == Family::V6 {
                    cfg.version = Version::V3;
                }
            }
            cfg.src_addr = Some(a);
        }
        "vip" => cfg.vips = addrs(v).ok_or_else(bad)?,
        "state" => {
            cfg.initial_state = match v {
                "MASTER" => InitialState::Master,
                "BACKUP" => InitialState::Backup,
                _ => return Err(bad()),
            }
        }
        "nopreempt" => cfg.nopreempt = true,
        "preempt_delay" => cfg.preempt_delay = secs(v).ok_or_else(bad)?,
        "unicast_peer" => {
            cfg.unicast_peers = addrs(v)
                .ok_or_else(bad)?
                .into_iter()
                .map(UnicastPeer::new)
                .collect();
        }
        "check_unicast_src" => cfg.check_unicast_src = true,
        "auth_pass" => cfg.auth = Auth::Pass(wv::pass_auth_data(v.as_bytes())),
        "auth_ah" => cfg.auth = Auth::Ah(wv::pass_auth_data(v.as_bytes())),
        "skip_check_adv_addr" => cfg.skip_check_adv_addr = true,
        "garp_master_delay" => cfg.garp_master_delay = secs(v).ok_or_else(bad)?,
        "garp_master_repeat" => cfg.garp_master_repeat = v.parse().map_err(|_| bad())?,
        "garp_master_refresh" => cfg.garp_master_refresh = secs(v).ok_or_else(bad)?,
        "garp_lower_prio_repeat" => cfg.garp_lower_prio_repeat = v.parse().map_err(|_| bad())?,
        "garp_lower_prio_delay" => cfg.garp_lower_prio_delay = secs(v).ok_or_else(bad)?,
        "lower_prio_no_advert" => cfg.lower_prio_no_advert = true,
        "higher_prio_send_advert" => cfg.higher_prio_send_advert = true,
        "down_timer_adverts" => cfg.down_timer_adverts = v.parse().map_err(|_| bad())?,
        "dont_track_primary" => cfg.dont_track_primary = true,
        "sync_group" => cfg.sync_group = true,
        "startup_delay" => cfg.startup_delay = secs(v).ok_or_else(bad)?,
        "track" => {
            let parts: Vec<&str> = v.split(':').collect();
            if parts.len() < 3 {
                return Err(bad());
            }
            cfg.trackers.push(TrackConfig {
                kind: track_kind(parts[0]).ok_or_else(bad)?,
                name: parts[1].to_owned(),
                weight: parts[2].parse().map_err(|_| bad())?,
                reverse: parts.get(3) == Some(&"reverse"),
            });
        }
        _ => return Err(format!("unknown config key {k}")),
    }
    Ok(())
}

fn track_kind(s: &str) -> Option<TrackKind> {
    Some(match s {
        "script" => TrackKind::Script,
        "interface" => TrackKind::Interface,
        "file" => TrackKind::File,
        "process" => TrackKind::Process,
        "bfd" => TrackKind::Bfd,
        _ => return None,
    })
}

/// Owned form of a received datagram built by a scenario.
enum Rx {
    V4(Vec<u8>),
    V6 {
        payload: Vec<u8>,
        src: std::net::Ipv6Addr,
        multicast: bool,
        hop_limit: Option<u8>,
    },
}

/// Builds the advert an `rx` line describes, as the peer would send it.
fn build_rx(cfg: &InstanceConfig, args: &[&str]) -> Result<Rx, String> {
    let mut src: Option<IpAddr> = None;
    let mut prio = 100u8;
    let mut adv = cfg.adver_int;
    let mut ttl = 255u8;
    let mut vrid = cfg.vrid;
    let mut version = cfg.version.number();
    let mut kind = 1u8;
    let mut dst = if cfg.is_unicast() {
        cfg.src_addr.unwrap_or(cfg.mcast_group)
    } else {
        cfg.mcast_group
    };
    let mut vips = cfg.vips.clone();
    let mut auth = cfg.effective_auth();
    let mut auth_type: Option<u8> = None;
    let mut bad_checksum = false;
    let mut trunc = 0usize;
    let mut extra = 0usize;
    for a in args {
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        let bad = || format!("bad rx value for {k}: {v:?}");
        match k {
            "src" => src = Some(v.parse().map_err(|_| bad())?),
            "prio" => prio = v.parse().map_err(|_| bad())?,
            "advert" => adv = Centis((secs(v).ok_or_else(bad)?.as_millis() / 10) as u16),
            "ttl" => ttl = v.parse().map_err(|_| bad())?,
            "vrid" => vrid = v.parse().map_err(|_| bad())?,
            "version" => version = v.parse().map_err(|_| bad())?,
            "type" => kind = v.parse().map_err(|_| bad())?,
            "dst" => dst = v.parse().map_err(|_| bad())?,
            "vip" => vips = addrs(v).ok_or_else(bad)?,
            "auth_pass" => auth = Auth::Pass(wv::pass_auth_data(v.as_bytes())),
            "auth_none" => auth = Auth::None,
            "auth_type" => auth_type = Some(v.parse().map_err(|_| bad())?),
            "bad_checksum" => bad_checksum = true,
            "trunc" => trunc = v.parse().map_err(|_| bad())?,
            "extra" => extra = v.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown rx key {k}")),
        }
    }
    let src = src.ok_or("rx needs src=")?;
    let ver = if version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    let repr = VrrpRepr {
        version: ver,
        kind,
        vrid,
        priority: prio,
        adver_int: adv,
        auth_type: match auth {
            Auth::None => wv::AuthType::None,
            Auth::Pass(_) => wv::AuthType::Pass,
            Auth::Ah(_) => wv::AuthType::Ah,
        },
        auth_data: if let Auth::Pass(p) = auth { p } else { [0; 8] },
        addresses: vips,
    };
    let fam = Family::of(&src);
    let mut v = repr.to_bytes(
        fam,
        match (ver, src, dst) {
            (Version::V3, IpAddr::V4(s), IpAddr::V4(d)) => {
                ChecksumMode::PseudoV4 { src: s, dst: d }
            }
            (Version::V2, _, _) => ChecksumMode::Plain,
            _ => ChecksumMode::Zero,
        },
    );
    // Patch the version nibble/auth type after emit for "wrong version" cases.
    v[0] = (version << 4) | (kind & 0x0f);
    if let Some(t) = auth_type {
        v[4] = t;
    }
    if version != ver.number() || auth_type.is_some() {
        // keep the checksum right for what is on the wire
        v[6] = 0;
        v[7] = 0;
        let c = wire::checksum::checksum(&v);
        v[6..8].copy_from_slice(&c.to_be_bytes());
    }
    if bad_checksum {
        v[7] ^= 0xff;
    }
    v.extend(std::iter::repeat_n(0u8, extra));
    let newlen = v.len().saturating_sub(trunc);
    v.truncate(newlen);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut buf = vec![0u8; 20 + v.len()];
            let ip = ipv4::Ipv4Repr {
                tos: 0xc0,
                ident: 1,
                ttl,
                protocol: wire::checksum::IPPROTO_VRRP,
                src: s,
                dst: d,
                payload_len: v.len() as u16,
            };
            ip.emit(&mut buf).map_err(|e| e.to_string())?;
            buf[20..].copy_from_slice(&v);
            Ok(Rx::V4(buf))
        }
        (IpAddr::V6(s), d) => Ok(Rx::V6 {
            payload: v,
            src: s,
            multicast: match d {
                IpAddr::V6(d) => d.is_multicast(),
                IpAddr::V4(d) => d.is_multicast(),
            },
            hop_limit: Some(ttl),
        }),
        (IpAddr::V4(_), IpAddr::V6(_)) => Err("rx: IPv4 src with IPv6 dst".into()),
    }
}

fn parse_time(s: &str) -> Option<Instant> {
    let (w, f) = s.split_once('.').unwrap_or((s, ""));
    if f.len() > 6 {
        return None;
    }
    let w: u64 = w.parse().ok()?;
    let f: u64 = if f.is_empty() {
        0
    } else {
        format!("{f:0<6}").parse().ok()?
    };
    Some(Instant::from_micros(w * 1_000_000 + f))
}

/// One input step of a scenario.
struct Step {
    /// Comment lines just before the input.
    pre: Vec<String>,
    line: usize,
    at: Instant,
    text: String,
    expect: Vec<String>,
}

/// Runs a scenario. With `regenerate`, returns the scenario text with the
/// `>` lines replaced by the actual actions instead of failing.
pub fn run(text: &str, regenerate: bool) -> Result<String, ReplayError> {
    let mut cfg = InstanceConfig::new("VI_1", 1, Family::V4);
    let mut header = String::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut trailer: Vec<(usize, String)> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let line = raw.trim_end();
        if let Some(rest) = line.strip_prefix("> ") {
            match steps.last_mut() {
                Some(s) => s.expect.push(rest.to_owned()),
                None => return Err(err(ln, "expectation before any input")),
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('@') {
            let (t, input) = rest
                .split_once(' ')
                .ok_or_else(|| err(ln, "expected @TIME INPUT"))?;
            let at = parse_time(t).ok_or_else(|| err(ln, format!("bad time {t}")))?;
            let pre = std::mem::take(&mut pending);
            steps.push(Step {
                pre,
                line: ln,
                at,
                text: input.to_owned(),
                expect: Vec::new(),
            });
            continue;
        }
        if let Some(rest) = line.strip_prefix("stats ") {
            trailer.push((ln, rest.to_owned()));
            continue;
        }
        if steps.is_empty() {
            if let Some(rest) = line.strip_prefix("config ") {
                for kv in rest.split_whitespace() {
                    apply_config(&mut cfg, kv).map_err(|m| err(ln, m))?;
                }
            }
            header.push_str(raw);
            header.push('\n');
        } else if line.starts_with('#') || line.is_empty() {
            pending.push(raw.to_owned());
        } else {
            return Err(err(ln, format!("unexpected line {line:?}")));
        }
    }
    let mut vi = Instance::new(cfg);
    let mut regen = header;
    let mut last = Instant::ZERO;
    for s in &steps {
        if s.at < last {
            return Err(err(s.line, "time goes backwards"));
        }
        last = s.at;
        let words: Vec<&str> = s.text.split_whitespace().collect();
        let l = s.line;
        let actions = match words.as_slice() {
            ["startup"] => vi.handle(s.at, Input::Startup),
            ["shutdown"] => vi.handle(s.at, Input::Shutdown),
            ["sync-go-master"] => vi.handle(s.at, Input::SyncGoMaster),
            ["sync-go-backup"] => vi.handle(s.at, Input::SyncGoBackup),
            ["sync-fault", v] => vi.handle(s.at, Input::SyncFault(*v == "on")),
            ["timer", k] => {
                let kind =
                    TimerKind::from_name(k).ok_or_else(|| err(l, format!("unknown timer {k}")))?;
                vi.handle(s.at, Input::TimerExpired(kind))
            }
            ["interface", st] => vi.handle(s.at, Input::Interface { up: *st == "up" }),
            ["source", a] => {
                let addr = if *a == "none" {
                    None
                } else {
                    Some(a.parse().map_err(|_| err(l, "bad address"))?)
                };
                vi.handle(s.at, Input::SourceAddress(addr))
            }
            ["track", k, name, st] => {
                let kind =
                    track_kind(k).ok_or_else(|| err(l, format!("unknown track kind {k}")))?;
                let status = match *st {
                    "up" => TrackStatus::Up,
                    "down" => TrackStatus::Down,
                    "unknown" => TrackStatus::Unknown,
                    v => TrackStatus::Value(
                        v.strip_prefix("value=")
                            .and_then(|x| x.parse().ok())
                            .ok_or_else(|| err(l, "bad status"))?,
                    ),
                };
                vi.handle(
                    s.at,
                    Input::Tracker {
                        kind,
                        name: (*name).to_owned(),
                        status,
                    },
                )
            }
            ["reload", kvs @ ..] => {
                let mut c = vi.config().clone();
                for kv in kvs {
                    apply_config(&mut c, kv).map_err(|m| err(l, m))?;
                }
                vi.handle(s.at, Input::Reload(Box::new(c)))
            }
            ["rx", args @ ..] => {
                let rx = build_rx(vi.config(), args).map_err(|m| err(l, m))?;
                match &rx {
                    Rx::V4(d) => vi.handle(s.at, Input::Packet(RxPacket::V4(d))),
                    Rx::V6 {
                        payload,
                        src,
                        multicast,
                        hop_limit,
                    } => vi.handle(
                        s.at,
                        Input::Packet(RxPacket::V6 {
                            payload,
                            src: *src,
                            multicast: *multicast,
                            hop_limit: *hop_limit,
                        }),
                    ),
                }
            }
            _ => return Err(err(l, format!("unknown input {:?}", s.text))),
        };
        let name = vi.name().to_owned();
        let got: Vec<String> = actions
            .iter()
            .map(|a| match a {
                crate::Action::Rejected(e) => match e.log_line(&name) {
                    Some(line) => format!("rejected {}: {line}", e.kind()),
                    None => format!("rejected {}", e.kind()),
                },
                a => a.to_string(),
            })
            .collect();
        for c in &s.pre {
            let _ = writeln!(regen, "{c}");
        }
        let _ = writeln!(regen, "@{} {}", s.at, s.text);
        for g in &got {
            let _ = writeln!(regen, "> {g}");
        }
        if !regenerate && got != s.expect {
            let mut m = String::from("actions differ\n--- expected\n");
            for e in &s.expect {
                let _ = writeln!(m, "> {e}");
            }
            m.push_str("--- got\n");
            for g in &got {
                let _ = writeln!(m, "> {g}");
            }
            return Err(err(s.line, m));
        }
    }
    for c in &pending {
        let _ = writeln!(regen, "{c}");
    }
    for (ln, line) in &trailer {
        let st = vi.stats();
        for kv in line.split_whitespace() {
            let (k, v) = kv.split_once('=').ok_or_else(|| err(*ln, "stats KEY=N"))?;
            let want: u64 = v.parse().map_err(|_| err(*ln, "stats KEY=N"))?;
            let have = match k {
                "advert_rcvd" => st.advert_rcvd,
                "advert_sent" => u64::from(st.advert_sent),
                "become_master" => u64::from(st.become_master),
                "release_master" => u64::from(st.release_master),
                "packet_len_err" => st.packet_len_err,
                "ip_ttl_err" => st.ip_ttl_err,
                "invalid_type_rcvd" => st.invalid_type_rcvd,
                "addr_list_err" => st.addr_list_err,
                "invalid_authtype" => u64::from(st.invalid_authtype),
                "authtype_mismatch" => u64::from(st.authtype_mismatch),
                "auth_failure" => u64::from(st.auth_failure),
                "pri_zero_rcvd" => st.pri_zero_rcvd,
                "pri_zero_sent" => st.pri_zero_sent,
                "vers_err" => st.vers_err,
                "chk_err" => st.chk_err,
                _ => return Err(err(*ln, format!("unknown counter {k}"))),
            };
            if have != want && !regenerate {
                return Err(err(*ln, format!("{k}: expected {want}, got {have}")));
            }
        }
        let _ = writeln!(regen, "stats {line}");
    }
    Ok(regen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_time("3.648437"),
            Some(Instant::from_micros(3_648_437))
        );
        assert_eq!(parse_time("0.1"), Some(Instant::from_micros(100_000)));
        assert_eq!(parse_time("12"), Some(Instant::from_micros(12_000_000)));
        assert_eq!(parse_time("1.1234567"), None);
    }
}
