//! Receive path: read every queued datagram of a VRRP socket and hand each
//! to the instance with its VRID on that interface and family.

use std::net::IpAddr;

use mio::Token;
use netlink::{Received, RX_BATCH};
use sched::Sched;
use vrrp::ratelimit::Verdict;
use vrrp::wire::{self, Family};
use vrrp::{Input, RxPacket};

use crate::runtime::Runtime;

/// Smallest slot per datagram in the receive buffer. The buffer
/// (`Runtime::rxbuf`) is cut into [`RX_BATCH`] equal slots, one per datagram
/// of a `recvmmsg` batch (16 KiB each with the 132 KiB buffer; only the
/// pages a datagram is written to become resident). The largest advert
/// fits either way: IPv6 with 255 addresses is 8 + 255 × 16 = 4,088 bytes
/// (+ an `auth_hmac` trailer), IPv4 with a 60-byte header, AH and 255
/// addresses ~1.1 kB. A datagram longer than its slot is truncated and
/// dropped, as one longer than the whole buffer was before.
const MIN_SLOT: usize = 8192;

/// At most this many datagrams per wake-up, so that a flood cannot starve
/// the timers.
const MAX_PER_WAKE: usize = 256;

/// One received datagram (borrowing the receive buffer).
struct Datagram<'a> {
    data: &'a [u8],
    src: IpAddr,
    dst: Option<IpAddr>,
    hop_limit: Option<u8>,
}

impl Runtime {
    /// A receive socket is readable: its queue is read in `recvmmsg`
    /// batches and each datagram is handed to its instance straight from
    /// the receive buffer (no copy, no list); every datagram is validated
    /// (and counted when rejected) by its instance as before.
    ///
    /// Why one short batch ends the read (one `recvmmsg` per advert instead
    /// of a `recvmsg` plus the `recvmsg` that returns `EAGAIN`): the socket
    /// is registered edge-triggered (mio), and a raw socket's edge is not
    /// "queue went from empty to non-empty" but "a datagram was queued":
    /// every enqueue calls the socket's data-ready callback, which puts the
    /// socket back on the epoll ready list whatever we read before or
    /// after. `recvmmsg` on a non-blocking socket returns fewer datagrams
    /// than slots only when it found the queue empty; a datagram queued
    /// after that check raises its own edge, so the next `epoll_wait`
    /// returns at once and nothing is left behind. When the per-wake bound
    /// stops the loop with datagrams possibly still queued (a flood), the
    /// socket is re-registered, which makes epoll report it again.
    pub(crate) fn receive(&mut self, sched: &mut Sched, token: Token) {
        let mut buf = std::mem::take(&mut self.rxbuf);
        // Whole pages, so that each datagram starts on its own page.
        let slot = (buf.len() / RX_BATCH / 4096 * 4096).max(MIN_SLOT.min(buf.len()));
        let slots = buf.len().checked_div(slot).unwrap_or(0).min(RX_BATCH);
        let mut metas: [Option<Received>; RX_BATCH] = [None; RX_BATCH];
        let mut handled = 0;
        let mut drained = false;
        while handled < MAX_PER_WAKE {
            let Some(rx) = self.socks.rx_by_token(token) else {
                drained = true; // closed meanwhile (reload)
                break;
            };
            let (ifindex, family) = (rx.ifindex, rx.family);
            let n = match rx.recv_batch(&mut buf, slot, &mut metas) {
                Ok(n) => n,
                Err(e) => {
                    log::info!("VRRP socket receive error: {e}");
                    drained = true;
                    break;
                }
            };
            for (i, m) in metas.iter().take(n).enumerate() {
                let Some(r) = m.filter(|r| !r.truncated) else {
                    continue;
                };
                let d = Datagram {
                    data: &buf[i * slot..i * slot + r.len],
                    src: r.src,
                    dst: r.dst,
                    hop_limit: r.hop_limit,
                };
                self.dispatch(sched, ifindex, family, &d);
            }
            handled += n;
            if n < slots {
                drained = true;
                break;
            }
        }
        if !drained {
            self.socks.rearm_rx(sched.registry(), token);
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
