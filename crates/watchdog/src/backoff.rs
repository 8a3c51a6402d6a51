//! Respawn throttling, as keepalived's `calc_restart_delay()`
//! (`lib/scheduler.c`): a child that ran for 60 s or more restarts at once
//! and resets the delay; otherwise the current delay is used and the next
//! one advances 0 → 1 → 2 → 4 → 8 → 16 → 32 → 60 → 60 …

use std::time::Duration;

/// The restart delay state of one child.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestartBackoff {
    next_secs: u64,
}

impl RestartBackoff {
    /// A fresh state (first restart is immediate).
    pub fn new() -> Self {
        Self::default()
    }

    /// The delay before restarting a child that ran for `uptime`; advances
    /// the state. `None` means "ran long enough: restart now, no log line";
    /// `Some(secs)` is the delay to log (upstream logs it even when 0).
    pub fn on_exit(&mut self, uptime: Duration) -> Option<u64> {
        if uptime >= Duration::from_secs(60) {
            self.next_secs = 0;
            return None;
        }
        let delay = self.next_secs;
        self.next_secs = match self.next_secs {
            0 => 1,
            n if n > 30 => 60,
            n => n * 2,
        };
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_matches_keepalived() {
        let mut b = RestartBackoff::new();
        let quick = Duration::from_secs(1);
        let got: Vec<u64> = (0..10).map(|_| b.on_exit(quick).unwrap()).collect();
        assert_eq!(got, vec![0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn long_uptime_resets() {
        let mut b = RestartBackoff::new();
        let quick = Duration::from_secs(1);
        assert_eq!(b.on_exit(quick), Some(0));
        assert_eq!(b.on_exit(quick), Some(1));
        assert_eq!(b.on_exit(Duration::from_secs(60)), None);
        assert_eq!(b.on_exit(quick), Some(0));
        assert_eq!(b.on_exit(Duration::from_millis(59_999)), Some(1));
    }
}
