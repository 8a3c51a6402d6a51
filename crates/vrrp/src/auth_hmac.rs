//! keepalived 2.4's `auth_hmac` advert trailer (draft-cassen-vrrp-auth-hmac),
//! sans-IO: signing on send, verification with anti-replay on receive.
//!
//! Wire format (28 octets appended after the VRRP message, after the v2
//! authentication data; not covered by the VRRP checksum):
//!
//! ```text
//!  0       1       2               4                               8
//! +-------+-------+---------------+-------------------------------+
//! | type=1| key id| reserved = 0  | seconds (UTC, network order)  |
//! +-------+-------+---------------+---------------+---------------+
//! | 1/65536 s     | counter       | HMAC-SHA256 truncated to 128 bits (16)
//! +---------------+---------------+----------------------------------- ...
//! ```
//!
//! The 64-bit sequence is `seconds << 32 | fraction << 16 | counter`,
//! compared with RFC 1982 serial arithmetic. The HMAC input is a 20-octet
//! pseudo header (`4` or `6`, VRRP version, VRID, 0, source address zero
//! padded to 16 octets), then the VRRP message and the first 12 trailer
//! octets with the VRRP checksum read as zero, then 16 zero octets.
//!
//! # Clocks (where keepalived-rs differs from keepalived 2.4.3)
//!
//! keepalived reads `CLOCK_REALTIME` for every advert it signs and every
//! trailer it checks, so a wall-clock step on a running node strands the
//! sequence outside the peers' freshness window ("turned a transient time
//! error into a lasting dual active", 2.4.3 release notes). Here the first
//! [`HmacState::set_wall_clock`] call anchors UTC to the daemon's monotonic
//! clock, and the daemon keeps reporting the wall clock (every few seconds):
//!
//! * the sending sequence is `anchor + monotonic elapsed + correction`, and
//!   always at least the previous value + 1: it never repeats;
//! * the correction follows the wall clock only once a reading has
//!   disagreed with our clock by the same amount (±1 s) for
//!   [`CONFIRM_SECS`] seconds: a transient step (a bad NTP answer, an
//!   operator's typo put right) changes nothing on the wire; a lasting one
//!   (a node that booted before NTP set its clock) is followed, **forward
//!   at once, backward by running the sequence's clock at half speed**;
//! * a sender we have heard from is judged fresh against the monotonic time
//!   elapsed since its last accepted advert (its seconds may run ahead, e.g.
//!   a keepalived 2.4 peer whose clock stepped forward, or our own forward
//!   correction, but not fall behind by more than the window), never
//!   against our wall clock;
//! * only a *first contact* (a new sender, or one silent for longer than the
//!   window) is compared with our clocks: it is fresh when within the
//!   window of the latest wall reading **or** of our corrected clock.
//!
//! So on an established pair nothing a wall clock does can make a backup
//! refuse its master's adverts (the way authentication produces two
//! masters): a forward correction is a jump ahead (accepted), a backward
//! one falls behind monotonic time by half the time between two adverts
//! (at most half the window before a mark expires), and the sequence keeps
//! growing. What the refresh adds over a single reading: a node whose clock
//! was wrong when it started converges to the right time, so peers that
//! (re)start later accept it on first contact instead of never.
//! Two nodes whose clocks *disagree* by more than the window when they
//! first meet still reject each other, as with keepalived (that is the
//! freshness guarantee of `anti_replay time`); the log line gives the skew.

use crate::time::Instant;
use crate::wire::Family;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;

/// Trailer length in octets.
pub const TRAILER_LEN: usize = 28;
/// `ext_type` of HMAC-SHA256-128.
pub const EXT_TYPE_SHA256: u8 = 1;
/// Truncated HMAC length.
pub const HMAC_LEN: usize = 16;
/// Smallest key, octets.
pub const KEY_MIN: usize = 32;
/// Largest key, octets.
pub const KEY_MAX: usize = 64;
/// Freshness window bounds (seconds) and the floor of the derived default.
pub const WINDOW_MIN: u32 = 1;
/// Largest `time_window`.
pub const WINDOW_MAX: u32 = 300;
/// Floor of `max(3 x advert_int, 5)`.
pub const WINDOW_FLOOR: u32 = 5;
/// Multicast senders remembered for anti-replay (LRU), as keepalived.
pub const MCAST_SENDERS: usize = 4;
/// Seconds a wall-clock reading must keep the same disagreement with our
/// clock before the sending clock follows it.
pub const CONFIRM_SECS: u64 = 300;
/// Disagreements below this (µs) are reading jitter, never followed.
pub const CLOCK_TOLERANCE_US: i64 = 1_000_000;

