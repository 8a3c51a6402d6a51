//! Value parsers shared by the block parsers: numbers, timers, booleans,
//! addresses, scripts, `virtual_ipaddress` lines. Each reports its own error
//! at the offending token and returns `None`.

use crate::diag::{Diags, Loc};
use crate::lexer::Token;
use crate::model::*;
use std::net::IpAddr;

/// Integer in `min..=max`.
pub(crate) fn int(d: &mut Diags, kw: &str, t: &Token, min: i64, max: i64) -> Option<i64> {
    match t.text.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        Ok(v) => {
            d.error(
                t.loc,
                format!("{kw}: value {v} out of range, must be between {min} and {max}"),
            );
            None
        }
        Err(_) => {
            d.error(
                t.loc,
                format!(
                    "{kw}: invalid number '{}' (expected an integer between {min} and {max})",
                    t.text
                ),
            );
            None
        }
    }
}

/// Decimal seconds with µs resolution (`read_timer`), in `0..=max_secs`.
pub(crate) fn timer(d: &mut Diags, kw: &str, t: &Token, max_secs: u64) -> Option<Micros> {
    match parse_secs(&t.text) {
        Some(us) if us <= max_secs * 1_000_000 => Some(Micros(us)),
        Some(_) => {
            d.error(
                t.loc,
                format!(
                    "{kw}: '{}' out of range, must be between 0 and {max_secs} seconds",
                    t.text
                ),
            );
            None
        }
        None => {
            d.error(
                t.loc,
                format!(
                    "{kw}: invalid time '{}' (expected seconds, e.g. 1 or 0.5)",
                    t.text
                ),
            );
            None
        }
    }
}

/// "1.25" → 1_250_000 µs. No sign, at most 6 decimals.
pub(crate) fn parse_secs(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if (int.is_empty() && frac.is_empty()) || frac.len() > 6 {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..6 {
        f *= 10;
    }
    i.checked_mul(1_000_000)?.checked_add(f)
}

/// `true|on|yes` / `false|off|no`; no argument = true.
pub(crate) fn boolean(d: &mut Diags, kw: &str, args: &[Token]) -> Option<bool> {
    let Some(t) = args.first() else {
        return Some(true);
    };
    match t.text.as_str() {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        other => {
            d.error(
                t.loc,
                format!("{kw}: invalid boolean '{other}' (expected true|on|yes or false|off|no)"),
            );
            None
        }
    }
}

/// An IPv4 or IPv6 address.
pub(crate) fn ip(d: &mut Diags, kw: &str, t: &Token) -> Option<IpAddr> {
    match t.text.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            d.error(t.loc, format!("{kw}: invalid IP address '{}'", t.text));
            None
        }
    }
}

/// A TCP/UDP port 0..65535.
pub(crate) fn port(d: &mut Diags, kw: &str, t: &Token) -> Option<u16> {
    int(d, kw, t, 0, 65535).map(|v| v as u16)
}

