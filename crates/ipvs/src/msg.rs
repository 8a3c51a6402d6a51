//! IPVS requests as bytes and IPVS replies as values (pure: no socket).
//!
//! Attribute order follows keepalived's `check/libipvs.c` and ipvsadm's
//! libipvs: `AF`, then `FWMARK` or `PROTOCOL`/`ADDR`/`PORT`, `SCHED_NAME`,
//! `PE_NAME`, `FLAGS` ({flags, mask = ~0}), `TIMEOUT`, `NETMASK`; destinations
//! carry `ADDR_FAMILY`, `ADDR`, `PORT`, `FWD_METHOD`, `WEIGHT`, the tunnel
//! attributes for TUN, `U_THRESH`, `L_THRESH`. Addresses are sent as the
//! 16-byte `union nf_inet_addr`; ports big-endian; nests flagged NLA_F_NESTED.
//! Checked against what ipvsadm 1.31 sends (strace in the guest, see
//! `tests/encode.rs`). Differences from ipvsadm, all accepted by the kernel,
//! which reads only what it needs: destination commands carry the service
//! identity only (ipvsadm sends the full service), `DEL_DEST` carries the
//! destination address and port only, and `TUN_*` are sent as keepalived does
//! (type for every tunnel, port for GUE, flags for GUE/GRE; ipvsadm sends all three
//! for every destination).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::consts::*;
use crate::types::*;
use crate::wire::{attrs, Attr, MsgBuilder, WireError};

/// Which IPVS command a request carries, for error messages.
pub type Cmd = u8;

/// The request header fields every IPVS message shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Resolved generic netlink id of the "IPVS" family.
    pub family_id: u16,
    /// Sequence number.
    pub seq: u32,
}

fn start(h: Header, cmd: Cmd, flags: u16) -> MsgBuilder {
    MsgBuilder::new(
        h.family_id,
        NLM_F_REQUEST | flags,
        h.seq,
        cmd,
        IPVS_GENL_VERSION,
    )
}

fn addr16(a: &IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn put_service_key(m: &mut MsgBuilder, key: &ServiceKey) {
    m.put_u16(IPVS_SVC_ATTR_AF, key.family().to_raw());
    match key {
        ServiceKey::Fwmark { mark, .. } => {
            m.put_u32(IPVS_SVC_ATTR_FWMARK, *mark);
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            m.put_u16(IPVS_SVC_ATTR_PROTOCOL, protocol.to_raw());
            m.put(IPVS_SVC_ATTR_ADDR, &addr16(addr));
            m.put_be16(IPVS_SVC_ATTR_PORT, *port);
        }
    }
}

fn put_service(m: &mut MsgBuilder, s: &Service) {
    m.nest_start(IPVS_CMD_ATTR_SERVICE);
    put_service_key(m, &s.key);
    m.put_str(IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.name());
    if let Some(pe) = &s.pe_name {
        m.put_str(IPVS_SVC_ATTR_PE_NAME, pe);
    }
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&s.flags.configured().0.to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    m.put(IPVS_SVC_ATTR_FLAGS, &flags);
    m.put_u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    m.put(IPVS_SVC_ATTR_NETMASK, &s.netmask.to_bytes());
    m.nest_end();
}

fn put_key_only(m: &mut MsgBuilder, key: &ServiceKey) {
    m.nest_start(IPVS_CMD_ATTR_SERVICE);
    put_service_key(m, key);
    m.nest_end();
}

fn put_dest(m: &mut MsgBuilder, d: &Destination) {
    m.nest_start(IPVS_CMD_ATTR_DEST);
    put_dest_body(m, d);
    m.nest_end();
}

fn put_dest_body(m: &mut MsgBuilder, d: &Destination) {
    m.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, Family::of(&d.key.addr).to_raw());
    m.put(IPVS_DEST_ATTR_ADDR, &addr16(&d.key.addr));
    m.put_be16(IPVS_DEST_ATTR_PORT, d.key.port);
    m.put_u32(IPVS_DEST_ATTR_FWD_METHOD, d.forward.to_raw());
    m.put_u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
    // As keepalived 2.2.7 sends them: the type for every tunnel, the port for GUE,
    // the checksum flags for GUE and GRE (IPIP has neither).
    if let Forward::Tunnel(t) = d.forward {
        m.put_u8(IPVS_DEST_ATTR_TUN_TYPE, t.kind.to_raw());
        if t.kind == TunnelType::Gue {
            m.put_be16(IPVS_DEST_ATTR_TUN_PORT, t.port);
        }
        if t.kind != TunnelType::Ipip {
            m.put_u16(IPVS_DEST_ATTR_TUN_FLAGS, t.flags);
        }
    }
    m.put_u32(IPVS_DEST_ATTR_U_THRESH, d.u_threshold);
    m.put_u32(IPVS_DEST_ATTR_L_THRESH, d.l_threshold);
}