/// What one wall-clock reading ([`HmacState::observe_wall_clock`]) meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallClock {
    /// The first reading: it anchors the sending clock.
    Anchored,
    /// Agrees with our clock (within [`CLOCK_TOLERANCE_US`]).
    InStep,
    /// A new disagreement of `by` seconds (wall minus ours), not followed.
    Stepped {
        /// Seconds, wall minus ours.
        by: i64,
    },
    /// The same disagreement, seen for `for_secs` seconds so far.
    Waiting {
        /// Seconds, wall minus ours.
        by: i64,
        /// Seconds since it was first seen.
        for_secs: u64,
    },
    /// The disagreement lasted [`CONFIRM_SECS`]: our clock now follows the
    /// wall clock (forward at once, backward at half speed).
    Following {
        /// Seconds, wall minus ours before the correction.
        by: i64,
    },
}

impl WallClock {
    /// A log line for instance `iname`, for the events worth one.
    pub fn log_line(&self, iname: &str) -> Option<String> {
        match *self {
            WallClock::Stepped { by } => Some(format!(
                "({iname}) wall clock stepped by {by} s; auth_hmac sequence unaffected unless it lasts {CONFIRM_SECS} s"
            )),
            WallClock::Following { by } if by > 0 => Some(format!(
                "({iname}) wall clock ahead of the auth_hmac clock by {by} s for {CONFIRM_SECS} s - following it"
            )),
            WallClock::Following { by } => Some(format!(
                "({iname}) wall clock behind the auth_hmac clock by {} s for {CONFIRM_SECS} s - slowing the sequence to half speed until they meet",
                -by
            )),
            _ => None,
        }
    }
}

/// `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacMode {
    /// Sign; reject adverts without a valid trailer (default).
    Enforce,
    /// Sign; accept adverts without a trailer (migration).
    Permissive,
    /// Do not sign; verify trailers that are present, accept missing ones.
    ReceiveOnly,
}

impl HmacMode {
    /// keepalived's name.
    pub fn as_str(self) -> &'static str {
        match self {
            HmacMode::Enforce => "enforce",
            HmacMode::Permissive => "permissive",
            HmacMode::ReceiveOnly => "receive-only",
        }
    }
}

/// `anti_replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AntiReplay {
    /// Freshness window plus per-sender growth (default).
    Time,
    /// Per-sender growth only.
    Monotonic,
}

/// One `key ID VALUE`.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacKey {
    /// Key id 1..255.
    pub id: u8,
    /// 32..64 octets.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "HmacKey {{ id: {}, len: {} }}", self.id, self.key.len())
    }
}

/// The `auth_hmac { }` block, resolved (defaults applied by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHmacConfig {
    /// Keys by id (verification accepts any of them).
    pub keys: Vec<HmacKey>,
    /// Key used to sign.
    pub active_key: u8,
    /// Mode.
    pub mode: HmacMode,
    /// Replay protection.
    pub anti_replay: AntiReplay,
    /// Freshness window in seconds (`max(3 x advert_int, 5)` by default).
    pub time_window: u32,
}

impl AuthHmacConfig {
    /// keepalived's default window for an advert interval in seconds:
    /// `3 x advert_int` clamped to 5..300.
    pub fn default_window(advert_secs: u32) -> u32 {
        advert_secs
            .saturating_mul(3)
            .clamp(WINDOW_FLOOR, WINDOW_MAX)
    }
}

/// Why a trailer was refused (each with keepalived 2.4's log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacError {
    /// `mode enforce` and no trailer.
    Missing,
    /// Unknown ext_type or non-zero reserved field.
    Malformed,
    /// The key id names no configured key.
    UnknownKey(u8),
    /// The HMAC does not verify.
    BadHmac,
    /// Outside the freshness window; `skew` = our seconds - theirs.
    Stale {
        /// Skew in seconds.
        skew: i64,
        /// Window in seconds.
        window: u32,
    },
    /// Not newer than the last advert accepted from that sender.
    Replay,
}

