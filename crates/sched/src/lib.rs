//! The I/O multiplexer every keepalived-rs process runs: one loop per process.
//!
//! * [`Sched`]: a mio `Poll`, a [`TimerHeap`] on the monotonic clock
//!   (millisecond wake-ups, so centisecond timers are exact), signals read
//!   from a signalfd registered in the same poll, and one shared
//!   [`mio::Waker`] for threads that feed the loop (the IPC bridge).
//! * [`reap_children`]: `waitpid(-1, WNOHANG)` until nothing is left, for
//!   the SIGCHLD handler of the parent.
//!
//! The loop is pull-based: the owner calls [`Sched::wait`] and dispatches
//! the returned [`Event`]s itself, so the daemons keep their state in plain
//! structs without callbacks or `Rc<RefCell<_>>`.
//!
//! Tokens `usize::MAX - 1` ([`SIGNAL_TOKEN`]) and `usize::MAX - 2`
//! ([`WAKE_TOKEN`]) are reserved; register your own sources below them.

mod signals;
mod timer;

pub use signals::{signal_name, SignalInfo};
pub use timer::{TimerHeap, TimerId};

use mio::{Events, Interest, Poll, Registry, Token, Waker};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Token of the signalfd (reserved).
pub const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
/// Token of the shared waker (reserved).
pub const WAKE_TOKEN: Token = Token(usize::MAX - 2);

/// Readiness of one registered source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoEvent {
    /// The token the source was registered with.
    pub token: Token,
    /// Readable (or read side closed: read to find out).
    pub readable: bool,
    /// Writable.
    pub writable: bool,
    /// Error condition on the source.
    pub error: bool,
    /// Peer closed its write side / hang-up.
    pub read_closed: bool,
}

/// One thing that happened, in the order [`Sched::wait`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A registered source is ready.
    Io(IoEvent),
    /// A timer reached its deadline (it is now disarmed; re-arm for periodic use).
    Timer(TimerId),
    /// A signal from the set given to [`Sched::with_signals`].
    Signal(SignalInfo),
    /// Some thread called `wake()` on [`Sched::waker`]: poll your bridges.
    Wake,
}

/// Errors setting up the loop.
#[derive(Debug)]
pub enum SchedError {
    /// Creating the poll, waker or signalfd failed.
    Io(io::Error),
    /// Blocking the signals failed.
    SignalMask(nix::errno::Errno),
}

impl fmt::Display for SchedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedError::Io(e) => write!(f, "event loop setup failed: {e}"),
            SchedError::SignalMask(e) => write!(f, "cannot block signals for the signalfd: {e}"),
        }
    }
}

impl std::error::Error for SchedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SchedError::Io(e) => Some(e),
            SchedError::SignalMask(e) => Some(e),
        }
    }
}

impl From<io::Error> for SchedError {
    fn from(e: io::Error) -> Self {
        SchedError::Io(e)
    }
}

/// One event loop.
pub struct Sched {
    poll: Poll,
    events: Events,
    timers: TimerHeap,
    sigfd: Option<SignalFd>,
    waker: Arc<Waker>,
}

impl fmt::Debug for Sched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sched")
            .field("timers", &self.timers.len())
            .field("signals", &self.sigfd.is_some())
            .finish()
    }
}

impl Sched {
    /// A loop without signal handling.
    pub fn new() -> Result<Sched, SchedError> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE_TOKEN)?);
        Ok(Sched {
            poll,
            events: Events::with_capacity(256),
            timers: TimerHeap::new(),
            sigfd: None,
            waker,
        })
    }

    /// A loop that receives `signals` (raw numbers, real-time ones allowed) as
    /// [`Event::Signal`]. The signals are blocked in the calling thread, so
    /// call this on the main thread **before** starting any other thread
    /// (threads inherit the mask; an unblocked thread would take the signal
    /// with its default action). Children started with `std::process::Command`
    /// get an empty mask again.
    pub fn with_signals(signals: &[i32]) -> Result<Sched, SchedError> {
        let mut sched = Sched::new()?;
        let set = sys::process::sigset_from_raw(signals)?;
        set.thread_block().map_err(SchedError::SignalMask)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| SchedError::Io(io::Error::from_raw_os_error(e as i32)))?;
        sched.poll.registry().register(
            &mut mio::unix::SourceFd(&fd.as_raw_fd()),
            SIGNAL_TOKEN,
            Interest::READABLE,
        )?;
        sched.sigfd = Some(fd);
        Ok(sched)
    }

    /// Register and deregister your own sources here (tokens below the reserved ones).
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// The loop's waker; clone it into threads that produce work for the loop.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// The monotonic clock the timers use.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Arm a new timer `after` from now.
    pub fn timer_after(&mut self, after: Duration) -> TimerId {
        self.timers.add_at(Instant::now() + after)
    }

    /// Arm a new timer at `deadline`.
    pub fn timer_at(&mut self, deadline: Instant) -> TimerId {
        self.timers.add_at(deadline)
    }

    /// Re-arm `id` (pending, fired or cancelled) `after` from now.
    pub fn rearm_after(&mut self, id: TimerId, after: Duration) {
        self.timers.rearm_at(id, Instant::now() + after)
    }

    /// Re-arm `id` at `deadline`.
    #[inline]
    pub fn rearm_at(&mut self, id: TimerId, deadline: Instant) {
        self.timers.rearm_at(id, deadline)
    }

    /// Disarm `id`; true when it was armed.
    #[inline]
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.timers.cancel(id)
    }

    /// The timer heap, for inspection.
    pub fn timers(&self) -> &TimerHeap {
        &self.timers
    }

    /// Change the set of signals delivered (e.g. narrow to SIGCHLD while
    /// shutting down). Signals leaving the set stay blocked.
    pub fn set_signals(&mut self, signals: &[i32]) -> Result<(), SchedError> {
        let set = sys::process::sigset_from_raw(signals)?;
        if let Some(fd) = &self.sigfd {
            set.thread_block().map_err(SchedError::SignalMask)?;
            fd.set_mask(&set).map_err(SchedError::SignalMask)?;
        }
        Ok(())
    }

    /// Block until at least one event is ready (or `max_wait` passed when
    /// given), then append everything ready to `out`: I/O and signals first,
    /// then the wake, then every expired timer in deadline order. May return
    /// with nothing appended (interrupted, or `max_wait` elapsed).
    #[inline]
    pub fn wait(&mut self, out: &mut Vec<Event>, max_wait: Option<Duration>) -> io::Result<()> {
        let now = Instant::now();
        let mut timeout = self
            .timers
            .next_deadline()
            .map(|d| d.saturating_duration_since(now));
        if let Some(m) = max_wait {
            timeout = Some(timeout.map_or(m, |t| t.min(m)));
        }
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let mut woke = false;
        for ev in self.events.iter() {
            match ev.token() {
                SIGNAL_TOKEN => {
                    if let Some(fd) = &self.sigfd {
                        signals::drain(fd, out);
                    }
                }
                WAKE_TOKEN => woke = true,
                token => out.push(Event::Io(IoEvent {
                    token,
                    readable: ev.is_readable() || ev.is_read_closed(),
                    writable: ev.is_writable(),
                    error: ev.is_error(),
                    read_closed: ev.is_read_closed(),
                })),
            }
        }
        if woke {
            out.push(Event::Wake);
        }
        let now = Instant::now();
        while let Some(id) = self.timers.pop_expired(now) {
            out.push(Event::Timer(id));
        }
        Ok(())
    }
}