/// `IPVS_CMD_NEW_SERVICE` (with ACK).
pub fn new_service(h: Header, s: &Service) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_NEW_SERVICE, NLM_F_ACK);
    put_service(&mut m, s);
    m.finish()
}

/// `IPVS_CMD_SET_SERVICE` (with ACK).
pub fn set_service(h: Header, s: &Service) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_SET_SERVICE, NLM_F_ACK);
    put_service(&mut m, s);
    m.finish()
}

/// `IPVS_CMD_DEL_SERVICE` (with ACK): only the identity is sent.
pub fn del_service(h: Header, key: &ServiceKey) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_DEL_SERVICE, NLM_F_ACK);
    put_key_only(&mut m, key);
    m.finish()
}

/// `IPVS_CMD_NEW_DEST` (with ACK).
pub fn new_dest(h: Header, svc: &ServiceKey, d: &Destination) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_NEW_DEST, NLM_F_ACK);
    put_key_only(&mut m, svc);
    put_dest(&mut m, d);
    m.finish()
}

/// `IPVS_CMD_SET_DEST` (with ACK).
pub fn set_dest(h: Header, svc: &ServiceKey, d: &Destination) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_SET_DEST, NLM_F_ACK);
    put_key_only(&mut m, svc);
    put_dest(&mut m, d);
    m.finish()
}

/// `IPVS_CMD_DEL_DEST` (with ACK): service identity, destination address family, address, port.
pub fn del_dest(h: Header, svc: &ServiceKey, d: &DestKey) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_DEL_DEST, NLM_F_ACK);
    put_key_only(&mut m, svc);
    m.nest_start(IPVS_CMD_ATTR_DEST);
    m.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, Family::of(&d.addr).to_raw());
    m.put(IPVS_DEST_ATTR_ADDR, &addr16(&d.addr));
    m.put_be16(IPVS_DEST_ATTR_PORT, d.port);
    m.nest_end();
    m.finish()
}

/// `IPVS_CMD_GET_SERVICE` as a dump of every service.
pub fn get_services(h: Header) -> Vec<u8> {
    start(h, IPVS_CMD_GET_SERVICE, NLM_F_DUMP).finish()
}

/// `IPVS_CMD_GET_DEST` as a dump of the destinations of one service.
pub fn get_dests(h: Header, svc: &ServiceKey) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_GET_DEST, NLM_F_DUMP);
    put_key_only(&mut m, svc);
    m.finish()
}

/// `IPVS_CMD_FLUSH` (with ACK).
pub fn flush(h: Header) -> Vec<u8> {
    start(h, IPVS_CMD_FLUSH, NLM_F_ACK).finish()
}

/// `IPVS_CMD_GET_INFO`.
pub fn get_info(h: Header) -> Vec<u8> {
    start(h, IPVS_CMD_GET_INFO, 0).finish()
}

/// `IPVS_CMD_GET_CONFIG` (timeouts).
pub fn get_config(h: Header) -> Vec<u8> {
    start(h, IPVS_CMD_GET_CONFIG, 0).finish()
}

