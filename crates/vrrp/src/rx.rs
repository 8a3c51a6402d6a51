//! Received datagrams and the reasons an advert is rejected.
//!
//! The checks themselves run inside [`crate::Instance`] (they depend on its
//! state: master address, AH sequence, checksum compatibility) in
//! keepalived 2.2.7's order (`vrrp/vrrp.c` `vrrp_check_packet`):
//! AH presence, length, TTL (multicast), version, v2 auth type / auth / AH,
//! v2 advert interval, type, address count, IPv4 total length, checksum,
//! unicast/multicast destination, then (counted as received) VIP list and
//! unicast source/TTL range.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// A datagram received on a raw VRRP socket.
#[derive(Debug, Clone, Copy)]
pub enum RxPacket<'a> {
    /// IPv4: the whole datagram as a raw socket delivers it (IP header,
    /// optional AH, VRRP). Source, destination and TTL come from the header.
    V4(&'a [u8]),
    /// IPv6: the VRRP message, with what `recvmsg` reports alongside.
    V6 {
        /// The VRRP message.
        payload: &'a [u8],
        /// Source address (`msg_name`).
        src: Ipv6Addr,
        /// Destination was multicast (`IPV6_PKTINFO`).
        multicast: bool,
        /// Hop limit (`IPV6_HOPLIMIT`), if the control message came.
        hop_limit: Option<u8>,
    },
}

/// Which stats counter a rejection increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// `packet_len_err`.
    PacketLen,
    /// `ip_ttl_err`.
    IpTtl,
    /// `vers_err` (SNMP only).
    Version,
    /// `invalid_authtype`.
    InvalidAuthType,
    /// `authtype_mismatch`.
    AuthTypeMismatch,
    /// `auth_failure`.
    AuthFailure,
    /// `invalid_type_rcvd`.
    InvalidType,
    /// `addr_list_err`.
    AddrList,
    /// `chk_err` (SNMP only).
    Checksum,
}

/// Why a received datagram was not accepted as an advert. Each variant has
/// keepalived's log text ([`RxError::log_line`]) and counter
/// ([`RxError::counter`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RxError {
    /// Not even the headers are there (keepalived logs this before lookup).
    Malformed(crate::wire::PeekError),
    /// IPv4 AH present but we do not use AH, or the reverse.
    AhPresence {
        /// The datagram carried AH.
        received_ah: bool,
    },
    /// Datagram length differs from what the headers imply.
    Length {
        /// Octets received.
        received: usize,
        /// Octets expected.
        expected: usize,
    },
    /// TTL / hop limit not 255 on a multicast instance.
    Ttl {
        /// TTL received.
        received: u8,
    },
    /// Version differs from ours.
    Version {
        /// Version nibble received.
        received: u8,
        /// Our version.
        expected: u8,
    },
    /// v2 auth type not 0, 1 or 2.
    InvalidAuthType(u8),
    /// v2 auth type differs from ours.
    AuthTypeMismatch {
        /// Received auth type.
        received: u8,
        /// Our auth type.
        expected: u8,
    },
    /// PASS password differs.
    BadPassword,
    /// AH next header is not VRRP: silently dropped.
    AhNotVrrp,
    /// AH ICV mismatch.
    AhIcv,
    /// AH SPI is not the source address.
    AhSpi {
        /// Source address as a host-order integer of the raw bytes (what
        /// keepalived prints).
        saddr: u32,
        /// SPI as received.
        spi: u32,
    },
    /// AH sequence number not above the last one.
    AhSequence {
        /// Received sequence number.
        received: u32,
        /// Highest seen so far.
        local: u32,
    },
    /// v2 advert interval differs from ours (dropped, no counter).
    AdvertInterval {
        /// Ours, in seconds.
        mine: u16,
        /// Received, in seconds.
        received: u8,
    },
    /// Type is not ADVERTISEMENT.
    InvalidType(u8),
    /// Address count differs from our VIP count.
    AddressCount {
        /// Count received.
        received: u8,
        /// Our VIP count.
        expected: usize,
    },
    /// IPv4 total length differs from the datagram length.
    TotalLength {
        /// IP total length field.
        tot_len: u16,
        /// Octets received.
        received: usize,
    },
    /// Checksum does not verify.
    Checksum {
        /// Version of the checksum rule applied.
        version: u8,
    },
    /// Unicast instance got a multicast datagram or the reverse.
    WrongCast {
        /// The instance is unicast.
        unicast_instance: bool,
    },
    /// IPv6 datagram of the wrong cast, discarded before any check
    /// (keepalived's dispatcher, logged only with `-D`).
    WrongCastV6 {
        /// The datagram was multicast.
        multicast: bool,
        /// The instance is unicast.
        unicast_instance: bool,
    },
    /// One of our VIPs is missing from the advert.
    VipMissing {
        /// Our VRID.
        vrid: u8,
        /// The missing address.
        addr: IpAddr,
    },
    /// Unicast source is not a configured peer.
    NotUnicastPeer(IpAddr),
    /// Unicast TTL outside the peer's min_ttl..max_ttl.
    UnicastTtl {
        /// TTL received.
        received: u8,
        /// Peer minimum.
        min: u8,
        /// Peer maximum.
        max: u8,
    },
    /// The instance is in FAULT or INIT: datagrams are ignored silently.
    NotListening,
    /// An IPv4 datagram for an IPv6 instance or the reverse (daemon bug).
    FamilyMismatch,
    /// The VRID is not this instance's: the daemon dispatched it wrongly
    /// (keepalived drops these at dispatch, see [`crate::wire::peek`]).
    WrongVrid(u8),
    /// keepalived 2.4 `auth_hmac`: the trailer is missing (enforce),
    /// malformed, signed with an unknown key, forged, stale or replayed.
    AuthHmac {
        /// Why.
        err: crate::auth_hmac::HmacError,
        /// Sender.
        src: std::net::IpAddr,
    },
}

