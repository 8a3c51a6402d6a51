//! Child liveness over a pipe, proven by the child's own event loop.
//!
//! The parent creates a pipe before fork+exec ([`Watch::new`]) and passes
//! the write end down (hidden `--ka-liveness-fd N --ka-liveness-interval S`).
//! The child's main loop ([`Beacon`]) writes its `CLOCK_MONOTONIC` time
//! (8 bytes, little endian; writes of 8 bytes are atomic on a pipe) each
//! time it returns from its poll and the last beat is at least half an
//! interval old, and on a timer every interval when nothing else woke it.
//! A loop that is stuck or stopped (SIGSTOP) stops beating.
//!
//! Each beat also re-arms two kernel timers in the child
//! (`sys::process::KillTimer`, POSIX timers): one sends it SIGSTOP when the
//! liveness timeout passes without a beat, one SIGKILL [`BACKSTOP`] later.
//! A loop that stops beating (stuck) is thus stopped by the kernel without
//! the parent waking up; the parent is told by SIGCHLD (CLD_STOPPED, as
//! for an external SIGSTOP), reads the pipe, finds the last beat as old as
//! the timeout, logs the heartbeat failure and kills it. The SIGKILL timer
//! only matters when the parent cannot act (gone, or stopped itself).
//!
//! The parent never polls the pipe: it reads it when a child stops or dies
//! and at a backstop deadline (last beat + timeout + [`BACKSTOP`]), so an
//! idle parent does not wake up, and the child never wakes for the
//! parent's sake. The timestamps tell the parent when the child last ran,
//! whatever the parent's own delays.

use sched::{Sched, TimerId};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// Size of one beat record.
pub const BEAT_LEN: usize = 8;

/// How long a child may stay away from its loop while it applies a
/// configuration (start or reload) or stops: a 20,000-real-server config
/// can take seconds in a slow guest.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Extra time the parent gives a child with a kernel kill timer before it
/// checks the beats itself.
pub const BACKSTOP: Duration = Duration::from_secs(30);

/// Nanoseconds of `CLOCK_MONOTONIC` (system-wide, so comparable between
/// the parent and its children).
pub fn monotonic_ns() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => (ts.tv_sec() as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec() as u64),
        Err(_) => 0,
    }
}

/// The `Instant` of a `CLOCK_MONOTONIC` time in ns (never in the future).
pub fn instant_of(ns: u64) -> Instant {
    let now = Instant::now();
    let age = Duration::from_nanos(monotonic_ns().saturating_sub(ns));
    now.checked_sub(age).unwrap_or(now)
}

/// The parent's end: the read side of one child's pipe.
#[derive(Debug)]
pub struct Watch {
    rx: OwnedFd,
}

impl Watch {
    /// A new pipe: the watch (read end, non-blocking, close-on-exec) and
    /// the write end to hand to the child (close-on-exec in the parent;
    /// use `sys::process::inherit_fd_on_exec`, then drop it after spawn).
    pub fn new() -> io::Result<(Watch, OwnedFd)> {
        use nix::fcntl::OFlag;
        let (rx, tx) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| io::Error::from_raw_os_error(e as i32))?;
        Ok((Watch { rx }, tx))
    }

    /// Read every beat queued so far; the newest timestamp (ns of
    /// `CLOCK_MONOTONIC`) and whether the pipe was full (the child's beats
    /// may have been dropped: its newest time is unknown).
    pub fn drain(&self) -> Drained {
        let mut out = Drained::default();
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(self.rx.as_raw_fd(), &mut buf) {
                Ok(0) => {
                    out.closed = true;
                    break;
                }
                Ok(n) => {
                    out.bytes += n;
                    for rec in buf[..n].chunks_exact(BEAT_LEN) {
                        let mut b = [0u8; BEAT_LEN];
                        b.copy_from_slice(rec);
                        let t = u64::from_le_bytes(b);
                        out.newest = Some(out.newest.map_or(t, |o: u64| o.max(t)));
                    }
                    if n < buf.len() {
                        break;
                    }
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break, // EAGAIN: nothing more
            }
        }
        // 64 KiB is the default pipe capacity; a full pipe refused beats.
        out.full = out.bytes >= 65_536;
        out
    }

    /// The read end's number (tests).
    pub fn raw_fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }
}

/// What [`Watch::drain`] found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Newest beat read, ns of `CLOCK_MONOTONIC`.
    pub newest: Option<u64>,
    /// Bytes read.
    pub bytes: usize,
    /// The pipe was (probably) full.
    pub full: bool,
    /// End of file: the child closed its end (it exited).
    pub closed: bool,
}