/// `IPVS_CMD_SET_CONFIG` (with ACK); a 0 timeout leaves that value unchanged.
pub fn set_config(h: Header, t: &Timeouts) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_SET_CONFIG, NLM_F_ACK);
    m.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
    m.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin);
    m.put_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
    m.finish()
}

/// `IPVS_CMD_ZERO` (with ACK): zero the counters of one service, or of all with `None`.
pub fn zero(h: Header, svc: Option<&ServiceKey>) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_ZERO, NLM_F_ACK);
    if let Some(k) = svc {
        put_key_only(&mut m, k);
    }
    m.finish()
}

/// `IPVS_CMD_NEW_DAEMON` (with ACK), attributes as keepalived sends them: state,
/// interface, sync id, then the optional ones only when set.
pub fn new_daemon(h: Header, d: &SyncDaemon) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_NEW_DAEMON, NLM_F_ACK);
    m.nest_start(IPVS_CMD_ATTR_DAEMON);
    m.put_u32(IPVS_DAEMON_ATTR_STATE, d.state.to_raw());
    m.put_str(IPVS_DAEMON_ATTR_MCAST_IFN, &d.mcast_ifn);
    m.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
    if d.sync_maxlen != 0 {
        m.put_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.sync_maxlen);
    }
    if d.mcast_port != 0 {
        m.put_u16(IPVS_DAEMON_ATTR_MCAST_PORT, d.mcast_port); // host order (kernel nla_get_u16)
    }
    if d.mcast_ttl != 0 {
        m.put_u8(IPVS_DAEMON_ATTR_MCAST_TTL, d.mcast_ttl);
    }
    match d.mcast_group {
        Some(IpAddr::V6(g)) => {
            m.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &g.octets());
        }
        Some(IpAddr::V4(g)) => {
            m.put(IPVS_DAEMON_ATTR_MCAST_GROUP, &g.octets());
        }
        None => {}
    }
    m.nest_end();
    m.finish()
}

/// `IPVS_CMD_DEL_DAEMON` (with ACK): state and sync id, as keepalived sends them.
pub fn del_daemon(h: Header, state: SyncState, sync_id: u32) -> Vec<u8> {
    let mut m = start(h, IPVS_CMD_DEL_DAEMON, NLM_F_ACK);
    m.nest_start(IPVS_CMD_ATTR_DAEMON);
    m.put_u32(IPVS_DAEMON_ATTR_STATE, state.to_raw());
    m.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, sync_id);
    m.nest_end();
    m.finish()
}

/// `IPVS_CMD_GET_DAEMON` as a dump.
pub fn get_daemons(h: Header) -> Vec<u8> {
    start(h, IPVS_CMD_GET_DAEMON, NLM_F_DUMP).finish()
}

/// `CTRL_CMD_GETFAMILY` for "IPVS" to the generic netlink controller.
pub fn get_family(seq: u32) -> Vec<u8> {
    let mut m = MsgBuilder::new(
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        CTRL_CMD_GETFAMILY,
        1,
    );
    m.put_str(CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
    m.finish()
}

// ---------------------------------------------------------------- decoding

/// The family id in a controller reply.
pub fn parse_family_id(attr_area: &[u8]) -> Result<u16, WireError> {
    for a in attrs(attr_area) {
        let a = a?;
        if a.ty == CTRL_ATTR_FAMILY_ID {
            return a.u16();
        }
    }
    Err(WireError::Missing("CTRL_ATTR_FAMILY_ID"))
}

fn find<'a>(area: &'a [u8], ty: u16) -> Result<Option<Attr<'a>>, WireError> {
    for a in attrs(area) {
        let a = a?;
        if a.ty == ty {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

fn decode_addr(family: Family, a: &Attr<'_>) -> Result<IpAddr, WireError> {
    let p = a.payload;
    match family {
        Family::Inet if p.len() >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(p[0], p[1], p[2], p[3]))),
        Family::Inet6 if p.len() >= 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&p[..16]);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => Err(WireError::BadAttrLen {
            ty: a.ty,
            len: p.len(),
            expected: "4 (IPv4) or 16 (IPv6) bytes",
        }),
    }
}