impl HmacError {
    /// keepalived 2.4's log line for `iname` and sender `src`.
    pub fn log_line(&self, iname: &str, src: IpAddr) -> String {
        match self {
            HmacError::Missing => format!("({iname}) missing authentication trailer from {src}"),
            HmacError::Malformed => {
                format!("({iname}) malformed authentication trailer from {src}")
            }
            HmacError::UnknownKey(id) => {
                format!("({iname}) unknown authentication key id {id} from {src}")
            }
            HmacError::BadHmac => format!("({iname}) invalid authentication HMAC from {src}"),
            HmacError::Stale { skew, window } => format!(
                "({iname}) stale authentication trailer from {src}, clock skew {skew} sec exceeds window {window} sec"
            ),
            HmacError::Replay => format!("({iname}) replayed authentication trailer from {src}"),
        }
    }
    /// Short name (counters, rate limiting).
    pub fn kind(&self) -> &'static str {
        match self {
            HmacError::Missing => "auth_ext_missing",
            HmacError::Malformed => "auth_ext_malformed",
            HmacError::UnknownKey(_) => "auth_ext_unknown_key",
            HmacError::BadHmac => "auth_ext_bad_hmac",
            HmacError::Stale { .. } => "auth_ext_stale",
            HmacError::Replay => "auth_ext_replay",
        }
    }
}

impl std::fmt::Display for HmacError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// RFC 1982 "a is after b" on 64 bits.
pub fn seq_after(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) > 0
}

/// Sequence of a UTC time in µs: seconds, 1/65536 s, counter 0.
pub fn seq_of_unix_micros(us: u64) -> u64 {
    let secs = (us / 1_000_000) as u32 as u64;
    let frac = ((us % 1_000_000) << 16) / 1_000_000;
    (secs << 32) | (frac << 16)
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    seq: u64,
    at: Instant,
}

#[derive(Debug, Clone)]
struct Sender {
    addr: IpAddr,
    mark: Option<Mark>,
    last_used: u64,
}

/// Per-instance signing and verification state.
#[derive(Debug, Clone)]
pub struct HmacState {
    cfg: AuthHmacConfig,
    /// (monotonic, UTC µs) of the first wall-clock reading.
    anchor: Option<(Instant, u64)>,
    /// Latest wall-clock reading (first contacts only).
    latest_wall: Option<(Instant, u64)>,
    /// Correction of the anchored clock the wall clock confirmed (µs).
    target_us: i64,
    /// Correction the sending clock applies now (moves toward `target_us`).
    send_us: i64,
    /// Last time `send_us` was slewed.
    slewed_at: Option<Instant>,
    /// A disagreement seen and since when, not confirmed yet.
    candidate: Option<(i64, Instant)>,
    send_seq: u64,
    senders: Vec<Sender>,
    max_senders: usize,
    lru: u64,
}

impl HmacState {
    /// State for `cfg`. Call [`Self::set_wall_clock`] before the first advert.
    pub fn new(cfg: AuthHmacConfig) -> Self {
        HmacState {
            cfg,
            anchor: None,
            latest_wall: None,
            target_us: 0,
            send_us: 0,
            slewed_at: None,
            candidate: None,
            send_seq: 0,
            senders: Vec::new(),
            max_senders: MCAST_SENDERS,
            lru: 0,
        }
    }

    /// Remember up to `n` senders (at least [`MCAST_SENDERS`]); a unicast
    /// instance passes its peer count so every peer keeps its own mark.
    pub fn set_max_senders(&mut self, n: usize) {
        self.max_senders = n.max(MCAST_SENDERS);
    }

    /// The configuration.
    pub fn config(&self) -> &AuthHmacConfig {
        &self.cfg
    }

    /// Replace keys/mode on reload, keeping the sequence and replay marks
    /// (a reload must not let an old advert in, nor restart our sequence).
    pub fn reconfigure(&mut self, cfg: AuthHmacConfig) {
        self.cfg = cfg;
    }

    /// Trailer length this instance appends (0 in receive-only mode).
    pub fn trailer_len(&self) -> usize {
        if self.cfg.mode == HmacMode::ReceiveOnly {
            0
        } else {
            TRAILER_LEN
        }
    }

