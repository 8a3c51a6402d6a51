//! Crafted IPv4 + VRRPv2 packets (RFC 3768 §5.1), built by hand so that
//! every field can be wrong, and sent from inside a namespace through an
//! `IPPROTO_RAW` socket (the kernel fills the IP total length and header
//! checksum, nothing else).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The VRRP multicast group 224.0.0.18.
pub const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// Fields of one VRRPv2 advertisement in an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Advert {
    /// IP source.
    pub src: Ipv4Addr,
    /// IP destination.
    pub dst: Ipv4Addr,
    /// IP TTL (255 is the only valid value).
    pub ttl: u8,
    /// Version/type byte (0x21 = v2 advertisement).
    pub ver_type: u8,
    /// VRID.
    pub vrid: u8,
    /// Priority.
    pub prio: u8,
    /// Auth type (0 none, 1 simple text password).
    pub auth_type: u8,
    /// Password (8 bytes, zero padded).
    pub pass: [u8; 8],
    /// Advertisement interval, seconds.
    pub adv: u8,
    /// Addresses.
    pub addrs: Vec<Ipv4Addr>,
    /// Corrupt the VRRP checksum.
    pub bad_checksum: bool,
}

impl Advert {
    /// A valid advert: version 2, TTL 255, auth PASS `pass`.
    pub fn valid(src: Ipv4Addr, vrid: u8, prio: u8, pass: &str, vip: Ipv4Addr) -> Advert {
        let mut p = [0u8; 8];
        for (d, s) in p.iter_mut().zip(pass.bytes()) {
            *d = s;
        }
        Advert {
            src,
            dst: VRRP_GROUP,
            ttl: 255,
            ver_type: 0x21,
            vrid,
            prio,
            auth_type: 1,
            pass: p,
            adv: 1,
            addrs: vec![vip],
            bad_checksum: false,
        }
    }

    /// The VRRP part.
    pub fn vrrp(&self) -> Vec<u8> {
        let mut v = vec![
            self.ver_type,
            self.vrid,
            self.prio,
            self.addrs.len() as u8,
            self.auth_type,
            self.adv,
            0,
            0,
        ];
        for a in &self.addrs {
            v.extend_from_slice(&a.octets());
        }
        v.extend_from_slice(&self.pass);
        let mut c = checksum(&v);
        if self.bad_checksum {
            c ^= 0x5a5a;
        }
        v[6..8].copy_from_slice(&c.to_be_bytes());
        v
    }

    /// The whole IPv4 packet.
    pub fn packet(&self) -> Vec<u8> {
        ip_packet(self.src, self.dst, self.ttl, 112, &self.vrrp())
    }
}

/// RFC 1071 Internet checksum.
pub fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header (TOS 0xc0, DF clear) followed by `payload`.
pub fn ip_packet(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, proto: u8, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0xc0];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0, ttl, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// Send `packets` (complete IPv4 packets) from inside namespace `ns`
/// through an `IPPROTO_RAW` socket, `gap` apart. The socket is made on a
/// thread moved into the namespace with `setns(2)`; the caller's thread
/// stays where it is.
pub fn send_in_ns(ns: &str, packets: Vec<Vec<u8>>, gap: Duration) -> io::Result<usize> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || -> io::Result<usize> {
        use nix::sys::socket::{
            sendto, socket, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
        };
        let f = std::fs::File::open(&path)?;
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        let fd = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::Raw,
        )
        .map_err(io::Error::from)?;
        let mut sent = 0;
        for p in packets {
            if p.len() < 20 {
                continue;
            }
            let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            let sa = SockaddrIn::from(SocketAddrV4::new(dst, 0));
            sendto(fd.as_raw_fd(), &p, &sa, MsgFlags::empty()).map_err(io::Error::from)?;
            sent += 1;
            if !gap.is_zero() {
                std::thread::sleep(gap);
            }
        }
        Ok(sent)
    })
    .join()
    .map_err(|_| io::Error::other("sender thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_advert_checksums() {
        let a = Advert::valid(
            Ipv4Addr::new(192, 0, 2, 13),
            51,
            100,
            "secret",
            Ipv4Addr::new(192, 0, 2, 200),
        );
        let v = a.vrrp();
        assert_eq!(v.len(), 8 + 4 + 8);
        assert_eq!(checksum(&v), 0, "a packet with its checksum sums to 0");
        let p = a.packet();
        assert_eq!(checksum(&p[..20]), 0);
        assert_eq!((p[8], p[9]), (255, 112));
        let bad = Advert {
            bad_checksum: true,
            ..a
        };
        assert_ne!(checksum(&bad.vrrp()), 0);
    }
}