fn decode_stats(area: &[u8], wide: bool) -> Result<Stats, WireError> {
    let mut s = Stats::default();
    for a in attrs(area) {
        let a = a?;
        // The 64-bit set carries every counter as u64; the 32-bit set has bytes as u64 and the rest u32.
        let v = if wide || a.ty == IPVS_STATS_ATTR_INBYTES || a.ty == IPVS_STATS_ATTR_OUTBYTES {
            a.u64()?
        } else if a.ty == 0 || a.ty > IPVS_STATS_ATTR_OUTBPS {
            continue; // PAD or newer
        } else {
            u64::from(a.u32()?)
        };
        match a.ty {
            IPVS_STATS_ATTR_CONNS => s.conns = v,
            IPVS_STATS_ATTR_INPKTS => s.inpkts = v,
            IPVS_STATS_ATTR_OUTPKTS => s.outpkts = v,
            IPVS_STATS_ATTR_INBYTES => s.inbytes = v,
            IPVS_STATS_ATTR_OUTBYTES => s.outbytes = v,
            IPVS_STATS_ATTR_CPS => s.cps = v,
            IPVS_STATS_ATTR_INPPS => s.inpps = v,
            IPVS_STATS_ATTR_OUTPPS => s.outpps = v,
            IPVS_STATS_ATTR_INBPS => s.inbps = v,
            IPVS_STATS_ATTR_OUTBPS => s.outbps = v,
            _ => {}
        }
    }
    Ok(s)
}

/// Decode the nested `IPVS_CMD_ATTR_SERVICE` of a GET_SERVICE reply (its payload).
pub fn decode_service(area: &[u8]) -> Result<Service, WireError> {
    // The family first: the address and netmask are read according to it.
    let af = find(area, IPVS_SVC_ATTR_AF)?
        .ok_or(WireError::Missing("IPVS_SVC_ATTR_AF"))?
        .u16()?;
    let family = Family::from_raw(af).ok_or(WireError::BadValue {
        what: "IPVS_SVC_ATTR_AF",
        value: af.into(),
    })?;
    let key = match find(area, IPVS_SVC_ATTR_FWMARK)? {
        Some(fw) if fw.u32()? != 0 => ServiceKey::Fwmark {
            family,
            mark: fw.u32()?,
        },
        _ => {
            let p = find(area, IPVS_SVC_ATTR_PROTOCOL)?
                .ok_or(WireError::Missing("IPVS_SVC_ATTR_PROTOCOL"))?
                .u16()?;
            let protocol = Protocol::from_raw(p).ok_or(WireError::BadValue {
                what: "IPVS_SVC_ATTR_PROTOCOL",
                value: p.into(),
            })?;
            let addr = decode_addr(
                family,
                &find(area, IPVS_SVC_ATTR_ADDR)?.ok_or(WireError::Missing("IPVS_SVC_ATTR_ADDR"))?,
            )?;
            let port = find(area, IPVS_SVC_ATTR_PORT)?
                .ok_or(WireError::Missing("IPVS_SVC_ATTR_PORT"))?
                .be16()?;
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            }
        }
    };
    let mut s = Service::new(key, Scheduler::Rr);
    let mut stats32 = None;
    let mut stats64 = None;
    for a in attrs(area) {
        let a = a?;
        match a.ty {
            IPVS_SVC_ATTR_SCHED_NAME => s.scheduler = Scheduler::from_name(&a.string()),
            IPVS_SVC_ATTR_PE_NAME => {
                let pe = a.string();
                s.pe_name = (!pe.is_empty()).then_some(pe);
            }
            IPVS_SVC_ATTR_FLAGS => {
                let p = a.payload;
                if p.len() < 4 {
                    return Err(WireError::BadAttrLen {
                        ty: a.ty,
                        len: p.len(),
                        expected: "8 bytes",
                    });
                }
                s.flags = ServiceFlags(u32::from_ne_bytes([p[0], p[1], p[2], p[3]]));
            }
            IPVS_SVC_ATTR_TIMEOUT => s.timeout = a.u32()?,
            IPVS_SVC_ATTR_NETMASK => {
                let b: [u8; 4] = a.payload.try_into().map_err(|_| WireError::BadAttrLen {
                    ty: a.ty,
                    len: a.payload.len(),
                    expected: "4 bytes",
                })?;
                s.netmask = Netmask::from_bytes(family, b);
            }
            IPVS_SVC_ATTR_STATS => stats32 = Some(decode_stats(a.payload, false)?),
            IPVS_SVC_ATTR_STATS64 => stats64 = Some(decode_stats(a.payload, true)?),
            _ => {}
        }
    }
    s.stats = stats64.or(stats32);
    Ok(s)
}