    /// Report the wall clock (UTC µs since the Unix epoch) read at monotonic
    /// `now`. The first call anchors the sequence; call it again every few
    /// seconds (see the module documentation for what later readings do).
    /// Returns the disagreement in seconds when a new one (≥ 1 s) is first
    /// seen, for a log line; [`Self::observe_wall_clock`] tells more.
    pub fn set_wall_clock(&mut self, now: Instant, unix_micros: u64) -> Option<i64> {
        match self.observe_wall_clock(now, unix_micros) {
            WallClock::Stepped { by } => Some(by),
            _ => None,
        }
    }

    /// [`Self::set_wall_clock`], returning what the reading meant.
    pub fn observe_wall_clock(&mut self, now: Instant, unix_micros: u64) -> WallClock {
        self.latest_wall = Some((now, unix_micros));
        if self.anchor.is_none() {
            self.anchor = Some((now, unix_micros));
            self.slewed_at = Some(now);
            return WallClock::Anchored;
        }
        self.slew(now);
        let seen = unix_micros as i64 - self.anchored_wall(now) as i64;
        let secs = |us: i64| us / 1_000_000;
        if (seen - self.target_us).abs() < CLOCK_TOLERANCE_US {
            self.candidate = None;
            return WallClock::InStep;
        }
        match self.candidate {
            Some((c, since)) if (seen - c).abs() < CLOCK_TOLERANCE_US => {
                let lasted = now.micros_since(since) / 1_000_000;
                if lasted >= CONFIRM_SECS {
                    let by = secs(seen - self.target_us);
                    self.target_us = seen;
                    self.candidate = None;
                    self.slew(now);
                    WallClock::Following { by }
                } else {
                    WallClock::Waiting {
                        by: secs(seen - self.target_us),
                        for_secs: lasted,
                    }
                }
            }
            _ => {
                self.candidate = Some((seen, now));
                WallClock::Stepped {
                    by: secs(seen - self.target_us),
                }
            }
        }
    }

    /// Moves the sending correction toward the confirmed one: forward at
    /// once, backward by half the monotonic time since the last call.
    fn slew(&mut self, now: Instant) {
        let last = self.slewed_at.replace(now).unwrap_or(now);
        if self.send_us < self.target_us {
            self.send_us = self.target_us;
        } else if self.send_us > self.target_us {
            let half = i64::try_from(now.micros_since(last) / 2).unwrap_or(i64::MAX);
            self.send_us = self.send_us.saturating_sub(half).max(self.target_us);
        }
    }

    /// UTC µs estimate at `now` from the anchor (monotonic since), without
    /// correction.
    fn anchored_wall(&self, now: Instant) -> u64 {
        match self.anchor {
            Some((m, w)) => w.saturating_add(now.as_micros().saturating_sub(m.as_micros())),
            None => now.as_micros(),
        }
    }

    fn corrected(&self, now: Instant, by_us: i64) -> u64 {
        let t = i128::from(self.anchored_wall(now)) + i128::from(by_us);
        u64::try_from(t.max(0)).unwrap_or(u64::MAX)
    }

    /// The sending clock (UTC µs) at `now`.
    pub fn send_clock(&mut self, now: Instant) -> u64 {
        self.slew(now);
        self.corrected(now, self.send_us)
    }

    /// Latest wall reading moved to `now`.
    fn wall_now(&self, now: Instant) -> u64 {
        match self.latest_wall {
            Some((m, w)) => w.saturating_add(now.as_micros().saturating_sub(m.as_micros())),
            None => self.anchored_wall(now),
        }
    }

    /// Next sending sequence: the sending clock, strictly growing.
    pub fn next_seq(&mut self, now: Instant) -> u64 {
        let clk = seq_of_unix_micros(self.send_clock(now));
        self.send_seq = if seq_after(clk, self.send_seq) {
            clk
        } else {
            self.send_seq.wrapping_add(1)
        };
        self.send_seq
    }