/// How a reaped child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal (raw number), with whether it dumped core.
    Signaled(i32, bool),
}

impl fmt::Display for ChildExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChildExit::Exited(c) => write!(f, "exited with status {c}"),
            ChildExit::Signaled(s, _) => write!(f, "exited due to signal {s} ({})", signal_name(s)),
        }
    }
}

/// Reap every terminated child without blocking (`waitpid(-1, WNOHANG)` in a
/// loop). Stopped/continued children are not reported.
pub fn reap_children() -> Vec<(i32, ChildExit)> {
    let mut out = Vec::new();
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => out.push((pid.as_raw(), ChildExit::Exited(code))),
            Ok(WaitStatus::Signaled(pid, sig, core)) => {
                out.push((pid.as_raw(), ChildExit::Signaled(sig as i32, core)))
            }
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => continue,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_on_time_through_poll() {
        let mut s = Sched::new().unwrap();
        let t0 = Instant::now();
        let a = s.timer_after(Duration::from_millis(30));
        let b = s.timer_after(Duration::from_millis(10));
        let mut fired = Vec::new();
        while fired.len() < 2 {
            let mut out = Vec::new();
            s.wait(&mut out, Some(Duration::from_secs(1))).unwrap();
            for ev in out {
                if let Event::Timer(id) = ev {
                    fired.push((id, t0.elapsed()));
                }
            }
        }
        assert_eq!(fired[0].0, b);
        assert_eq!(fired[1].0, a);
        // Never early, and within the centisecond.
        assert!(fired[0].1 >= Duration::from_millis(10), "{:?}", fired[0].1);
        assert!(fired[0].1 < Duration::from_millis(20), "{:?}", fired[0].1);
        assert!(fired[1].1 >= Duration::from_millis(30), "{:?}", fired[1].1);
        assert!(fired[1].1 < Duration::from_millis(40), "{:?}", fired[1].1);
    }

    #[test]
    fn waker_from_another_thread() {
        let mut s = Sched::new().unwrap();
        let w = s.waker();
        let h = std::thread::spawn(move || w.wake().unwrap());
        let mut out = Vec::new();
        while !out.contains(&Event::Wake) {
            s.wait(&mut out, Some(Duration::from_secs(2))).unwrap();
        }
        h.join().unwrap();
    }

    #[test]
    fn signals_arrive_as_events() {
        // SIGUSR2 and SIGRTMIN+2 are blocked only in this test thread; the
        // signal is sent to this thread so no other test thread sees it.
        let json = sys::process::sigrtmin() + 2;
        let mut s = Sched::with_signals(&[libc::SIGUSR2, json]).unwrap();
        for sig in [libc::SIGUSR2, json] {
            // Thread-directed: the blocked signal stays pending for this
            // thread only and is read from its signalfd.
            sys::process::raise_in_thread(sig).unwrap();
        }
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        while got.len() < 2 && Instant::now() < deadline {
            let mut out = Vec::new();
            s.wait(&mut out, Some(Duration::from_millis(100))).unwrap();
            for ev in out {
                if let Event::Signal(si) = ev {
                    got.push(si.signo);
                }
            }
        }
        got.sort();
        assert_eq!(got, vec![libc::SIGUSR2, json]);
        assert_eq!(signal_name(json), "SIGRTMIN+2");
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped by reap_children, which is the point
    fn reap_reports_exit_codes() {
        let c = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let pid = c.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = reap_children();
            if let Some(&(_, st)) = r.iter().find(|(p, _)| *p == pid) {
                assert_eq!(st, ChildExit::Exited(3));
                assert_eq!(st.to_string(), "exited with status 3");
                break;
            }
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
