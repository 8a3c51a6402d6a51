//! Timer heap on the monotonic clock.
//!
//! Timers are identified by a [`TimerId`] that stays valid after the timer
//! fired or was cancelled, so a periodic timer (a VRRP advert, a heartbeat)
//! is re-armed under the same id. Cancellation is lazy: the heap keeps the
//! stale entry and skips it when it reaches the top, so cancel and re-arm
//! are O(1) plus one O(log n) push.
//!
//! Deadlines are `std::time::Instant`, which is `CLOCK_MONOTONIC` on Linux:
//! wall-clock steps (NTP, an operator's `date -s`) never move a timer.
//! Timers with equal deadlines fire in the order they were armed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

/// Hasher for the timer ids (sequential `u64`s we hand out ourselves, so
/// no untrusted keys): one multiplication (Fibonacci hashing) instead of
/// SipHash, on every arm, fire and loop turn.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by u64 keys; kept correct for any other input.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Handle of one timer; stays valid (re-armable) after it fires or is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

impl TimerId {
    /// The raw number, for logs.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    deadline: Instant,
    /// Arming order: breaks ties between equal deadlines (FIFO), and tells
    /// which arming of `id` this entry is (older ones are stale).
    seq: u64,
    id: u64,
}

/// A min-heap of deadlines with cancel and re-arm by id.
#[derive(Debug, Default)]
pub struct TimerHeap {
    heap: BinaryHeap<Reverse<Entry>>,
    /// Armed timers: id -> (seq of the live entry, deadline).
    armed: HashMap<u64, (u64, Instant), BuildHasherDefault<IdHasher>>,
    next_id: u64,
    seq: u64,
}

impl TimerHeap {
    /// An empty heap.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arm a new timer firing at `deadline`.
    pub fn add_at(&mut self, deadline: Instant) -> TimerId {
        let id = TimerId(self.next_id);
        self.next_id += 1;
        self.push(id.0, deadline);
        id
    }

    /// (Re-)arm `id` to fire at `deadline`, replacing any pending deadline.
    /// Works for a timer that already fired or was cancelled.
    #[inline]
    pub fn rearm_at(&mut self, id: TimerId, deadline: Instant) {
        self.push(id.0, deadline);
    }

    /// Disarm `id`. Returns true when it was armed.
    #[inline]
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.armed.remove(&id.0).is_some()
    }

    /// True when `id` is armed (has not fired and was not cancelled).
    pub fn is_armed(&self, id: TimerId) -> bool {
        self.armed.contains_key(&id.0)
    }

    /// The deadline of an armed timer.
    pub fn deadline(&self, id: TimerId) -> Option<Instant> {
        self.armed.get(&id.0).map(|&(_, d)| d)
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.armed.len()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }

    /// The earliest armed deadline.
    #[inline]
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale();
        self.heap.peek().map(|Reverse(e)| e.deadline)
    }

    /// Remove and return the earliest timer whose deadline is `<= now`.
    #[inline]
    pub fn pop_expired(&mut self, now: Instant) -> Option<TimerId> {
        self.drop_stale();
        let Reverse(top) = *self.heap.peek()?;
        if top.deadline > now {
            return None;
        }
        self.heap.pop();
        self.armed.remove(&top.id);
        Some(TimerId(top.id))
    }

    #[inline]
    fn push(&mut self, id: u64, deadline: Instant) {
        self.seq += 1;
        self.armed.insert(id, (self.seq, deadline));
        self.heap.push(Reverse(Entry {
            deadline,
            seq: self.seq,
            id,
        }));
    }

    #[inline]
    fn drop_stale(&mut self) {
        while let Some(Reverse(top)) = self.heap.peek() {
            match self.armed.get(&top.id) {
                Some(&(seq, _)) if seq == top.seq => return,
                _ => {
                    self.heap.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drain(h: &mut TimerHeap, now: Instant) -> Vec<TimerId> {
        std::iter::from_fn(|| h.pop_expired(now)).collect()
    }

    #[test]
    fn fires_in_deadline_order_then_arming_order() {
        let t0 = Instant::now();
        let mut h = TimerHeap::new();
        let c = h.add_at(t0 + ms(30));
        let a = h.add_at(t0 + ms(10));
        let b1 = h.add_at(t0 + ms(20));
        let b2 = h.add_at(t0 + ms(20));
        assert_eq!(h.next_deadline(), Some(t0 + ms(10)));
        assert_eq!(drain(&mut h, t0 + ms(9)), vec![]);
        assert_eq!(drain(&mut h, t0 + ms(10)), vec![a]);
        assert_eq!(drain(&mut h, t0 + ms(30)), vec![b1, b2, c]);
        assert!(h.is_empty());
        assert_eq!(h.next_deadline(), None);
    }

    #[test]
    fn cancel_and_rearm() {
        let t0 = Instant::now();
        let mut h = TimerHeap::new();
        let a = h.add_at(t0 + ms(10));
        let b = h.add_at(t0 + ms(20));
        assert!(h.cancel(a));
        assert!(!h.cancel(a));
        assert_eq!(h.next_deadline(), Some(t0 + ms(20)));
        // Re-arm b later than before: the old entry must not fire.
        h.rearm_at(b, t0 + ms(50));
        assert_eq!(drain(&mut h, t0 + ms(49)), vec![]);
        // Re-arm a cancelled timer: same id comes back.
        h.rearm_at(a, t0 + ms(40));
        assert_eq!(h.deadline(a), Some(t0 + ms(40)));
        assert_eq!(drain(&mut h, t0 + ms(60)), vec![a, b]);
        // Re-arm after firing (periodic use), earlier than a pending stale entry.
        h.rearm_at(b, t0 + ms(70));
        h.rearm_at(b, t0 + ms(65));
        assert_eq!(
            drain(&mut h, t0 + ms(100)),
            vec![b],
            "fires once, at the last deadline"
        );
    }

    #[test]
    fn exact_to_the_centisecond() {
        // VRRPv3 advert_int 0.01: one hundred 10 ms periods end at exactly 1 s.
        let t0 = Instant::now();
        let mut h = TimerHeap::new();
        let id = h.add_at(t0 + ms(10));
        let mut fired = Vec::new();
        let mut now = t0;
        while fired.len() < 100 {
            now += Duration::from_millis(1);
            if let Some(t) = h.pop_expired(now) {
                assert_eq!(t, id);
                fired.push(now - t0);
                h.rearm_at(id, t0 + ms(10) * (fired.len() as u32 + 1));
            }
        }
        assert_eq!(fired[0], ms(10));
        assert_eq!(fired[99], ms(1000));
        assert!(fired.windows(2).all(|w| w[1] - w[0] == ms(10)));
    }
}