    /// Sign one advert. `pdu` is the VRRP message (header, addresses, v2
    /// auth data) as sent, checksum included (read as zero). Returns the
    /// trailer to append, or `None` in receive-only mode. The same trailer
    /// goes to every unicast peer (the HMAC does not cover the destination).
    pub fn sign(
        &mut self,
        now: Instant,
        family: Family,
        src: IpAddr,
        pdu: &[u8],
    ) -> Option<[u8; TRAILER_LEN]> {
        if self.cfg.mode == HmacMode::ReceiveOnly || pdu.len() < 8 {
            return None;
        }
        let seq = self.next_seq(now);
        let mut t = [0u8; TRAILER_LEN];
        t[0] = EXT_TYPE_SHA256;
        t[1] = self.cfg.active_key;
        t[4..8].copy_from_slice(&((seq >> 32) as u32).to_be_bytes());
        t[8..10].copy_from_slice(&((seq >> 16) as u16).to_be_bytes());
        t[10..12].copy_from_slice(&(seq as u16).to_be_bytes());
        if let Some(k) = self.key(self.cfg.active_key) {
            let d = digest(k, family, pdu, src, &t[..12]);
            t[12..].copy_from_slice(&d);
        }
        // An undefined active key leaves a zero HMAC: every receiver refuses it.
        Some(t)
    }

    fn key(&self, id: u8) -> Option<&[u8]> {
        self.cfg
            .keys
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.key.as_slice())
    }

    /// Verify a received advert. `pdu` is the VRRP message without the
    /// trailer; `trailer` is `None` when the datagram had none. `Ok(())`
    /// means process the advert.
    pub fn verify(
        &mut self,
        now: Instant,
        family: Family,
        src: IpAddr,
        pdu: &[u8],
        trailer: Option<&[u8]>,
    ) -> Result<(), HmacError> {
        let Some(t) = trailer else {
            return if self.cfg.mode == HmacMode::Enforce {
                Err(HmacError::Missing)
            } else {
                Ok(())
            };
        };
        if t.len() != TRAILER_LEN || t[0] != EXT_TYPE_SHA256 || t[2] != 0 || t[3] != 0 {
            return Err(HmacError::Malformed);
        }
        let key = self.key(t[1]).ok_or(HmacError::UnknownKey(t[1]))?;
        if pdu.len() < 8 {
            return Err(HmacError::Malformed);
        }
        let d = digest(key, family, pdu, src, &t[..12]);
        if !ct_eq(&d, &t[12..]) {
            return Err(HmacError::BadHmac);
        }
        let sec = u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
        let seq = (u64::from(sec) << 32)
            | (u64::from(u16::from_be_bytes([t[8], t[9]])) << 16)
            | u64::from(u16::from_be_bytes([t[10], t[11]]));
        let window = self.cfg.time_window;
        let time_mode = self.cfg.anti_replay == AntiReplay::Time;
        let wall_secs = (self.wall_now(now) / 1_000_000) as u32;
        let ours_secs = (self.corrected(now, self.target_us) / 1_000_000) as u32;
        let idx = self.sender(src);
        let s = &mut self.senders[idx];
        // A mark older than the window (monotonic) orders nothing the
        // first-contact check does not already refuse: forget it, so a
        // sender that restarted is heard again.
        if time_mode {
            if let Some(m) = s.mark {
                if now.as_micros().saturating_sub(m.at.as_micros()) > u64::from(window) * 1_000_000
                {
                    s.mark = None;
                }
            }
        }
        match s.mark {
            Some(m) => {
                if time_mode {
                    // Expected seconds: the mark advanced by our monotonic time.
                    let elapsed =
                        (now.as_micros().saturating_sub(m.at.as_micros()) / 1_000_000) as u32;
                    let expected = ((m.seq >> 32) as u32).wrapping_add(elapsed);
                    let behind = expected.wrapping_sub(sec) as i32;
                    if behind > window as i32 {
                        return Err(HmacError::Stale {
                            skew: i64::from(behind),
                            window,
                        });
                    }
                }
                if !seq_after(seq, m.seq) {
                    return Err(HmacError::Replay);
                }
            }
            None => {
                if time_mode {
                    // Fresh against either of our clocks: the wall clock as
                    // last read, or ours once corrected (they differ while a
                    // wall-clock step is not confirmed yet).
                    let a = wall_secs.wrapping_sub(sec) as i32;
                    let b = ours_secs.wrapping_sub(sec) as i32;
                    let skew = if a.unsigned_abs() <= b.unsigned_abs() {
                        a
                    } else {
                        b
                    };
                    if skew.unsigned_abs() > window {
                        return Err(HmacError::Stale {
                            skew: i64::from(skew),
                            window,
                        });
                    }
                }
            }
        }
        s.mark = Some(Mark { seq, at: now });
        Ok(())
    }

    /// Replay slot for `src` (LRU over [`MCAST_SENDERS`] senders, enough
    /// for unicast peers too: the caller checks that a unicast source is a
    /// configured peer first).
    fn sender(&mut self, src: IpAddr) -> usize {
        self.lru += 1;
        if let Some(i) = self.senders.iter().position(|s| s.addr == src) {
            self.senders[i].last_used = self.lru;
            return i;
        }
        let s = Sender {
            addr: src,
            mark: None,
            last_used: self.lru,
        };
        if self.senders.len() < self.max_senders {
            self.senders.push(s);
            return self.senders.len() - 1;
        }
        let i = self
            .senders
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.last_used)
            .map(|(i, _)| i)
            .unwrap_or(0);
        self.senders[i] = s;
        i
    }
}

