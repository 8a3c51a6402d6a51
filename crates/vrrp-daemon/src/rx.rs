//! Receive path: read every queued datagram of a VRRP socket and hand each
//! to the instance with its VRID on that interface and family.

use std::net::IpAddr;

use mio::Token;
use sched::Sched;
use vrrp::ratelimit::Verdict;
use vrrp::wire::{self, Family};
use vrrp::{Input, RxPacket};

use crate::runtime::Runtime;

/// One received datagram (borrowing the receive buffer).
struct Datagram<'a> {
    data: &'a [u8],
    src: IpAddr,
    dst: Option<IpAddr>,
    hop_limit: Option<u8>,
}

impl Runtime {
    /// A receive socket is readable: each datagram is handed to its
    /// instance straight from the receive buffer (no copy, no list).
    pub(crate) fn receive(&mut self, sched: &mut Sched, token: Token) {
        let mut buf = std::mem::take(&mut self.rxbuf);
        // Bounded so that a flood cannot starve the timers.
        for _ in 0..256 {
            let Some(rx) = self.socks.rx_by_token(token) else {
                break;
            };
            let (ifindex, family) = (rx.ifindex, rx.family);
            match rx.sock.recv(&mut buf) {
                Ok(Some(r)) if !r.truncated => {
                    let d = Datagram {
                        data: &buf[..r.len],
                        src: r.src,
                        dst: r.dst,
                        hop_limit: r.hop_limit,
                    };
                    self.dispatch(sched, ifindex, family, &d);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    log::info!("VRRP socket receive error: {e}");
                    break;
                }
            }
        }
        self.rxbuf = buf;
    }

    fn dispatch(&mut self, sched: &mut Sched, ifindex: u32, family: Family, d: &Datagram<'_>) {
        let peek = match wire::peek(family, d.data) {
            Ok(p) => p,
            Err(e) => {
                // Not yet tied to an instance: rate-limited per interface, as
                // every other receive error (a flood must not flood the log).
                let now = self.now();
                let key = format!("ifindex {ifindex}");
                if let Verdict::Log { suppressed } = self.limiter.check(now, &key, &"peek") {
                    if suppressed > 0 {
                        log::debug!("{} ({suppressed} more suppressed)", e.log_line());
                    } else {
                        log::debug!("{}", e.log_line());
                    }
                }
                return;
            }
        };
        let Some(id) = self
            .insts
            .iter()
            .enumerate()
            .find(|(n, i)| {
                i.core.config().vrid == peek.vrid
                    && i.key.family == family
                    && self.rx_ifindex(*n) == Some(ifindex)
            })
            .map(|(_, i)| i.id)
        else {
            return; // another router's VRID: not ours to look at
        };
        let pkt = match (family, d.src) {
            (Family::V4, _) => RxPacket::V4(d.data),
            (Family::V6, IpAddr::V6(src)) => RxPacket::V6 {
                payload: d.data,
                src,
                multicast: d.dst.is_none_or(|a| a.is_multicast()),
                hop_limit: d.hop_limit,
            },
            _ => return,
        };
        self.drive(sched, id, Input::Packet(pkt));
    }
}
