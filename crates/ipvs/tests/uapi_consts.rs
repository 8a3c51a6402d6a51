//! The constants against the kernel's uapi header, parsed at test time when
//! `/usr/include/linux/ip_vs.h` exists (package linux-libc-dev); otherwise
//! against the literal numbers of that header.

use keepalived_ipvs::consts::*;

/// Values of the `#define`s and enums of the header, by name.
fn header_values(text: &str) -> std::collections::HashMap<String, i64> {
    let mut out = std::collections::HashMap::new();
    // #define NAME 0x1 / 123 / (1 << 0)
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("#define") {
            let mut it = rest.split_whitespace();
            let (Some(name), Some(val)) = (it.next(), it.next()) else {
                continue;
            };
            let v = val.trim_start_matches('(');
            let parsed = if let Some(h) = v.strip_prefix("0x") {
                i64::from_str_radix(h.trim_end_matches(')'), 16).ok()
            } else if rest.contains("<<") {
                let s: String = rest.split_whitespace().skip(1).collect::<Vec<_>>().join("");
                let s = s
                    .split("/*")
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c| c == '(' || c == ')');
                s.split_once("<<").and_then(|(a, b)| {
                    Some(a.parse::<i64>().ok()? << b.trim_end_matches(')').parse::<i64>().ok()?)
                })
            } else {
                v.trim_end_matches(')').parse::<i64>().ok()
            };
            if let Some(p) = parsed {
                out.insert(name.to_string(), p);
            }
        }
    }
    // enum { A = 0, B, C, ... };  (sequential values, explicit "= N" honoured)
    let mut in_enum = false;
    let mut next = 0i64;
    for line in text.lines() {
        let l = line.split("/*").next().unwrap_or("").trim();
        if l.starts_with("enum") {
            in_enum = true;
            next = 0;
            continue;
        }
        if in_enum {
            if l.starts_with('}') {
                in_enum = false;
                continue;
            }
            let item = l.trim_end_matches(',');
            if item.is_empty() {
                continue;
            }
            let (name, val) = match item.split_once('=') {
                Some((n, v)) => (n.trim(), v.trim().parse::<i64>().unwrap_or(next)),
                None => (item, next),
            };
            out.insert(name.to_string(), val);
            next = val + 1;
        }
    }
    out
}

macro_rules! table {
    ($($name:ident),* $(,)?) => { vec![$((stringify!($name), $name as i64)),*] };
}

