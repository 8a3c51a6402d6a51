//! IPsec AH as keepalived uses it for VRRPv2 `auth_type AH`
//! (`include/vrrp_ipsecah.h`, `vrrp/vrrp.c` `vrrp_update_pkt`,
//! `vrrp_in_chk_ipsecah`).
//!
//! ```text
//! | Next Header=112 | Payload Len=4 |          Reserved=0           |
//! |          SPI (= IPv4 source address of the sender)            |
//! |                      Sequence Number                          |
//! |          ICV: HMAC-MD5-96 (12 octets)                         |
//! ```
//! The ICV is HMAC-MD5 keyed with the 8-octet auth data over: the IPv4
//! header with TOS, fragment offset and header checksum zeroed (and the TTL
//! too for unicast instances), then the AH header with the ICV zeroed, then
//! the VRRP message.

use md5::{Digest, Md5};

use super::WireError;

/// Length of the AH header keepalived sends (ICV of 96 bits).
pub const AH_LEN: usize = 24;
/// Payload length field value for a 96-bit ICV (RFC 2402 §2.2).
pub const PAYLOAD_LEN: u8 = 4;
/// ICV length.
pub const ICV_LEN: usize = 12;

/// A checked view of an AH header.
#[derive(Debug, Clone)]
pub struct AhPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AhPacket<T> {
    /// Wraps a buffer holding at least [`AH_LEN`] octets.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let len = buffer.as_ref().len();
        if len < AH_LEN {
            return Err(WireError::Truncated { len, need: AH_LEN });
        }
        Ok(AhPacket { buffer })
    }
    /// Next header (must be 112 for VRRP).
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// Security parameter index, as the raw 4 octets (keepalived stores
    /// the source address there).
    pub fn spi(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        [b[4], b[5], b[6], b[7]]
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[8], b[9], b[10], b[11]])
    }
    /// The 12-octet ICV.
    pub fn icv(&self) -> &[u8] {
        &self.buffer.as_ref()[12..24]
    }
}

/// HMAC-MD5 (RFC 2104) over the concatenation of `parts`.
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        let d = Md5::digest(key);
        k[..16].copy_from_slice(&d);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let ih = inner.finalize();
    let mut outer = Md5::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(ih);
    outer.finalize().into()
}

/// Computes the 96-bit ICV for a datagram laid out as IPv4 header (`ip`,
/// options included), AH header (`ah`, [`AH_LEN`] octets) and VRRP message
/// (`vrrp`). Mutable fields are zeroed on copies; the inputs are unchanged.
pub fn compute_icv(
    key: &[u8; 8],
    ip: &[u8],
    ah: &[u8],
    vrrp: &[u8],
    unicast: bool,
) -> [u8; ICV_LEN] {
    let mut iph = ip.to_vec();
    if iph.len() >= 12 {
        iph[1] = 0; // tos
        iph[6] = 0; // flags + fragment offset
        iph[7] = 0;
        iph[10] = 0; // header checksum
        iph[11] = 0;
        if unicast {
            iph[8] = 0; // ttl
        }
    }
    let mut ahc = ah.to_vec();
    if ahc.len() >= AH_LEN {
        ahc[12..24].fill(0);
    }
    let d = hmac_md5(key, &[&iph, &ahc, vrrp]);
    let mut out = [0u8; ICV_LEN];
    out.copy_from_slice(&d[..ICV_LEN]);
    out
}

/// Writes an AH header (next header 112, SPI = `src`, `seq`, ICV zero) into
/// `buf[..24]`; the caller fills the ICV with [`compute_icv`].
pub fn emit_header(buf: &mut [u8], src: std::net::Ipv4Addr, seq: u32) -> Result<(), WireError> {
    if buf.len() < AH_LEN {
        return Err(WireError::BufferSize {
            len: buf.len(),
            need: AH_LEN,
        });
    }
    let h = &mut buf[..AH_LEN];
    h.fill(0);
    h[0] = super::checksum::IPPROTO_VRRP;
    h[1] = PAYLOAD_LEN;
    h[4..8].copy_from_slice(&src.octets());
    h[8..12].copy_from_slice(&seq.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_md5_rfc2104_vectors() {
        // RFC 2104 appendix / RFC 2202 test case 2.
        assert_eq!(
            hex(&hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        // RFC 2202 test case 1: key 0x0b x 16, "Hi There".
        assert_eq!(
            hex(&hmac_md5(&[0x0b; 16], &[b"Hi There"])),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
    }

    #[test]
    fn icv_ignores_mutable_fields() {
        let key = *b"secret\0\0";
        let mut ip = [
            0x45u8, 0xc0, 0, 64, 0, 1, 0, 0, 255, 51, 0x12, 0x34, 192, 0, 2, 1, 224, 0, 0, 18,
        ];
        let mut ah = [0u8; 24];
        emit_header(&mut ah, std::net::Ipv4Addr::new(192, 0, 2, 1), 1).unwrap();
        let vrrp = [0x21u8, 1, 100, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let a = compute_icv(&key, &ip, &ah, &vrrp, false);
        ip[1] = 0;
        ip[10] = 0x99;
        ah[12] = 0xaa;
        assert_eq!(a, compute_icv(&key, &ip, &ah, &vrrp, false));
        ip[8] = 64; // TTL counts for multicast, not for unicast
        assert_ne!(a, compute_icv(&key, &ip, &ah, &vrrp, false));
        let u = compute_icv(&key, &ip, &ah, &vrrp, true);
        ip[8] = 255;
        assert_eq!(u, compute_icv(&key, &ip, &ah, &vrrp, true));
    }
}