/// The draft's HMAC input and the truncated digest.
fn digest(key: &[u8], family: Family, pdu: &[u8], src: IpAddr, prefix: &[u8]) -> [u8; HMAC_LEN] {
    let mut pseudo = [0u8; 20];
    pseudo[0] = match family {
        Family::V4 => 4,
        Family::V6 => 6,
    };
    pseudo[1] = pdu[0] >> 4;
    pseudo[2] = pdu[1];
    match src {
        IpAddr::V4(a) => pseudo[4..8].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => pseudo[4..20].copy_from_slice(&a.octets()),
    }
    // new_from_slice accepts any length for HMAC.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; HMAC_LEN];
    };
    mac.update(&pseudo);
    mac.update(&pdu[..6]);
    mac.update(&[0, 0]);
    mac.update(&pdu[8..]);
    mac.update(prefix);
    mac.update(&[0u8; HMAC_LEN]);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; HMAC_LEN];
    out.copy_from_slice(&full[..HMAC_LEN]);
    out
}

/// Constant-time equality (no early exit on the first differing octet).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    std::hint::black_box(d) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st() -> HmacState {
        let mut h = HmacState::new(AuthHmacConfig {
            keys: vec![HmacKey {
                id: 1,
                key: vec![7; 32],
            }],
            active_key: 1,
            mode: HmacMode::Enforce,
            anti_replay: AntiReplay::Time,
            time_window: 5,
        });
        h.set_wall_clock(Instant::from_micros(0), 1_800_000_000_000_000);
        h
    }

    #[test]
    fn garbage_never_panics_and_is_refused() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut h = st();
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..20_000u64 {
            let plen = (next() % 64) as usize;
            let tlen = if i % 3 == 0 {
                TRAILER_LEN
            } else {
                (next() % 40) as usize
            };
            let pdu: Vec<u8> = (0..plen).map(|_| next() as u8).collect();
            let mut tr: Vec<u8> = (0..tlen).map(|_| next() as u8).collect();
            if tlen == TRAILER_LEN && i % 2 == 0 {
                tr[0] = EXT_TYPE_SHA256;
                tr[1] = 1;
                tr[2] = 0;
                tr[3] = 0;
            }
            let r = h.verify(Instant::from_micros(i), Family::V4, src, &pdu, Some(&tr));
            assert!(r.is_err(), "random input accepted at {i}");
        }
    }

    #[test]
    fn sequence_is_strictly_increasing_within_one_tick() {
        let mut h = st();
        let a = h.next_seq(Instant::from_micros(5));
        let b = h.next_seq(Instant::from_micros(5));
        let c = h.next_seq(Instant::from_micros(4)); // a monotonic clock never does this; still grows
        assert!(seq_after(b, a) && seq_after(c, b));
        assert_eq!(b, a + 1);
        // RFC 1982 wrap.
        assert!(seq_after(0, u64::MAX));
        assert!(!seq_after(u64::MAX, 0));
    }

    const T0: u64 = 1_800_000_000_000_000;
    const HOUR: u64 = 3_600_000_000;

    fn state(window: u32) -> HmacState {
        HmacState::new(AuthHmacConfig {
            keys: vec![HmacKey {
                id: 1,
                key: vec![7; 32],
            }],
            active_key: 1,
            mode: HmacMode::Enforce,
            anti_replay: AntiReplay::Time,
            time_window: window,
        })
    }

    /// A VRRPv3 advert (VRID 51, priority 100, 1 s, one VIP).
    const PDU: [u8; 12] = [0x31, 51, 100, 1, 0, 100, 0, 0, 192, 0, 2, 200];

    fn src() -> IpAddr {
        "192.0.2.11".parse().unwrap()
    }

    fn secs_of(t: &[u8; TRAILER_LEN]) -> u64 {
        u64::from(u32::from_be_bytes([t[4], t[5], t[6], t[7]]))
    }

    /// Node A signs one advert a second for `run_s` seconds and reads its
    /// wall clock `wall(t_us)` every 5 s; B (anchored with A's first
    /// reading, as a peer that met A then) and C (a peer meeting A for the
    /// first time at every advert, true clock `T0 + t`) verify each one.
    /// Returns (A's events with their time, per-advert (t_s, seconds sent),
    /// B's errors, the first time C accepted).
    #[allow(clippy::type_complexity)]
    fn run_clock(
        run_s: u64,
        wall: &dyn Fn(u64) -> u64,
    ) -> (
        Vec<(u64, WallClock)>,
        Vec<(u64, u64)>,
        Vec<(u64, HmacError)>,
        Option<u64>,
    ) {
        let mut a = state(5);
        let mut b = state(5);
        let mut c = state(5);
        let z = Instant::from_micros(0);
        let mut events = vec![(0, a.observe_wall_clock(z, wall(0)))];
        b.set_wall_clock(z, wall(0));
        c.set_wall_clock(z, T0);
        let (mut sent, mut b_err, mut c_ok) = (Vec::new(), Vec::new(), None);
        let mut last_seq = 0u64;
        for t_s in 0..run_s {
            let t = t_s * 1_000_000;
            let now = Instant::from_micros(t);
            if t_s % 5 == 0 && t_s > 0 {
                let ev = a.observe_wall_clock(now, wall(t));
                if !matches!(ev, WallClock::InStep | WallClock::Waiting { .. }) {
                    events.push((t_s, ev));
                }
                c.set_wall_clock(now, T0 + t);
            }
            let tr = a.sign(now, Family::V4, src(), &PDU).unwrap();
            let seq = u64::from_be_bytes(tr[4..12].try_into().unwrap());
            assert!(
                seq_after(seq, last_seq) || t_s == 0,
                "sequence went back at {t_s} s"
            );
            last_seq = seq;
            sent.push((t_s, secs_of(&tr)));
            if let Err(e) = b.verify(now, Family::V4, src(), &PDU, Some(&tr)) {
                b_err.push((t_s, e));
            }
            // C meets A for the first time on every advert until it accepts.
            let mut fresh = c.clone();
            if c_ok.is_none()
                && fresh
                    .verify(now, Family::V4, src(), &PDU, Some(&tr))
                    .is_ok()
            {
                c_ok = Some(t_s);
            }
        }
        (events, sent, b_err, c_ok)
    }

    #[test]
    fn transient_wall_clock_steps_change_nothing_on_the_wire() {
        // +1 h for 250 s (< CONFIRM_SECS), then -2 h for 290 s.
        let wall = |t: u64| match t / 1_000_000 {
            100..350 => T0 + t + HOUR,
            400..690 => T0 + t - 2 * HOUR,
            _ => T0 + t,
        };
        let (events, sent, b_err, c_ok) = run_clock(900, &wall);
        assert_eq!(
            events,
            vec![
                (0, WallClock::Anchored),
                (100, WallClock::Stepped { by: 3600 }),
                (400, WallClock::Stepped { by: -7200 }),
            ]
        );
        for (t_s, secs) in &sent {
            assert_eq!(*secs, T0 / 1_000_000 + t_s, "seconds sent at {t_s} s");
        }
        assert!(b_err.is_empty(), "{b_err:?}");
        assert_eq!(c_ok, Some(0));
        assert_eq!(
            WallClock::Stepped { by: 3600 }.log_line("VI_1").unwrap(),
            "(VI_1) wall clock stepped by 3600 s; auth_hmac sequence unaffected unless it lasts 300 s"
        );
    }

    #[test]
    fn a_lasting_forward_step_is_followed_once_confirmed() {
        // A (and B, which met it then) booted an hour behind; NTP sets A's
        // clock right at 20 s. A peer with the right time (C) refuses A
        // until A follows, 300 s later; B never refuses anything.
        let wall = |t: u64| {
            if t < 20_000_000 {
                T0 + t - HOUR
            } else {
                T0 + t
            }
        };
        let (events, sent, b_err, c_ok) = run_clock(700, &wall);
        assert_eq!(
            events,
            vec![
                (0, WallClock::Anchored),
                (20, WallClock::Stepped { by: 3600 }),
                (320, WallClock::Following { by: 3600 }),
            ]
        );
        for (t_s, secs) in &sent {
            let want = if *t_s < 320 {
                T0 / 1_000_000 - 3600 + t_s
            } else {
                T0 / 1_000_000 + t_s
            };
            assert_eq!(*secs, want, "seconds sent at {t_s} s");
        }
        assert!(b_err.is_empty(), "{b_err:?}");
        assert_eq!(c_ok, Some(320));
        assert_eq!(
            WallClock::Following { by: 3600 }.log_line("VI_1").unwrap(),
            "(VI_1) wall clock ahead of the auth_hmac clock by 3600 s for 300 s - following it"
        );
    }

    #[test]
    fn a_lasting_backward_step_is_slewed_at_half_speed() {
        // A (and B) booted an hour ahead; NTP sets A's clock right at 20 s.
        // From 320 s A's seconds advance at half speed: they meet the
        // right time 7,200 s later. B accepts every advert throughout
        // (never two masters), C from when A is within its 5 s window.
        let wall = |t: u64| {
            if t < 20_000_000 {
                T0 + t + HOUR
            } else {
                T0 + t
            }
        };
        let (events, sent, b_err, c_ok) = run_clock(7_700, &wall);
        assert_eq!(
            events,
            vec![
                (0, WallClock::Anchored),
                (20, WallClock::Stepped { by: -3600 }),
                (320, WallClock::Following { by: -3600 }),
            ]
        );
        assert!(b_err.is_empty(), "{:?}", &b_err[..b_err.len().min(5)]);
        let t0 = T0 / 1_000_000;
        for w in sent.windows(2) {
            let step = w[1].1 - w[0].1;
            if w[1].0 <= 320 || w[1].0 > 7_520 {
                assert_eq!(step, 1, "at {} s", w[1].0);
            } else {
                assert!(step <= 1, "at {} s: +{step}", w[1].0);
            }
        }
        // Half speed: 1,000 s into the slew A is 3,100 s ahead.
        let at = |t: u64| sent[t as usize].1 as i64 - (t0 + t) as i64;
        assert!((3099..=3101).contains(&at(1_320)), "{}", at(1_320));
        assert!(at(7_519) >= 0 && at(7_519) <= 1, "{}", at(7_519));
        assert_eq!(at(7_600), 0);
        let c = c_ok.expect("C never accepted A");
        assert!((7_505..=7_520).contains(&c), "C accepted A at {c} s");
        assert!(WallClock::Following { by: -3600 }
            .log_line("VI_1")
            .unwrap()
            .contains("behind the auth_hmac clock by 3600 s"));
    }

    #[test]
    fn first_contact_is_fresh_against_either_clock() {
        // Our wall clock stepped +1 h 10 s ago (not confirmed): a new peer
        // on the right time and one on the stepped time are both fresh; one
        // 10 s off both is not.
        let mut r = state(5);
        r.set_wall_clock(Instant::from_micros(0), T0);
        let now = Instant::from_micros(100_000_000);
        r.set_wall_clock(now.add_micros(0), T0 + 100_000_000 + HOUR);
        let signer = |wall: u64| {
            let mut s = state(5);
            s.set_wall_clock(now, wall);
            s.sign(now, Family::V4, src(), &PDU).unwrap()
        };
        let right = signer(T0 + 100_000_000);
        let stepped = signer(T0 + 100_000_000 + HOUR);
        let off = signer(T0 + 110_000_000);
        assert_eq!(
            r.clone().verify(now, Family::V4, src(), &PDU, Some(&right)),
            Ok(())
        );
        assert_eq!(
            r.clone()
                .verify(now, Family::V4, src(), &PDU, Some(&stepped)),
            Ok(())
        );
        assert_eq!(
            r.verify(now, Family::V4, src(), &PDU, Some(&off)),
            Err(HmacError::Stale {
                skew: -10,
                window: 5
            })
        );
    }

    #[test]
    fn default_window() {
        assert_eq!(AuthHmacConfig::default_window(1), 5);
        assert_eq!(AuthHmacConfig::default_window(3), 9);
        assert_eq!(AuthHmacConfig::default_window(200), 300);
    }
}
