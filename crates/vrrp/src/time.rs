//! Time as an input: a monotonic [`Instant`] in microseconds from an
//! origin the daemon chooses, and the VRRP interval types.
//!
//! keepalived computes every VRRP timer in microseconds (`TIMER_HZ` =
//! 1 000 000, `lib/timer.h`) with C unsigned integer division; we do the
//! same so that our timers round exactly like theirs (see
//! [`crate::timers`]).

use std::fmt;
use std::time::Duration;

/// A point on the daemon's monotonic clock, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The clock origin.
    pub const ZERO: Instant = Instant(0);

    /// From microseconds since the origin.
    pub fn from_micros(us: u64) -> Self {
        Instant(us)
    }
    /// Microseconds since the origin.
    pub fn as_micros(self) -> u64 {
        self.0
    }
    /// `self + us` (saturating).
    pub fn add_micros(self, us: u64) -> Self {
        Instant(self.0.saturating_add(us))
    }
    /// `self + d` (saturating, truncated to whole microseconds).
    pub fn add_duration(self, d: Duration) -> Self {
        self.add_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }
    /// `self - earlier`, zero if `earlier` is later.
    pub fn micros_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Instant {
    /// Seconds with six decimals, e.g. `3.648437`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// An interval in centiseconds, the unit of the VRRPv3 Max Advertise
/// Interval field (RFC 5798 §5.2.7). VRRPv2 seconds are converted at the
/// edge (1 s = `Centis(100)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Centis(pub u16);

impl Centis {
    /// In microseconds (keepalived's `adver_int`).
    pub fn as_micros(self) -> u32 {
        u32::from(self.0) * 10_000
    }
    /// Whole seconds (VRRPv2 field value, truncated).
    pub fn as_secs(self) -> u16 {
        self.0 / 100
    }
    /// As a [`Duration`].
    pub fn as_duration(self) -> Duration {
        Duration::from_millis(u64::from(self.0) * 10)
    }
}