/// Decode the nested `IPVS_CMD_ATTR_DEST` of a GET_DEST reply; `svc_family`
/// is used when the kernel sends no `ADDR_FAMILY` (before Linux 3.18).
pub fn decode_dest(area: &[u8], svc_family: Family) -> Result<Destination, WireError> {
    let family = match find(area, IPVS_DEST_ATTR_ADDR_FAMILY)? {
        Some(a) => {
            let af = a.u16()?;
            Family::from_raw(af).ok_or(WireError::BadValue {
                what: "IPVS_DEST_ATTR_ADDR_FAMILY",
                value: af.into(),
            })?
        }
        None => svc_family,
    };
    let addr = decode_addr(
        family,
        &find(area, IPVS_DEST_ATTR_ADDR)?.ok_or(WireError::Missing("IPVS_DEST_ATTR_ADDR"))?,
    )?;
    let port = find(area, IPVS_DEST_ATTR_PORT)?
        .ok_or(WireError::Missing("IPVS_DEST_ATTR_PORT"))?
        .be16()?;
    let mut fwd = 0u32;
    let mut tun = Tunnel::IPIP;
    let mut d = Destination::new(addr, port, Forward::Masq);
    let mut ds = DestStats::default();
    let mut have_stats = false;
    let mut stats32 = None;
    for a in attrs(area) {
        let a = a?;
        match a.ty {
            IPVS_DEST_ATTR_FWD_METHOD => fwd = a.u32()?,
            IPVS_DEST_ATTR_WEIGHT => d.weight = a.u32()?,
            IPVS_DEST_ATTR_U_THRESH => d.u_threshold = a.u32()?,
            IPVS_DEST_ATTR_L_THRESH => d.l_threshold = a.u32()?,
            IPVS_DEST_ATTR_TUN_TYPE => tun.kind = TunnelType::from_raw(a.u8()?),
            IPVS_DEST_ATTR_TUN_PORT => tun.port = a.be16()?,
            IPVS_DEST_ATTR_TUN_FLAGS => tun.flags = a.u16()?,
            IPVS_DEST_ATTR_ACTIVE_CONNS => {
                ds.active_conns = a.u32()?;
                have_stats = true;
            }
            IPVS_DEST_ATTR_INACT_CONNS => {
                ds.inact_conns = a.u32()?;
                have_stats = true;
            }
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                ds.persist_conns = a.u32()?;
                have_stats = true;
            }
            IPVS_DEST_ATTR_STATS => stats32 = Some(decode_stats(a.payload, false)?),
            IPVS_DEST_ATTR_STATS64 => {
                ds.stats = decode_stats(a.payload, true)?;
                have_stats = true;
            }
            _ => {}
        }
    }
    if let Some(s) = stats32 {
        if ds.stats == Stats::default() {
            ds.stats = s;
        }
        have_stats = true;
    }
    d.forward = match fwd & IP_VS_CONN_F_FWD_MASK {
        IP_VS_CONN_F_MASQ => Forward::Masq,
        IP_VS_CONN_F_LOCALNODE => Forward::Local,
        IP_VS_CONN_F_TUNNEL => Forward::Tunnel(tun),
        IP_VS_CONN_F_DROUTE => Forward::Route,
        IP_VS_CONN_F_BYPASS => Forward::Bypass,
        other => {
            return Err(WireError::BadValue {
                what: "IPVS_DEST_ATTR_FWD_METHOD",
                value: other.into(),
            })
        }
    };
    d.stats = have_stats.then_some(ds);
    Ok(d)
}