impl RxError {
    /// The counter this rejection increments, if any.
    pub fn counter(&self) -> Option<Counter> {
        use RxError::*;
        Some(match self {
            Malformed(_)
            | AhNotVrrp
            | AdvertInterval { .. }
            | NotUnicastPeer(_)
            | WrongCastV6 { .. }
            | NotListening
            | WrongVrid(_)
            | FamilyMismatch => return None,
            AhPresence { .. } | AuthTypeMismatch { .. } => Counter::AuthTypeMismatch,
            Length { .. } | TotalLength { .. } => Counter::PacketLen,
            Ttl { .. } | UnicastTtl { .. } => Counter::IpTtl,
            Version { .. } => Counter::Version,
            InvalidAuthType(_) => Counter::InvalidAuthType,
            BadPassword | AhIcv | AhSpi { .. } | AhSequence { .. } | AuthHmac { .. } => {
                Counter::AuthFailure
            }
            InvalidType(_) => Counter::InvalidType,
            AddressCount { .. } | WrongCast { .. } | VipMissing { .. } => Counter::AddrList,
            Checksum { .. } => Counter::Checksum,
        })
    }

    /// Whether keepalived logs it only with `-D` (`None` = not logged).
    pub fn log_level(&self) -> Option<LogLevel> {
        match self {
            RxError::AhNotVrrp
            | RxError::NotListening
            | RxError::WrongVrid(_)
            | RxError::FamilyMismatch => None,
            RxError::WrongCastV6 { .. } => Some(LogLevel::Detail),
            _ => Some(LogLevel::Info),
        }
    }

    /// keepalived 2.2.7's log line for instance `iname` (`None` when it
    /// logs nothing).
    pub fn log_line(&self, iname: &str) -> Option<String> {
        self.log_level()?;
        Some(format!("{}", Line { iname, e: self }))
    }

    /// A short stable name for rate limiting and metrics.
    pub fn kind(&self) -> &'static str {
        use RxError::*;
        match self {
            Malformed(_) => "malformed",
            AhPresence { .. } => "ah_presence",
            Length { .. } => "length",
            Ttl { .. } => "ttl",
            Version { .. } => "version",
            InvalidAuthType(_) => "invalid_authtype",
            AuthTypeMismatch { .. } => "authtype_mismatch",
            BadPassword => "bad_password",
            AhNotVrrp => "ah_not_vrrp",
            AhIcv => "ah_icv",
            AhSpi { .. } => "ah_spi",
            AhSequence { .. } => "ah_sequence",
            AdvertInterval { .. } => "advert_interval",
            InvalidType(_) => "invalid_type",
            AddressCount { .. } => "address_count",
            TotalLength { .. } => "total_length",
            Checksum { .. } => "checksum",
            WrongCast { .. } => "wrong_cast",
            WrongCastV6 { .. } => "wrong_cast_v6",
            VipMissing { .. } => "vip_missing",
            NotUnicastPeer(_) => "not_unicast_peer",
            UnicastTtl { .. } => "unicast_ttl",
            NotListening => "not_listening",
            WrongVrid(_) => "wrong_vrid",
            FamilyMismatch => "family_mismatch",
            AuthHmac { err, .. } => err.kind(),
        }
    }
}

