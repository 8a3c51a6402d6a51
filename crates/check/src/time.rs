//! Time as an input: milliseconds since the checker started.
//!
//! The check crate never reads a clock. The daemon converts its monotonic
//! clock into [`Millis`] and passes it to every call.

use std::fmt;
use std::ops::Add;
use std::time::Duration;

/// A point in time, in milliseconds since an arbitrary start (the daemon's
/// start). Monotonic by contract of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// Time zero.
    pub const ZERO: Millis = Millis(0);

    /// Builds a time from whole seconds (handy in tests and configs).
    pub const fn from_secs(secs: u64) -> Millis {
        Millis(secs.saturating_mul(1000))
    }

    /// Milliseconds elapsed since `earlier`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Millis {
    type Output = Millis;
    fn add(self, rhs: Duration) -> Millis {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Millis(self.0.saturating_add(ms))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_display() {
        let t = Millis::from_secs(3) + Duration::from_millis(250);
        assert_eq!(t, Millis(3250));
        assert_eq!(t.to_string(), "3.250s");
        assert_eq!(Millis(u64::MAX) + Duration::from_secs(1), Millis(u64::MAX));
        assert_eq!(Millis(5).saturating_since(Millis(9)), Duration::ZERO);
    }
}