/// Find and decode the service in a GET_SERVICE reply's attribute area.
pub fn parse_service_reply(attr_area: &[u8]) -> Result<Service, WireError> {
    let nest = find(attr_area, IPVS_CMD_ATTR_SERVICE)?
        .ok_or(WireError::Missing("IPVS_CMD_ATTR_SERVICE"))?;
    decode_service(nest.payload)
}

/// Find and decode the destination in a GET_DEST reply's attribute area.
pub fn parse_dest_reply(attr_area: &[u8], svc_family: Family) -> Result<Destination, WireError> {
    let nest =
        find(attr_area, IPVS_CMD_ATTR_DEST)?.ok_or(WireError::Missing("IPVS_CMD_ATTR_DEST"))?;
    decode_dest(nest.payload, svc_family)
}

/// Decode a GET_INFO reply.
pub fn parse_info(attr_area: &[u8]) -> Result<Info, WireError> {
    let version = find(attr_area, IPVS_INFO_ATTR_VERSION)?
        .ok_or(WireError::Missing("IPVS_INFO_ATTR_VERSION"))?
        .u32()?;
    let conn_tab_size = match find(attr_area, IPVS_INFO_ATTR_CONN_TAB_SIZE)? {
        Some(a) => a.u32()?,
        None => 0,
    };
    Ok(Info {
        version,
        conn_tab_size,
    })
}

/// Decode a GET_CONFIG reply.
pub fn parse_timeouts(attr_area: &[u8]) -> Result<Timeouts, WireError> {
    let mut t = Timeouts::default();
    for a in attrs(attr_area) {
        let a = a?;
        match a.ty {
            IPVS_CMD_ATTR_TIMEOUT_TCP => t.tcp = a.u32()?,
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => t.tcp_fin = a.u32()?,
            IPVS_CMD_ATTR_TIMEOUT_UDP => t.udp = a.u32()?,
            _ => {}
        }
    }
    Ok(t)
}

/// Decode a GET_DAEMON reply (its `IPVS_CMD_ATTR_DAEMON` nest).
pub fn parse_daemon_reply(attr_area: &[u8]) -> Result<SyncDaemon, WireError> {
    let nest =
        find(attr_area, IPVS_CMD_ATTR_DAEMON)?.ok_or(WireError::Missing("IPVS_CMD_ATTR_DAEMON"))?;
    let area = nest.payload;
    let st = find(area, IPVS_DAEMON_ATTR_STATE)?
        .ok_or(WireError::Missing("IPVS_DAEMON_ATTR_STATE"))?
        .u32()?;
    let state = SyncState::from_raw(st).ok_or(WireError::BadValue {
        what: "IPVS_DAEMON_ATTR_STATE",
        value: st.into(),
    })?;
    let mut d = SyncDaemon::new(state, "", 0);
    for a in attrs(area) {
        let a = a?;
        match a.ty {
            IPVS_DAEMON_ATTR_MCAST_IFN => d.mcast_ifn = a.string(),
            IPVS_DAEMON_ATTR_SYNC_ID => d.sync_id = a.u32()?,
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => d.sync_maxlen = a.u16()?,
            IPVS_DAEMON_ATTR_MCAST_PORT => d.mcast_port = a.u16()?,
            IPVS_DAEMON_ATTR_MCAST_TTL => d.mcast_ttl = a.u8()?,
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                let b: [u8; 4] = a.payload.try_into().map_err(|_| WireError::BadAttrLen {
                    ty: a.ty,
                    len: a.payload.len(),
                    expected: "4 bytes",
                })?;
                d.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(b)));
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                let b: [u8; 16] = a.payload.try_into().map_err(|_| WireError::BadAttrLen {
                    ty: a.ty,
                    len: a.payload.len(),
                    expected: "16 bytes",
                })?;
                d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => {}
        }
    }
    Ok(d)
}
