//! A tiny sans-IO log rate limiter keyed by (instance, error kind).
//!
//! keepalived 2.2.7 logs every receive error; 2.4 logs each class once
//! until a state change or an accepted advert (`log_rate_limited_error`).
//! The daemon picks the policy: [`RateLimiter::new`] with an interval
//! (a repeated key is suppressed until the interval has passed since it
//! was last logged) and [`RateLimiter::reset_instance`] on accepted adverts
//! or state changes for the 2.4 behaviour. An interval of zero logs
//! everything (2.2.7).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use crate::time::Instant;

/// Rate limiter over keys `(I, K)`.
#[derive(Debug, Clone)]
pub struct RateLimiter<I: Eq + Hash + Clone, K: Eq + Hash + Clone> {
    interval_us: u64,
    last: HashMap<(I, K), (Instant, u64)>,
}

/// The limiter's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it. `suppressed` lines with this key were dropped since the last
    /// logged one.
    Log {
        /// Number of suppressed occurrences since the previous logged one.
        suppressed: u64,
    },
    /// Drop it.
    Suppress,
}

impl<I: Eq + Hash + Clone, K: Eq + Hash + Clone> RateLimiter<I, K> {
    /// A limiter logging each key at most once per `interval`.
    pub fn new(interval: Duration) -> Self {
        RateLimiter {
            interval_us: u64::try_from(interval.as_micros()).unwrap_or(u64::MAX),
            last: HashMap::new(),
        }
    }

    /// Decides whether an occurrence of `(instance, kind)` at `now` is logged.
    pub fn check(&mut self, now: Instant, instance: &I, kind: &K) -> Verdict {
        let key = (instance.clone(), kind.clone());
        match self.last.get_mut(&key) {
            Some((at, suppressed)) if now.micros_since(*at) < self.interval_us => {
                *suppressed += 1;
                Verdict::Suppress
            }
            Some((at, suppressed)) => {
                let s = *suppressed;
                *at = now;
                *suppressed = 0;
                Verdict::Log { suppressed: s }
            }
            None => {
                self.last.insert(key, (now, 0));
                Verdict::Log { suppressed: 0 }
            }
        }
    }

    /// Forgets every key of `instance` (its next errors are logged at once).
    pub fn reset_instance(&mut self, instance: &I) {
        self.last.retain(|(i, _), _| i != instance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let mut rl: RateLimiter<&str, u8> = RateLimiter::new(Duration::from_secs(10));
        let t0 = Instant::from_micros(0);
        assert_eq!(rl.check(t0, &"VI_1", &1), Verdict::Log { suppressed: 0 });
        assert_eq!(
            rl.check(t0.add_micros(1_000_000), &"VI_1", &1),
            Verdict::Suppress
        );
        assert_eq!(
            rl.check(t0.add_micros(1_000_000), &"VI_1", &2),
            Verdict::Log { suppressed: 0 }
        );
        assert_eq!(
            rl.check(t0.add_micros(1_000_000), &"VI_2", &1),
            Verdict::Log { suppressed: 0 }
        );
        assert_eq!(
            rl.check(t0.add_micros(10_000_000), &"VI_1", &1),
            Verdict::Log { suppressed: 1 }
        );
        rl.reset_instance(&"VI_1");
        assert_eq!(
            rl.check(t0.add_micros(10_000_001), &"VI_1", &1),
            Verdict::Log { suppressed: 0 }
        );
    }

    #[test]
    fn zero_interval_logs_everything() {
        let mut rl: RateLimiter<u8, u8> = RateLimiter::new(Duration::ZERO);
        for i in 0..3 {
            assert!(matches!(
                rl.check(Instant::from_micros(i), &0, &0),
                Verdict::Log { .. }
            ));
        }
    }
}