/// The child's end: beats from its main loop.
#[derive(Debug)]
pub struct Beacon {
    tx: OwnedFd,
    interval: Duration,
    last: Option<Instant>,
    timer: Option<TimerId>,
    /// The kernel timers stopping, then killing, us when beats stop, and
    /// the timeout.
    kill: Option<(sys::process::KillTimer, sys::process::KillTimer, Duration)>,
    /// When the SIGKILL timer is due (it is re-armed only when this would
    /// come too early or too late, not at every beat).
    kill_due: Option<Instant>,
    /// Beats written (tests, dumps).
    pub beats: u64,
}

impl Beacon {
    /// Take the inherited write end `fd`; beat at least every `interval`.
    pub fn from_inherited(fd: i32, interval: Duration) -> io::Result<Beacon> {
        let tx = sys::process::take_inherited_pipe(fd)?;
        Ok(Beacon::new(tx, interval))
    }

    /// A beacon on an already owned write end (non-blocking).
    pub fn new(tx: OwnedFd, interval: Duration) -> Beacon {
        Beacon {
            tx,
            interval: interval.max(Duration::from_millis(10)),
            last: None,
            timer: None,
            kill: None,
            kill_due: None,
            beats: 0,
        }
    }

    /// Also keep kernel timers that SIGSTOP this process `timeout` after
    /// the last beat, and SIGKILL it [`BACKSTOP`] later. Armed at once for
    /// [`LOAD_TIMEOUT`] (the first configuration is being loaded).
    pub fn set_kill_timer(&mut self, timeout: Duration) -> io::Result<()> {
        let stop = sys::process::KillTimer::with_signal(libc::SIGSTOP)?;
        let kill = sys::process::KillTimer::new()?;
        // An idle loop must beat well before the timer runs out.
        self.interval = self
            .interval
            .min(timeout / 2)
            .max(Duration::from_millis(10));
        self.kill = Some((stop, kill, timeout));
        self.busy();
        Ok(())
    }

    /// The loop is about to be busy for long (a configuration to apply,
    /// the stop): the timers get [`LOAD_TIMEOUT`].
    pub fn busy(&mut self) {
        if let Some((_, _, timeout)) = &self.kill {
            self.arm_timers((*timeout).max(LOAD_TIMEOUT));
        }
    }

    /// SIGSTOP `after` from now; SIGKILL no earlier than `after` +
    /// [`BACKSTOP`] from now and at most half a [`BACKSTOP`] later. The
    /// slack lets most beats re-arm one kernel timer instead of two (the
    /// SIGKILL timer is re-armed about every 15 s, or when `after` changes).
    fn arm_timers(&mut self, after: Duration) {
        let Some((stop, kill, _)) = &self.kill else {
            return;
        };
        let _ = stop.arm(after);
        let now = Instant::now();
        let earliest = now + after + BACKSTOP;
        let latest = earliest + BACKSTOP / 2;
        match self.kill_due {
            Some(due) if due >= earliest && due <= latest => {}
            _ => {
                self.kill_due = kill.arm(latest - now).ok().map(|()| latest);
            }
        }
    }

    /// Beat now whatever the last beat (after [`Beacon::busy`]).
    pub fn kick(&mut self, sched: &mut Sched) {
        self.last = None;
        self.on_wake(sched);
    }

    /// Called each time the loop returns from its poll: beats when the
    /// last beat is at least half an interval old, and (re)arms the timer
    /// that makes the loop wake when nothing else does.
    pub fn on_wake(&mut self, sched: &mut Sched) {
        let now = Instant::now();
        let due = match self.last {
            None => true,
            Some(l) => now.saturating_duration_since(l) >= self.interval / 2,
        };
        if !due {
            return;
        }
        self.beat();
        self.last = Some(now);
        match self.timer {
            Some(t) => sched.rearm_after(t, self.interval),
            None => self.timer = Some(sched.timer_after(self.interval)),
        }
    }

    /// Whether `id` is the beacon's timer (the loop then has nothing else
    /// to do for it: [`Beacon::on_wake`] already beat).
    pub fn owns(&self, id: TimerId) -> bool {
        self.timer == Some(id)
    }