fn ours() -> Vec<(&'static str, i64)> {
    table![
        IPVS_GENL_VERSION,
        IP_VS_SCHEDNAME_MAXLEN,
        IP_VS_PENAME_MAXLEN,
        IP_VS_SVC_F_PERSISTENT,
        IP_VS_SVC_F_HASHED,
        IP_VS_SVC_F_ONEPACKET,
        IP_VS_SVC_F_SCHED1,
        IP_VS_SVC_F_SCHED2,
        IP_VS_SVC_F_SCHED3,
        IP_VS_CONN_F_FWD_MASK,
        IP_VS_CONN_F_MASQ,
        IP_VS_CONN_F_LOCALNODE,
        IP_VS_CONN_F_TUNNEL,
        IP_VS_CONN_F_DROUTE,
        IP_VS_CONN_F_BYPASS,
        IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
        IP_VS_CONN_F_TUNNEL_TYPE_GUE,
        IP_VS_CONN_F_TUNNEL_TYPE_GRE,
        IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM,
        IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
        IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
        IPVS_CMD_NEW_SERVICE,
        IPVS_CMD_SET_SERVICE,
        IPVS_CMD_DEL_SERVICE,
        IPVS_CMD_GET_SERVICE,
        IPVS_CMD_NEW_DEST,
        IPVS_CMD_SET_DEST,
        IPVS_CMD_DEL_DEST,
        IPVS_CMD_GET_DEST,
        IPVS_CMD_NEW_DAEMON,
        IPVS_CMD_DEL_DAEMON,
        IPVS_CMD_GET_DAEMON,
        IPVS_CMD_SET_CONFIG,
        IPVS_CMD_GET_CONFIG,
        IPVS_CMD_SET_INFO,
        IPVS_CMD_GET_INFO,
        IPVS_CMD_ZERO,
        IPVS_CMD_FLUSH,
        IPVS_CMD_ATTR_SERVICE,
        IPVS_CMD_ATTR_DEST,
        IPVS_CMD_ATTR_DAEMON,
        IPVS_CMD_ATTR_TIMEOUT_TCP,
        IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
        IPVS_CMD_ATTR_TIMEOUT_UDP,
        IPVS_SVC_ATTR_AF,
        IPVS_SVC_ATTR_PROTOCOL,
        IPVS_SVC_ATTR_ADDR,
        IPVS_SVC_ATTR_PORT,
        IPVS_SVC_ATTR_FWMARK,
        IPVS_SVC_ATTR_SCHED_NAME,
        IPVS_SVC_ATTR_FLAGS,
        IPVS_SVC_ATTR_TIMEOUT,
        IPVS_SVC_ATTR_NETMASK,
        IPVS_SVC_ATTR_STATS,
        IPVS_SVC_ATTR_PE_NAME,
        IPVS_SVC_ATTR_STATS64,
        IPVS_DEST_ATTR_ADDR,
        IPVS_DEST_ATTR_PORT,
        IPVS_DEST_ATTR_FWD_METHOD,
        IPVS_DEST_ATTR_WEIGHT,
        IPVS_DEST_ATTR_U_THRESH,
        IPVS_DEST_ATTR_L_THRESH,
        IPVS_DEST_ATTR_ACTIVE_CONNS,
        IPVS_DEST_ATTR_INACT_CONNS,
        IPVS_DEST_ATTR_PERSIST_CONNS,
        IPVS_DEST_ATTR_STATS,
        IPVS_DEST_ATTR_ADDR_FAMILY,
        IPVS_DEST_ATTR_STATS64,
        IPVS_DEST_ATTR_TUN_TYPE,
        IPVS_DEST_ATTR_TUN_PORT,
        IPVS_DEST_ATTR_TUN_FLAGS,
        IPVS_STATS_ATTR_CONNS,
        IPVS_STATS_ATTR_INPKTS,
        IPVS_STATS_ATTR_OUTPKTS,
        IPVS_STATS_ATTR_INBYTES,
        IPVS_STATS_ATTR_OUTBYTES,
        IPVS_STATS_ATTR_CPS,
        IPVS_STATS_ATTR_INPPS,
        IPVS_STATS_ATTR_OUTPPS,
        IPVS_STATS_ATTR_INBPS,
        IPVS_STATS_ATTR_OUTBPS,
        IPVS_INFO_ATTR_VERSION,
        IPVS_INFO_ATTR_CONN_TAB_SIZE,
    ]
}

#[test]
fn constants_match_uapi_header() {
    let path = "/usr/include/linux/ip_vs.h";
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("{path} not present (apt-get install linux-libc-dev): checking literals only");
        return;
    };
    let hv = header_values(&text);
    assert_eq!(hv.get("IP_VS_VERSION_CODE"), Some(&0x010201));
    let mut checked = 0;
    for (name, v) in ours() {
        let h = hv
            .get(name)
            .unwrap_or_else(|| panic!("{name} not found in {path}"));
        assert_eq!(*h, v, "{name}: header {h}, ours {v}");
        checked += 1;
    }
    assert_eq!(checked, ours().len());
    assert!(text.contains("#define IPVS_GENL_NAME\t\t\"IPVS\"") || text.contains("\"IPVS\""));
    assert_eq!(IPVS_GENL_NAME, "IPVS");
}

#[test]
fn constants_literal_values() {
    // From include/uapi/linux/ip_vs.h (Linux 6.1), written out.
    assert_eq!(IPVS_CMD_NEW_SERVICE, 1);
    assert_eq!(IPVS_CMD_GET_INFO, 15);
    assert_eq!(IPVS_CMD_FLUSH, 17);
    assert_eq!(IPVS_SVC_ATTR_NETMASK, 9);
    assert_eq!(IPVS_SVC_ATTR_STATS64, 12);
    assert_eq!(IPVS_DEST_ATTR_ADDR_FAMILY, 11);
    assert_eq!(IPVS_DEST_ATTR_TUN_FLAGS, 15);
    assert_eq!(IP_VS_CONN_F_DROUTE, 3);
    assert_eq!(IP_VS_SVC_F_SCHED2, 0x10);
}
