//! Netlink framing and rtnetlink payload encoding/decoding. Pure functions
//! over byte buffers, shared by [`crate::Rtnl`] and [`crate::EventSocket`].
//!
//! Framing (splitting a datagram into `nlmsghdr` messages) is done here by
//! hand so that one malformed message cannot stop the others from being
//! read; payloads (`ifinfomsg`, `ifaddrmsg`, `rtmsg` and their attributes)
//! are encoded and decoded with neli.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{
    Arphrd, FrAct, Frattr, Ifa, IfaF, Ifla, IflaInfo, RtAddrFamily, RtScope, RtTable, Rta, RtaType,
    Rtm, Rtn, Rtprot,
};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::rtnl::{
    Fibmsg, FibmsgBuilder, Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, Rtattr,
    RtattrBuilder, Rtmsg, RtmsgBuilder,
};
use neli::types::{Buffer, RtBuffer};
use neli::{FromBytesWithInput, Size, ToBytes};

use crate::error::{Error, Result};
use crate::types::{AddrFlags, Family, IfAddr, Link, MacvlanMode, Route, Rule, Scope};

/// `sizeof(struct nlmsghdr)`.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_NOOP`.
pub(crate) const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`.
pub(crate) const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub(crate) const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub(crate) const NLMSG_OVERRUN: u16 = 4;
/// `NLM_F_DUMP_INTR`: the dump changed while it was read.
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
/// `IFA_FLAGS`.
const IFA_FLAGS: u16 = 8;
/// `IFA_CACHEINFO`.
const IFA_CACHEINFO: u16 = 6;
/// `IFA_PROTO` (u8).
const IFA_PROTO: u16 = 11;
/// `RTM_NEWLINK` .. `RTM_DELADDR`.
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_DELLINK: u16 = 17;
pub(crate) const RTM_NEWADDR: u16 = 20;
pub(crate) const RTM_DELADDR: u16 = 21;

/// One netlink message inside a received datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawMsg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_ne_bytes([s[0], s[1]]))
}

/// Splits a datagram into messages. Returns the well-formed messages and
/// whether trailing bytes were malformed (a header with a bad length stops
/// the walk, as nothing after it can be trusted).
pub(crate) fn split(buf: &[u8]) -> (Vec<RawMsg<'_>>, bool) {
    let mut out = Vec::new();
    let mut off = 0usize;
    while buf.len() - off >= NLMSG_HDRLEN {
        let b = &buf[off..];
        let (Some(len), Some(ty), Some(flags), Some(seq)) =
            (u32_at(b, 0), u16_at(b, 4), u16_at(b, 6), u32_at(b, 8))
        else {
            return (out, true);
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            return (out, true);
        }
        out.push(RawMsg {
            ty,
            flags,
            seq,
            payload: &b[NLMSG_HDRLEN..len],
        });
        let step = (len + 3) & !3;
        off += step.min(b.len());
    }
    (out, off != buf.len())
}

/// The errno carried by an `NLMSG_ERROR` payload (0 = ACK).
pub(crate) fn error_code(payload: &[u8]) -> Option<i32> {
    u32_at(payload, 0).map(|v| (v as i32).wrapping_neg())
}

fn ip_from(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

fn ip_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Decodes an `RTM_NEWLINK`/`RTM_DELLINK` payload.
pub(crate) fn decode_link(payload: &[u8]) -> Result<Link> {
    let msg = Ifinfomsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
        .map_err(|e| Error::Decode(format!("ifinfomsg: {e}")))?;
    let index = u32::try_from(*msg.ifi_index())
        .map_err(|_| Error::Decode("negative interface index".into()))?;
    let mut link = Link {
        index,
        name: String::new(),
        flags: msg.ifi_flags().bits(),
        mac: None,
        mtu: None,
        hw_type: u16::from(*msg.ifi_type()),
        kind: None,
        parent: None,
    };
    for attr in msg.rtattrs().iter() {
        let p = attr.rta_payload().as_ref();
        match attr.rta_type() {
            Ifla::Ifname => link.name = cstr(p),
            Ifla::Address => {
                if let Ok(mac) = <[u8; 6]>::try_from(p) {
                    link.mac = Some(mac);
                }
            }
            Ifla::Mtu => link.mtu = u32_at(p, 0),
            Ifla::Link => link.parent = u32_at(p, 0).filter(|&i| i != 0),
            Ifla::Linkinfo => {
                // Nested: IFLA_INFO_KIND (string). A malformed nest only
                // loses the kind.
                if let Ok(h) = attr.get_attr_handle::<IflaInfo>() {
                    link.kind = h
                        .get_attribute(IflaInfo::Kind)
                        .map(|k| cstr(k.rta_payload().as_ref()));
                }
            }
            _ => {}
        }
    }
    if link.name.is_empty() {
        return Err(Error::Decode(format!("link {index} without IFLA_IFNAME")));
    }
    Ok(link)
}

/// Decodes an `RTM_NEWADDR`/`RTM_DELADDR` payload.
pub(crate) fn decode_addr(payload: &[u8]) -> Result<IfAddr> {
    let msg = Ifaddrmsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
        .map_err(|e| Error::Decode(format!("ifaddrmsg: {e}")))?;
    let mut local = None;
    let mut address = None;
    let mut broadcast = None;
    let mut label = None;
    let mut flags = AddrFlags(u32::from(msg.ifa_flags().bits()));
    let mut preferred_lft = None;
    let mut protocol = None;
    for attr in msg.rtattrs().iter() {
        let p = attr.rta_payload().as_ref();
        match u16::from(*attr.rta_type()) {
            t if t == u16::from(Ifa::Local) => local = ip_from(p),
            t if t == u16::from(Ifa::Address) => address = ip_from(p),
            t if t == u16::from(Ifa::Broadcast) => {
                if let Some(IpAddr::V4(b)) = ip_from(p) {
                    broadcast = Some(b);
                }
            }
            t if t == u16::from(Ifa::Label) => label = Some(cstr(p)),
            IFA_FLAGS => {
                if let Some(f) = u32_at(p, 0) {
                    flags = AddrFlags(f);
                }
            }
            IFA_CACHEINFO => {
                preferred_lft = u32_at(p, 0).filter(|&v| v != u32::MAX);
            }
            IFA_PROTO => protocol = p.first().copied(),
            _ => {}
        }
    }
    let (addr, peer) = match (local, address) {
        (Some(l), Some(a)) if l != a => (l, Some(a)),
        (Some(l), _) => (l, None),
        (None, Some(a)) => (a, None),
        (None, None) => return Err(Error::Decode("address message without address".into())),
    };
    let family = u8::from(*msg.ifa_family());
    let fam_ok = match addr {
        IpAddr::V4(_) => family == libc::AF_INET as u8,
        IpAddr::V6(_) => family == libc::AF_INET6 as u8,
    };
    if !fam_ok {
        return Err(Error::Decode("address length does not match family".into()));
    }
    Ok(IfAddr {
        ifindex: *msg.ifa_index(),
        addr,
        prefix_len: *msg.ifa_prefixlen(),
        peer,
        broadcast,
        scope: Scope::from_u8(u8::from(*msg.ifa_scope())),
        label,
        flags,
        preferred_lft,
        protocol,
    })
}

fn attr<T: RtaType>(ty: T, payload: Vec<u8>) -> Result<Rtattr<T, Buffer>> {
    RtattrBuilder::default()
        .rta_type(ty)
        .rta_payload(Buffer::from(payload))
        .build()
        .map_err(|e| Error::Invalid(format!("attribute: {e}")))
}

/// Serialises a complete netlink request.
fn frame<P: Size + ToBytes>(ty: Rtm, flags: NlmF, seq: u32, payload: P) -> Result<Vec<u8>> {
    let msg = NlmsghdrBuilder::default()
        .nl_type(ty)
        .nl_flags(flags | NlmF::REQUEST)
        .nl_seq(seq)
        .nl_pid(0)
        .nl_payload(NlPayload::Payload(payload))
        .build()
        .map_err(|e| Error::Invalid(format!("nlmsghdr: {e}")))?;
    let mut buf = Cursor::new(vec![0u8; msg.padded_size()]);
    msg.to_bytes(&mut buf)
        .map_err(|e| Error::Invalid(format!("serialise: {e}")))?;
    Ok(buf.into_inner())
}

fn af(f: Family) -> RtAddrFamily {
    RtAddrFamily::from(f.af())
}

/// `RTM_GETLINK`: by index (`index > 0`), by name, or a dump of all links.
pub(crate) fn get_link(seq: u32, index: u32, name: Option<&str>) -> Result<Vec<u8>> {
    let mut attrs = RtBuffer::new();
    if let Some(n) = name {
        let mut b = n.as_bytes().to_vec();
        b.push(0);
        attrs.push(attr(Ifla::Ifname, b)?);
    }
    let dump = index == 0 && name.is_none();
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_type(Arphrd::from(0u16))
        .ifi_index(index as libc::c_int)
        .rtattrs(attrs)
        .build()
        .map_err(|e| Error::Invalid(format!("ifinfomsg: {e}")))?;
    let flags = if dump { NlmF::DUMP } else { NlmF::ACK };
    frame(Rtm::Getlink, flags, seq, msg)
}

/// `IFLA_MACVLAN_MODE`.
const IFLA_MACVLAN_MODE: u16 = 1;

/// `RTM_NEWLINK` creating a macvlan `name` on `parent` with `mac`.
pub(crate) fn new_macvlan(
    seq: u32,
    parent: u32,
    name: &str,
    mac: [u8; 6],
    mode: MacvlanMode,
) -> Result<Vec<u8>> {
    let mode_attr = attr(
        IflaInfo::UnrecognizedConst(IFLA_MACVLAN_MODE),
        mode.to_u32().to_ne_bytes().to_vec(),
    )?;
    let data = attr(IflaInfo::Data, Vec::new())?
        .nest(&mode_attr)
        .map_err(|e| Error::Invalid(format!("linkinfo data: {e}")))?;
    let kind = attr(IflaInfo::Kind, b"macvlan".to_vec())?;
    let linkinfo = attr(Ifla::Linkinfo, Vec::new())?
        .nest(&kind)
        .and_then(|l| l.nest(&data))
        .map_err(|e| Error::Invalid(format!("linkinfo: {e}")))?;
    let mut attrs = RtBuffer::new();
    attrs.push(attr(Ifla::Ifname, ifname_attr(name)?)?);
    attrs.push(attr(Ifla::Link, parent.to_ne_bytes().to_vec())?);
    attrs.push(attr(Ifla::Address, mac.to_vec())?);
    attrs.push(linkinfo);
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .rtattrs(attrs)
        .build()
        .map_err(|e| Error::Invalid(format!("ifinfomsg: {e}")))?;
    frame(
        Rtm::Newlink,
        NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
        seq,
        msg,
    )
}

/// `RTM_DELLINK` by index.
pub(crate) fn del_link(seq: u32, index: u32) -> Result<Vec<u8>> {
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_index(index as libc::c_int)
        .build()
        .map_err(|e| Error::Invalid(format!("ifinfomsg: {e}")))?;
    frame(Rtm::Dellink, NlmF::ACK, seq, msg)
}

/// `RTM_NEWLINK` changing only `IFF_UP`.
pub(crate) fn set_link_up(seq: u32, index: u32, up: bool) -> Result<Vec<u8>> {
    let b = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_index(index as libc::c_int);
    let b = if up { b.up() } else { b.down() };
    let msg = b
        .build()
        .map_err(|e| Error::Invalid(format!("ifinfomsg: {e}")))?;
    frame(Rtm::Newlink, NlmF::ACK, seq, msg)
}

/// `RTM_GETADDR` dump for one family (or both).
pub(crate) fn dump_addrs(seq: u32, family: Option<Family>) -> Result<Vec<u8>> {
    let msg = IfaddrmsgBuilder::default()
        .ifa_family(family.map(af).unwrap_or(RtAddrFamily::Unspecified))
        .ifa_prefixlen(0)
        .ifa_scope(RtScope::Universe)
        .ifa_index(0)
        .build()
        .map_err(|e| Error::Invalid(format!("ifaddrmsg: {e}")))?;
    frame(Rtm::Getaddr, NlmF::DUMP, seq, msg)
}

/// `RTM_NEWADDR` (`add = true`, with `NLM_F_CREATE|NLM_F_EXCL` so an
/// existing address gives `EEXIST`) or `RTM_DELADDR`.
pub(crate) fn addr_request(seq: u32, a: &IfAddr, add: bool) -> Result<Vec<u8>> {
    let max = match a.addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    if a.prefix_len > max {
        return Err(Error::Invalid(format!(
            "prefix /{} for {}",
            a.prefix_len, a.addr
        )));
    }
    if let Some(p) = a.peer {
        if Family::of(&p) != a.family() {
            return Err(Error::Invalid(format!(
                "peer {p} family differs from {}",
                a.addr
            )));
        }
    }
    let mut attrs = RtBuffer::new();
    attrs.push(attr(Ifa::Local, ip_bytes(&a.addr))?);
    attrs.push(attr(Ifa::Address, ip_bytes(&a.peer.unwrap_or(a.addr)))?);
    if add {
        if let Some(b) = a.broadcast {
            if a.family() != Family::V4 {
                return Err(Error::Invalid("broadcast on an IPv6 address".into()));
            }
            attrs.push(attr(Ifa::Broadcast, b.octets().to_vec())?);
        }
        if let Some(l) = &a.label {
            if l.is_empty() || l.len() >= libc::IFNAMSIZ || l.as_bytes().contains(&0) {
                return Err(Error::Invalid(format!("label '{l}' (1..15 bytes)")));
            }
            if a.family() != Family::V4 {
                return Err(Error::Invalid("label on an IPv6 address".into()));
            }
            let mut b = l.as_bytes().to_vec();
            b.push(0);
            attrs.push(attr(Ifa::Label, b)?);
        }
        let flags = a.flags.requestable();
        if flags.0 != 0 {
            attrs.push(attr(
                Ifa::UnrecognizedConst(IFA_FLAGS),
                flags.0.to_ne_bytes().to_vec(),
            )?);
        }
        if let Some(pref) = a.preferred_lft {
            // struct ifa_cacheinfo { prefered, valid, cstamp, tstamp }
            let mut b = Vec::with_capacity(16);
            b.extend_from_slice(&pref.to_ne_bytes());
            b.extend_from_slice(&u32::MAX.to_ne_bytes());
            b.extend_from_slice(&[0u8; 8]);
            attrs.push(attr(Ifa::UnrecognizedConst(IFA_CACHEINFO), b)?);
        }
        if let Some(proto) = a.protocol {
            attrs.push(attr(Ifa::UnrecognizedConst(IFA_PROTO), vec![proto])?);
        }
    }
    let msg = IfaddrmsgBuilder::default()
        .ifa_family(af(a.family()))
        .ifa_prefixlen(a.prefix_len)
        .ifa_flags(IfaF::from_bits_truncate(
            (a.flags.requestable().0 & 0xff) as u8,
        ))
        .ifa_scope(RtScope::from(a.scope.to_u8()))
        .ifa_index(a.ifindex)
        .rtattrs(attrs)
        .build()
        .map_err(|e| Error::Invalid(format!("ifaddrmsg: {e}")))?;
    if add {
        frame(
            Rtm::Newaddr,
            NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
            seq,
            msg,
        )
    } else {
        frame(Rtm::Deladdr, NlmF::ACK, seq, msg)
    }
}

/// `RTM_NEWROUTE` message type.
pub(crate) const RTM_NEWROUTE: u16 = 24;
/// `RTM_NEWRULE` message type.
pub(crate) const RTM_NEWRULE: u16 = 32;
/// `RTA_TABLE`.
const RTA_TABLE: u16 = 15;
/// `FRA_TABLE`.
const FRA_TABLE: u16 = 15;

fn family_of_af(af: u8) -> Option<Family> {
    match i32::from(af) {
        libc::AF_INET => Some(Family::V4),
        libc::AF_INET6 => Some(Family::V6),
        _ => None,
    }
}

/// Decodes an `RTM_NEWROUTE` payload. Returns `Ok(None)` for routes of
/// other families or without a unicast type we model.
pub(crate) fn decode_route(payload: &[u8]) -> Result<Option<Route>> {
    let msg = Rtmsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
        .map_err(|e| Error::Decode(format!("rtmsg: {e}")))?;
    let Some(family) = family_of_af(u8::from(*msg.rtm_family())) else {
        return Ok(None);
    };
    let mut r = Route {
        dst: None,
        dst_len: *msg.rtm_dst_len(),
        gateway: None,
        ifindex: None,
        table: u32::from(u8::from(*msg.rtm_table())),
        metric: None,
        scope: Scope::from_u8(u8::from(*msg.rtm_scope())),
        src: None,
        protocol: u8::from(*msg.rtm_protocol()),
        family,
    };
    for attr in msg.rtattrs().iter() {
        let p = attr.rta_payload().as_ref();
        match u16::from(*attr.rta_type()) {
            t if t == u16::from(Rta::Dst) => r.dst = ip_from(p),
            t if t == u16::from(Rta::Gateway) => r.gateway = ip_from(p),
            t if t == u16::from(Rta::Oif) => r.ifindex = u32_at(p, 0),
            t if t == u16::from(Rta::Priority) => r.metric = u32_at(p, 0),
            t if t == u16::from(Rta::Prefsrc) => r.src = ip_from(p),
            RTA_TABLE => r.table = u32_at(p, 0).unwrap_or(r.table),
            _ => {}
        }
    }
    for a in [r.dst, r.gateway, r.src].into_iter().flatten() {
        if Family::of(&a) != family {
            return Err(Error::Decode("route address of the wrong family".into()));
        }
    }
    Ok(Some(r))
}

/// Decodes an `RTM_NEWRULE` payload (`Ok(None)` for other families).
pub(crate) fn decode_rule(payload: &[u8]) -> Result<Option<Rule>> {
    let msg = Fibmsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
        .map_err(|e| Error::Decode(format!("fib_rule_hdr: {e}")))?;
    let Some(family) = family_of_af(u8::from(*msg.fib_family())) else {
        return Ok(None);
    };
    let mut r = Rule::new(family, u32::from(u8::from(*msg.fib_table())));
    r.protocol = 0;
    let (src_len, dst_len) = (*msg.fib_src_len(), *msg.fib_dst_len());
    for attr in msg.rtattrs().iter() {
        let p = attr.rta_payload().as_ref();
        match u16::from(*attr.rta_type()) {
            t if t == u16::from(Frattr::Src) => r.src = ip_from(p).map(|a| (a, src_len)),
            t if t == u16::from(Frattr::Dst) => r.dst = ip_from(p).map(|a| (a, dst_len)),
            t if t == u16::from(Frattr::Priority) => r.priority = u32_at(p, 0),
            t if t == u16::from(Frattr::Fwmark) => r.fwmark = u32_at(p, 0),
            t if t == u16::from(Frattr::Fwmask) => r.fwmask = u32_at(p, 0),
            t if t == u16::from(Frattr::Iifname) => r.iif = Some(cstr(p)),
            t if t == u16::from(Frattr::Oifname) => r.oif = Some(cstr(p)),
            FRA_TABLE => r.table = u32_at(p, 0).unwrap_or(r.table),
            FRA_PROTOCOL => r.protocol = p.first().copied().unwrap_or(0),
            _ => {}
        }
    }
    Ok(Some(r))
}

/// `RTM_GETROUTE` / `RTM_GETRULE` dump for one family.
pub(crate) fn dump_routes(seq: u32, family: Family, rules: bool) -> Result<Vec<u8>> {
    if rules {
        let msg = FibmsgBuilder::default()
            .fib_family(af(family))
            .fib_src_len(0)
            .fib_dst_len(0)
            .fib_tos(0)
            .fib_table(RtTable::Unspec)
            .fib_action(FrAct::Unspec)
            .build()
            .map_err(|e| Error::Invalid(format!("fib_rule_hdr: {e}")))?;
        return frame(Rtm::Getrule, NlmF::DUMP, seq, msg);
    }
    let msg = RtmsgBuilder::default()
        .rtm_family(af(family))
        .rtm_dst_len(0)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::Unspec)
        .rtm_protocol(Rtprot::Unspec)
        .rtm_scope(RtScope::Universe)
        .rtm_type(Rtn::Unspec)
        .build()
        .map_err(|e| Error::Invalid(format!("rtmsg: {e}")))?;
    frame(Rtm::Getroute, NlmF::DUMP, seq, msg)
}

/// `RTM_NEWROUTE` (create, exclusive) or `RTM_DELROUTE`.
pub(crate) fn route_request(seq: u32, r: &Route, add: bool) -> Result<Vec<u8>> {
    for a in [r.dst, r.gateway, r.src].into_iter().flatten() {
        if Family::of(&a) != r.family {
            return Err(Error::Invalid(format!("{a} is not in the route's family")));
        }
    }
    let mut attrs = RtBuffer::new();
    if let Some(d) = r.dst {
        attrs.push(attr(Rta::Dst, ip_bytes(&d))?);
    }
    if let Some(g) = r.gateway {
        attrs.push(attr(Rta::Gateway, ip_bytes(&g))?);
    }
    if let Some(i) = r.ifindex {
        attrs.push(attr(Rta::Oif, i.to_ne_bytes().to_vec())?);
    }
    if let Some(m) = r.metric {
        attrs.push(attr(Rta::Priority, m.to_ne_bytes().to_vec())?);
    }
    if let Some(s) = r.src {
        attrs.push(attr(Rta::Prefsrc, ip_bytes(&s))?);
    }
    attrs.push(attr(Rta::Table, r.table.to_ne_bytes().to_vec())?);
    let table_byte = u8::try_from(r.table).unwrap_or(0);
    let b = RtmsgBuilder::default()
        .rtm_family(af(r.family))
        .rtm_dst_len(r.dst_len)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::from(table_byte));
    let b = if add {
        b.rtm_protocol(Rtprot::from(r.protocol))
            .rtm_scope(RtScope::from(r.scope.to_u8()))
            .rtm_type(Rtn::Unicast)
    } else {
        // As iproute2: protocol/type unspecified and scope "nowhere" act
        // as wildcards on delete.
        b.rtm_protocol(Rtprot::Unspec)
            .rtm_scope(RtScope::Nowhere)
            .rtm_type(Rtn::Unspec)
    };
    let msg: Rtmsg = b
        .rtattrs(attrs)
        .build()
        .map_err(|e| Error::Invalid(format!("rtmsg: {e}")))?;
    if add {
        frame(
            Rtm::Newroute,
            NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
            seq,
            msg,
        )
    } else {
        frame(Rtm::Delroute, NlmF::ACK, seq, msg)
    }
}

/// `FRA_PROTOCOL`.
const FRA_PROTOCOL: u16 = 21;

fn ifname_attr(n: &str) -> Result<Vec<u8>> {
    if n.is_empty() || n.len() >= libc::IFNAMSIZ || n.as_bytes().contains(&0) {
        return Err(Error::Invalid(format!("interface name '{n}'")));
    }
    let mut b = n.as_bytes().to_vec();
    b.push(0);
    Ok(b)
}

/// `RTM_NEWRULE` (create, exclusive) or `RTM_DELRULE`.
pub(crate) fn rule_request(seq: u32, r: &Rule, add: bool) -> Result<Vec<u8>> {
    let mut attrs = RtBuffer::new();
    let mut lens = [0u8; 2];
    for (i, (p, ty)) in [(r.src, Frattr::Src), (r.dst, Frattr::Dst)]
        .into_iter()
        .enumerate()
    {
        if let Some((a, len)) = p {
            let max = if a.is_ipv4() { 32 } else { 128 };
            if Family::of(&a) != r.family || len > max {
                return Err(Error::Invalid(format!("rule prefix {a}/{len}")));
            }
            attrs.push(attr(ty, ip_bytes(&a))?);
            lens[i] = len;
        }
    }
    if let Some(p) = r.priority {
        attrs.push(attr(Frattr::Priority, p.to_ne_bytes().to_vec())?);
    }
    if let Some(m) = r.fwmark {
        attrs.push(attr(Frattr::Fwmark, m.to_ne_bytes().to_vec())?);
    }
    if let Some(m) = r.fwmask {
        attrs.push(attr(Frattr::Fwmask, m.to_ne_bytes().to_vec())?);
    }
    if let Some(n) = &r.iif {
        attrs.push(attr(Frattr::Iifname, ifname_attr(n)?)?);
    }
    if let Some(n) = &r.oif {
        attrs.push(attr(Frattr::Oifname, ifname_attr(n)?)?);
    }
    attrs.push(attr(Frattr::Table, r.table.to_ne_bytes().to_vec())?);
    if add {
        attrs.push(attr(
            Frattr::UnrecognizedConst(FRA_PROTOCOL),
            vec![r.protocol],
        )?);
    }
    let msg = FibmsgBuilder::default()
        .fib_family(af(r.family))
        .fib_src_len(lens[0])
        .fib_dst_len(lens[1])
        .fib_tos(0)
        .fib_table(RtTable::from(u8::try_from(r.table).unwrap_or(0)))
        .fib_action(FrAct::FrActToTbl)
        .rtattrs(attrs)
        .build()
        .map_err(|e| Error::Invalid(format!("fib_rule_hdr: {e}")))?;
    if add {
        frame(
            Rtm::Newrule,
            NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
            seq,
            msg,
        )
    } else {
        frame(Rtm::Delrule, NlmF::ACK, seq, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(len: u32, ty: u16, flags: u16, seq: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v
    }

    #[test]
    fn split_two_messages_and_garbage() {
        let mut buf = hdr(20, RTM_NEWADDR, 0, 7);
        buf.extend_from_slice(&[1, 2, 3, 4]);
        buf.extend(hdr(17, NLMSG_DONE, 0, 7));
        buf.extend_from_slice(&[9, 0, 0, 0]); // 1 byte payload + 3 padding
        let (msgs, bad) = split(&buf);
        assert!(!bad);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].payload, &[1, 2, 3, 4]);
        assert_eq!(msgs[1].ty, NLMSG_DONE);
        assert_eq!(msgs[1].payload, &[9]);

        // A length field pointing past the end stops the walk.
        let mut bad_buf = hdr(20, RTM_NEWADDR, 0, 7);
        bad_buf.extend_from_slice(&[1, 2, 3, 4]);
        bad_buf.extend(hdr(1000, RTM_NEWADDR, 0, 7));
        let (msgs, bad) = split(&bad_buf);
        assert_eq!(msgs.len(), 1);
        assert!(bad);
        // Length smaller than a header.
        let short = hdr(8, 20, 0, 0);
        let (msgs, bad) = split(&short);
        assert!(msgs.is_empty() && bad);
        // Short tail.
        let (msgs, bad) = split(&[1, 2, 3]);
        assert!(msgs.is_empty() && bad);
    }

    #[test]
    fn error_code_negates() {
        assert_eq!(error_code(&(-17i32).to_ne_bytes()), Some(17));
        assert_eq!(error_code(&0i32.to_ne_bytes()), Some(0));
        assert_eq!(error_code(&[1]), None);
        // A hostile i32::MIN must not overflow (debug builds would panic).
        assert_eq!(error_code(&i32::MIN.to_ne_bytes()), Some(i32::MIN));
    }

    /// The RTM_NEWADDR bytes for `192.0.2.10/24 brd 192.0.2.255 dev 3 scope
    /// global label eth0:1`, written out from rtnetlink(7)'s layout.
    #[test]
    fn newaddr_bytes() {
        let mut a = IfAddr::new(3, "192.0.2.10".parse().unwrap(), 24);
        a.broadcast = Some(Ipv4Addr::new(192, 0, 2, 255));
        a.label = Some("eth0:1".into());
        let got = addr_request(9, &a, true).unwrap();
        let mut want = Vec::new();
        let total: u32 = 16 + 8 + 8 + 8 + 8 + 12;
        want.extend(hdr(total, 20, 0x1 | 0x4 | 0x200 | 0x400, 9)); // REQUEST|ACK|EXCL|CREATE
        want.extend_from_slice(&[2, 24, 0, 0]); // AF_INET, /24, flags, scope global
        want.extend_from_slice(&3u32.to_ne_bytes());
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&2u16.to_ne_bytes()); // IFA_LOCAL
        want.extend_from_slice(&[192, 0, 2, 10]);
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&1u16.to_ne_bytes()); // IFA_ADDRESS
        want.extend_from_slice(&[192, 0, 2, 10]);
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&4u16.to_ne_bytes()); // IFA_BROADCAST
        want.extend_from_slice(&[192, 0, 2, 255]);
        want.extend_from_slice(&11u16.to_ne_bytes());
        want.extend_from_slice(&3u16.to_ne_bytes()); // IFA_LABEL
        want.extend_from_slice(b"eth0:1\0\0");
        assert_eq!(got, want);

        // Decoding our own request payload gives the address back.
        let (msgs, bad) = split(&got);
        assert!(!bad);
        let back = decode_addr(msgs[0].payload).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn ipv6_flags_and_scope() {
        let mut a = IfAddr::new(2, "2001:db8::10".parse().unwrap(), 64);
        a.flags = AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE;
        a.scope = Scope::Link;
        a.preferred_lft = Some(0);
        a.protocol = Some(18);
        let got = addr_request(1, &a, true).unwrap();
        let (msgs, _) = split(&got);
        let back = decode_addr(msgs[0].payload).unwrap();
        assert_eq!(back.flags, AddrFlags(0x202));
        assert_eq!(back.scope, Scope::Link);
        assert_eq!(back.preferred_lft, Some(0));
        assert_eq!(back.protocol, Some(18));
        assert_eq!(back.addr, a.addr);
        // ifaddrmsg byte 2 carries the low 8 bits (NODAD = 0x02), scope 253.
        assert_eq!(&msgs[0].payload[..4], &[10, 64, 0x02, 253]);
    }

    #[test]
    fn route_and_rule_round_trip() {
        let mut r = Route::new("198.51.100.0".parse().unwrap(), 24);
        r.gateway = Some("192.0.2.2".parse().unwrap());
        r.ifindex = Some(4);
        r.table = 1000;
        r.metric = Some(7);
        r.src = Some("192.0.2.1".parse().unwrap());
        let req = route_request(1, &r, true).unwrap();
        let (msgs, _) = split(&req);
        assert_eq!(decode_route(msgs[0].payload).unwrap(), Some(r));

        let mut u = Rule::new(Family::V6, 100);
        u.src = Some(("2001:db8::".parse().unwrap(), 32));
        u.priority = Some(5);
        u.fwmark = Some(1);
        u.fwmask = Some(3);
        u.oif = Some("eth0".into());
        let req = rule_request(1, &u, true).unwrap();
        let (msgs, _) = split(&req);
        assert_eq!(decode_rule(msgs[0].payload).unwrap(), Some(u));
    }

    #[test]
    fn invalid_requests_are_errors() {
        let mut a = IfAddr::new(2, "2001:db8::10".parse().unwrap(), 64);
        a.label = Some("x".into());
        assert!(matches!(addr_request(1, &a, true), Err(Error::Invalid(_))));
        let mut a = IfAddr::new(2, "192.0.2.1".parse().unwrap(), 24);
        a.label = Some("a-label-far-too-long".into());
        assert!(matches!(addr_request(1, &a, true), Err(Error::Invalid(_))));
        let a = IfAddr::new(2, "192.0.2.1".parse().unwrap(), 33);
        assert!(matches!(addr_request(1, &a, true), Err(Error::Invalid(_))));
        let mut r = Route::new("192.0.2.0".parse().unwrap(), 24);
        r.gateway = Some("2001:db8::1".parse().unwrap());
        assert!(matches!(route_request(1, &r, true), Err(Error::Invalid(_))));
    }

    /// Random and truncated inputs never panic the decoders.
    #[test]
    fn decoders_survive_garbage() {
        let mut a = IfAddr::new(3, "192.0.2.10".parse().unwrap(), 24);
        a.label = Some("eth0:1".into());
        let good = addr_request(1, &a, true).unwrap();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for cut in 0..good.len() {
            let _ = split(&good[..cut]);
            if cut >= NLMSG_HDRLEN {
                let _ = decode_addr(&good[NLMSG_HDRLEN..cut]);
                let _ = decode_link(&good[NLMSG_HDRLEN..cut]);
            }
        }
        for _ in 0..20_000 {
            let len = (next() % 96) as usize;
            let mut v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = decode_addr(&v);
            let _ = decode_link(&v);
            let _ = decode_route(&v);
            let _ = decode_rule(&v);
            let _ = split(&v);
            // Mutate a valid message.
            v = good[NLMSG_HDRLEN..].to_vec();
            let i = (next() as usize) % v.len();
            v[i] = next() as u8;
            let _ = decode_addr(&v);
        }
    }
}