/// Split a quoted command line with keepalived's quoted-escaped rules:
/// `"` and `'` group, adjacent quoted parts concatenate, `\` escapes.
pub(crate) fn split_command(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            '"' | '\'' => {
                have = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    cur.push(q);
                }
            }
            '\\' => {
                have = true;
                match chars.next() {
                    Some('n') => cur.push('\n'),
                    Some('t') => cur.push('\t'),
                    Some('r') => cur.push('\r'),
                    Some(o) => cur.push(o),
                    None => cur.push('\\'),
                }
            }
            o => {
                have = true;
                cur.push(o);
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

/// `KEYWORD "cmd args" [USER [GROUP]]` or `KEYWORD cmd [USER [GROUP]]`.
pub(crate) fn script(d: &mut Diags, kw: &str, kw_loc: Loc, args: &[Token]) -> Option<Script> {
    let Some(first) = args.first() else {
        d.error(kw_loc, format!("{kw}: missing script"));
        return None;
    };
    let argv = split_command(&first.text);
    if argv.is_empty() {
        d.error(first.loc, format!("{kw}: empty script"));
        return None;
    }
    if args.len() > 3 {
        d.warn(args[3].loc, format!("{kw}: extra parameters after USER GROUP ignored (quote the command if it has arguments)"));
    }
    Some(Script {
        argv,
        user: args.get(1).map(|t| t.text.to_string()),
        group: args.get(2).map(|t| t.text.to_string()),
    })
}

/// `KEYWORD "cmd args"` or `KEYWORD cmd args...` where every word belongs
/// to the command (`vrrp_script`'s `script`, `misc_path`).
pub(crate) fn command(d: &mut Diags, kw: &str, kw_loc: Loc, args: &[Token]) -> Option<Script> {
    let mut argv = Vec::new();
    for t in args {
        if t.quoted {
            argv.extend(split_command(&t.text));
        } else {
            argv.push(t.text.to_string());
        }
    }
    if argv.is_empty() {
        d.error(kw_loc, format!("{kw}: missing command"));
        return None;
    }
    Some(Script {
        argv,
        user: None,
        group: None,
    })
}

/// `ADDR[/PREFIX]`.
pub(crate) fn addr_prefix(d: &mut Diags, kw: &str, t: &Token) -> Option<(IpAddr, u8)> {
    let (a, p) = match t.text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (t.text.as_str(), None),
    };
    let Ok(addr) = a.parse::<IpAddr>() else {
        d.error(t.loc, format!("{kw}: invalid IP address '{}'", t.text));
        return None;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(v) if v <= max => v,
            _ => {
                d.error(
                    t.loc,
                    format!("{kw}: invalid prefix length '/{p}' for '{a}' (0..{max})"),
                );
                return None;
            }
        },
    };
    Some((addr, prefix))
}

fn scope(s: &str) -> Option<Scope> {
    Some(match s {
        "global" | "universe" => Scope::Global,
        "site" => Scope::Site,
        "link" => Scope::Link,
        "host" => Scope::Host,
        "nowhere" => Scope::Nowhere,
        n => Scope::Other(n.parse().ok()?),
    })
}