/// Whether a line is always logged or only with `-D` (`--log-detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogLevel {
    /// Always (LOG_INFO).
    Info,
    /// Only with `-D`.
    Detail,
}

struct Line<'a> {
    iname: &'a str,
    e: &'a RxError,
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RxError::*;
        let n = self.iname;
        match self.e {
            Malformed(p) => write!(f, "{p}"),
            AhPresence { received_ah: true } => write!(f, "({n}) Received AH header but auth type not AH"),
            AhPresence { received_ah: false } => write!(f, "({n}) No AH header but auth type is AH"),
            Length { received, expected } => write!(
                f,
                "({n}) vrrp packet too {}, length {received} and expect {expected}",
                if received > expected { "long" } else { "short" }
            ),
            Ttl { received } => write!(f, "({n}) invalid TTL/HL. Received {received} and expect 255"),
            Version { received, expected } => {
                write!(f, "({n}) wrong version. Received {received} and expect {expected}")
            }
            InvalidAuthType(t) => write!(f, "({n}) Invalid auth type: {t}"),
            AuthTypeMismatch { received, expected } => {
                write!(f, "({n}) received a {received} auth, expecting {expected}!")
            }
            BadPassword => write!(f, "({n}) received an invalid passwd!"),
            AhNotVrrp => Ok(()),
            AhIcv => write!(f, "({n}) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"),
            AhSpi { saddr, spi } => write!(f, "IPSEC AH : invalid IPSEC SPI value. {saddr} and expect {spi}"),
            AhSequence { received, local } => write!(
                f,
                "({n}) IPSEC-AH : sequence number {received} already processed. Packet dropped. Local({local})"
            ),
            AdvertInterval { mine, received } => write!(
                f,
                "({n}) advertisement interval mismatch mine={mine} sec rcv'd={received} sec"
            ),
            InvalidType(t) => write!(f, "({n}) Invalid packet type. {t} and expect 1"),
            AddressCount { received, expected } => write!(
                f,
                "({n}) received an unexpected ip number count {received}, expected {expected}!"
            ),
            TotalLength { tot_len, received } => write!(
                f,
                "({n}) ip_tot_len mismatch against received length. {tot_len} and received {received}"
            ),
            Checksum { version } => write!(f, "({n}) Invalid VRRPv{version} checksum"),
            WrongCast { unicast_instance } => {
                let (a, b) = if *unicast_instance { ("un", "mult") } else { ("mult", "un") };
                write!(f, "({n}) Expected {a}icast packet but received {b}icast packet")
            }
            WrongCastV6 { multicast, unicast_instance } => write!(
                f,
                "({n}) discarding {}icast packet on {}icast instance",
                if *multicast { "mult" } else { "un" },
                if *unicast_instance { "un" } else { "mult" }
            ),
            VipMissing { vrid, addr } => write!(
                f,
                "({n}) ip address associated with VRID {vrid} not present in MASTER advert: {addr}"
            ),
            NotUnicastPeer(a) => write!(f, "({n}) unicast source address {a} not a unicast peer"),
            UnicastTtl { received, min, max } => write!(f, "({n}) TTL/HL {received} not in range {min} - {max}"),
            NotListening | WrongVrid(_) | FamilyMismatch => Ok(()),
            AuthHmac { err, src } => f.write_str(&err.log_line(n, *src)),
        }
    }
}

impl fmt::Display for RxError {
    /// The log text with `?` as instance name, or the kind when keepalived
    /// logs nothing for it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.log_level() {
            Some(_) => write!(
                f,
                "{}",
                Line {
                    iname: "?",
                    e: self
                }
            ),
            None => f.write_str(self.kind()),
        }
    }
}

impl std::error::Error for RxError {}