    fn beat(&mut self) {
        if let Some((_, _, timeout)) = &self.kill {
            self.arm_timers(*timeout);
        }
        let rec = monotonic_ns().to_le_bytes();
        // EAGAIN (parent not reading, pipe full) or EPIPE (parent gone):
        // nothing to do; the IPC channel reports a lost parent.
        if nix::unistd::write(&self.tx, &rec) == Ok(BEAT_LEN) {
            self.beats += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_carry_the_newest_time() {
        let (w, tx) = Watch::new().unwrap();
        assert_eq!(w.drain().newest, None);
        let mut b = Beacon::new(tx, Duration::from_secs(1));
        let mut sched = Sched::new().unwrap();
        let t0 = monotonic_ns();
        b.on_wake(&mut sched);
        b.on_wake(&mut sched); // not due: at most one beat per half interval
        assert_eq!(b.beats, 1);
        let d = w.drain();
        assert_eq!(d.bytes, BEAT_LEN);
        assert!(d.newest.unwrap() >= t0);
        assert!(instant_of(d.newest.unwrap()) <= Instant::now());
        assert!(!d.full && !d.closed);
        drop(b);
        assert!(w.drain().closed);
    }

    #[test]
    fn timer_beats_when_the_loop_is_idle() {
        let (w, tx) = Watch::new().unwrap();
        let mut b = Beacon::new(tx, Duration::from_millis(40));
        let mut sched = Sched::new().unwrap();
        b.on_wake(&mut sched);
        let mut events = Vec::new();
        let start = Instant::now();
        while b.beats < 3 && start.elapsed() < Duration::from_secs(2) {
            events.clear();
            sched.wait(&mut events, None).unwrap();
            for ev in &events {
                assert!(matches!(ev, sched::Event::Timer(id) if b.owns(*id)));
            }
            b.on_wake(&mut sched);
        }
        assert_eq!(b.beats, 3);
        assert!(start.elapsed() >= Duration::from_millis(80));
        assert_eq!(w.drain().bytes, 3 * BEAT_LEN);
    }

    #[test]
    fn the_kill_timer_keeps_its_bounds_with_fewer_rearms() {
        let (_w, tx) = Watch::new().unwrap();
        let mut b = Beacon::new(tx, Duration::from_secs(1));
        // 60 s timeouts: nothing fires while the test runs; the timers are
        // deleted with the beacon.
        let timeout = LOAD_TIMEOUT;
        b.set_kill_timer(timeout).unwrap();
        // What the kernel holds: (SIGSTOP, SIGKILL) time left.
        let left = |b: &Beacon| {
            let (stop, kill, _) = b.kill.as_ref().unwrap();
            (
                stop.remaining().unwrap().expect("SIGSTOP timer armed"),
                kill.remaining().unwrap().expect("SIGKILL timer armed"),
            )
        };
        let (_, kill0) = left(&b);
        std::thread::sleep(Duration::from_millis(50));
        b.beat();
        let (stop1, kill1) = left(&b);
        // The beat re-armed SIGSTOP to the full timeout …
        assert!(stop1 > timeout - Duration::from_millis(20), "{stop1:?}");
        // … and left SIGKILL running (it is 50 ms nearer), still no earlier
        // than the new beat + timeout + BACKSTOP, at most half a BACKSTOP later.
        assert!(
            kill1 < kill0 - Duration::from_millis(40),
            "{kill0:?} {kill1:?}"
        );
        assert!(
            kill1 >= timeout + BACKSTOP - Duration::from_millis(20),
            "{kill1:?}"
        );
        assert!(kill1 <= timeout + BACKSTOP + BACKSTOP / 2, "{kill1:?}");
        // A shorter timeout (the loop leaves a long load) moves it earlier.
        b.arm_timers(Duration::from_secs(5));
        let (stop2, kill2) = left(&b);
        assert!(stop2 <= Duration::from_secs(5), "{stop2:?}");
        assert!(kill2 < kill1, "{kill1:?} {kill2:?}");
        assert!(kill2 >= Duration::from_secs(5) + BACKSTOP - Duration::from_millis(20));
        assert!(kill2 <= Duration::from_secs(5) + BACKSTOP + BACKSTOP / 2);
        // Nothing may fire after the test: disarm before the beacon goes.
        let (stop, kill, _) = b.kill.as_ref().unwrap();
        stop.disarm().unwrap();
        kill.disarm().unwrap();
        assert_eq!(stop.remaining().unwrap(), None);
    }

    #[test]
    fn a_full_pipe_is_reported() {
        let (w, tx) = Watch::new().unwrap();
        let mut b = Beacon::new(tx, Duration::from_secs(1));
        for _ in 0..20_000 {
            b.beat();
        }
        assert!(b.beats < 20_000, "the pipe refused some");
        let d = w.drain();
        assert!(d.full);
        assert_eq!(d.bytes % BEAT_LEN, 0);
    }
}