/// One `virtual_ipaddress` line (anatomy §2.4).
pub(crate) fn virtual_ip(d: &mut Diags, kw: &str, words: &[Token]) -> Option<VirtualIp> {
    let (addr, prefix) = addr_prefix(d, kw, words.first()?)?;
    let mut v = VirtualIp {
        addr,
        prefix,
        dev: None,
        scope: None,
        broadcast: None,
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        preferred_lft: None,
        use_vmac: false,
    };
    let mut i = 1;
    let mut ok = true;
    while i < words.len() {
        let w = &words[i];
        let val = words.get(i + 1);
        let need = |d: &mut Diags| {
            if val.is_none() {
                d.error(w.loc, format!("{kw}: '{}' needs a value", w.text));
            }
            val
        };
        match w.text.as_str() {
            "dev" => {
                let x = need(d)?;
                v.dev = Some(x.text.to_string());
                i += 1;
            }
            "scope" => {
                let x = need(d)?;
                if addr.is_ipv6() {
                    d.error(
                        w.loc,
                        format!("{kw}: scope is not valid for IPv6 address {addr}"),
                    );
                    ok = false;
                }
                match scope(&x.text) {
                    Some(s) => v.scope = Some(s),
                    None => {
                        d.error(x.loc, format!("{kw}: invalid scope '{}' (expected global, site, link, host, nowhere or 0..255)", x.text));
                        ok = false;
                    }
                }
                i += 1;
            }
            "brd" | "broadcast" => {
                let x = need(d)?;
                if !addr.is_ipv4() {
                    d.error(w.loc, format!("{kw}: broadcast is only valid for IPv4"));
                    ok = false;
                }
                v.broadcast = match x.text.as_str() {
                    "+" => Some(Broadcast::Plus),
                    "-" => Some(Broadcast::Minus),
                    s => match s.parse() {
                        Ok(a) => Some(Broadcast::Addr(a)),
                        Err(_) => {
                            d.error(x.loc, format!("{kw}: invalid broadcast address '{s}'"));
                            ok = false;
                            None
                        }
                    },
                };
                if matches!(v.broadcast, Some(Broadcast::Plus | Broadcast::Minus)) && prefix > 30 {
                    d.warn(
                        x.loc,
                        format!(
                            "{kw}: brd {} ignored for prefix /{prefix} (needs /30 or shorter)",
                            x.text
                        ),
                    );
                    v.broadcast = None;
                }
                i += 1;
            }
            "label" => {
                let x = need(d)?;
                if addr.is_ipv6() {
                    d.error(
                        w.loc,
                        format!("{kw}: label is not valid for IPv6 address {addr}"),
                    );
                    ok = false;
                }
                if x.text.len() >= 16 {
                    d.error(
                        x.loc,
                        format!("{kw}: label '{}' too long (at most 15 characters)", x.text),
                    );
                    ok = false;
                }
                v.label = Some(x.text.to_string());
                i += 1;
            }
            "peer" => {
                let x = need(d)?;
                v.peer = addr_prefix(d, kw, x);
                ok &= v.peer.is_some();
                i += 1;
            }
            "preferred_lft" => {
                let x = need(d)?;
                v.preferred_lft = match x.text.as_str() {
                    "forever" => Some(PreferredLft::Forever),
                    s => match s.parse() {
                        Ok(n) => Some(PreferredLft::Secs(n)),
                        Err(_) => {
                            d.error(x.loc, format!("{kw}: invalid preferred_lft '{s}'"));
                            ok = false;
                            None
                        }
                    },
                };
                i += 1;
            }
            "home" => v.home = true,
            "-nodad" => v.nodad = true,
            "mngtmpaddr" => v.mngtmpaddr = true,
            "noprefixroute" => v.noprefixroute = true,
            "autojoin" => v.autojoin = true,
            "no_track" => v.no_track = true,
            "use_vmac" => v.use_vmac = true,
            other => {
                let hint = crate::suggest(other, VIP_OPTIONS)
                    .map(|s| format!(" - did you mean '{s}'?"))
                    .unwrap_or_default();
                d.error(
                    w.loc,
                    format!("{kw}: unknown option '{other}' for {addr} (expected dev, scope, brd, label, peer, ...){hint}"),
                );
                ok = false;
            }
        }
        i += 1;
    }
    ok.then_some(v)
}

const VIP_OPTIONS: &[&str] = &[
    "dev",
    "scope",
    "brd",
    "broadcast",
    "label",
    "peer",
    "preferred_lft",
    "home",
    "-nodad",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "no_track",
    "use_vmac",
];

/// `NAME [weight N [reverse|noreverse]]` in track_* blocks.
pub(crate) fn track_ref(
    d: &mut Diags,
    kw: &str,
    words: &[Token],
    min: i64,
    max: i64,
) -> Option<TrackRef> {
    let name = words.first()?.text.to_string();
    let mut r = TrackRef {
        name,
        weight: None,
        reverse: false,
    };
    let mut i = 1;
    while i < words.len() {
        match words[i].text.as_str() {
            "weight" => {
                let Some(t) = words.get(i + 1) else {
                    d.error(words[i].loc, format!("{kw}: weight needs a value"));
                    return None;
                };
                match t.text.parse::<i64>() {
                    Ok(v) if (min..=max).contains(&v) => r.weight = Some(v as i32),
                    Ok(v) if v.abs() == max + 1 => {
                        let c = v.signum() * max;
                        d.warn(
                            t.loc,
                            format!(
                                "{kw}: weight {v} for {} clamped to {c} (range {min}..{max})",
                                r.name
                            ),
                        );
                        r.weight = Some(c as i32);
                    }
                    _ => {
                        d.error(
                            t.loc,
                            format!(
                                "{kw}: weight '{}' for {} invalid, must be between {min} and {max}",
                                t.text, r.name
                            ),
                        );
                        return None;
                    }
                }
                i += 1;
            }
            "reverse" => r.reverse = true,
            "noreverse" => r.reverse = false,
            other => {
                d.error(
                    words[i].loc,
                    format!(
                        "{kw}: unknown option '{other}' for {} (expected weight N [reverse])",
                        r.name
                    ),
                );
                return None;
            }
        }
        i += 1;
    }
    Some(r)
}
