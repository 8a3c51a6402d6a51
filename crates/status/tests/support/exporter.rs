//! What mehdy/keepalived-exporter (text mode, its default) reads from
//! `keepalived.data` and `keepalived.stats`: a re-implementation of its
//! `ParseVRRPData` / `ParseStats` / `ParseVIP` rules (read in its source,
//! internal/collector/parser.go), to check that a dump stays scrapeable.
//! Shared by crates/status/tests and integration/tests/status.rs (`#[path]`).
//! Std only.

#![allow(dead_code)]

use std::collections::BTreeMap;

/// One instance as the exporter sees it in `keepalived.data`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataView {
    pub state: u32,
    pub wantstate: u32,
    pub intf: String,
    pub garp_delay: u64,
    pub vrid: u32,
    pub vips: Vec<String>,
    pub excluded_vips: Vec<String>,
}

const STATES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];

fn state_number(v: &str) -> Result<u32, String> {
    STATES
        .iter()
        .position(|s| *s == v)
        .map(|p| p as u32)
        .ok_or_else(|| format!("unknown state {v:?} (the exporter fails the whole scrape)"))
}

/// `ParseVRRPData`: instances by name, or the error that makes the exporter
/// report `keepalived_up 0`.
pub fn parse_data(text: &str) -> Result<BTreeMap<String, DataView>, String> {
    let mut out: BTreeMap<String, DataView> = BTreeMap::new();
    let mut instance = String::new();
    let mut key = String::new();
    for l in text.lines() {
        if l.starts_with(" VRRP Instance") && l.contains('=') {
            instance = l.trim().split('=').nth(1).unwrap_or("").trim().to_string();
            out.insert(instance.clone(), DataView::default());
        } else if l.starts_with("   ") && !instance.is_empty() {
            let val;
            if l.starts_with("     ") {
                val = l.trim().to_string();
            } else {
                let args: Vec<&str> = if l.contains('=') {
                    l.trim().split('=').collect()
                } else if l.contains(':') {
                    l.trim().split(':').collect()
                } else {
                    continue;
                };
                key = args[0].trim().to_string();
                if key == "Virtual IP" {
                    continue;
                }
                val = args.get(1).map(|s| s.trim()).unwrap_or("").to_string();
            }
            let d = out.get_mut(&instance).unwrap();
            if (key.starts_with("Virtual IP (") || key == "Virtual IP") && !val.is_empty() {
                d.vips.push(val.clone());
            }
            if key.starts_with("Virtual IP Excluded") && !val.is_empty() {
                d.excluded_vips.push(val.clone());
            }
            match key.as_str() {
                "State" => d.state = state_number(&val)?,
                "Wantstate" => d.wantstate = state_number(&val)?,
                "Interface" | "Listening device" => d.intf = val,
                "Gratuitous ARP delay" => {
                    d.garp_delay = val
                        .parse()
                        .map_err(|_| format!("Gratuitous ARP delay {val:?} is not an integer"))?
                }
                "Virtual Router ID" => {
                    d.vrid = val
                        .parse()
                        .map_err(|_| format!("Virtual Router ID {val:?} is not an integer"))?
                }
                _ => {}
            }
        } else if l.starts_with(" VRRP Version") || l.starts_with(" VRRP Script") {
            continue;
        } else {
            instance.clear();
        }
    }
    Ok(out)
}

/// `ParseVIP`: (address, interface) or None (the VIP is dropped).
pub fn parse_vip(vip: &str) -> Option<(String, String)> {
    let w: Vec<&str> = vip.split(' ').collect();
    (w.len() >= 3).then(|| (w[0].to_string(), w[2].to_string()))
}

/// `ParseStats`: the fourteen counters per instance (`section.key` names).
pub fn parse_stats(text: &str) -> Result<BTreeMap<String, BTreeMap<String, u64>>, String> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut instance = String::new();
    let mut section = String::new();
    for l in text.lines() {
        if l.starts_with("VRRP Instance") && l.contains(':') {
            instance = l.trim().split(':').nth(1).unwrap_or("").trim().to_string();
            out.insert(instance.clone(), BTreeMap::new());
        } else if l.starts_with("  ") && l.ends_with(':') {
            section = l.trim().trim_end_matches(':').trim().to_string();
        } else if l.starts_with("    ") && !section.is_empty() {
            let sp: Vec<&str> = l.trim().split(':').collect();
            let (k, v) = (sp[0].trim(), sp.get(1).map(|s| s.trim()).unwrap_or(""));
            let v: u64 = v.parse().map_err(|_| format!("{l:?}: not a number"))?;
            out.entry(instance.clone())
                .or_default()
                .insert(format!("{section}.{k}"), v);
        } else if l.starts_with("  ") && !l.ends_with(':') && !l.starts_with("    ") {
            let sp: Vec<&str> = l.trim().split(':').collect();
            let (k, v) = (sp[0].trim(), sp.get(1).map(|s| s.trim()).unwrap_or(""));
            section.clear();
            let v: u64 = v.parse().map_err(|_| format!("{l:?}: not a number"))?;
            out.entry(instance.clone())
                .or_default()
                .insert(k.to_string(), v);
        }
    }
    Ok(out)
}

/// The exporter's consistency rule: same instances in both files.
pub fn check_synced(
    data: &BTreeMap<String, DataView>,
    stats: &BTreeMap<String, BTreeMap<String, u64>>,
) -> Result<(), String> {
    if data.len() != stats.len() {
        return Err("keepalived.data and keepalived.stats datas are not synced".into());
    }
    for k in data.keys() {
        if !stats.contains_key(k) {
            return Err(format!(
                "keepalived.stats does not contain stats for instance {k}"
            ));
        }
    }
    Ok(())
}
