//! Process-level system calls (prctl, signal masks, daemonising, exec hooks).
//!
//! Used by `sched` (signal masks for the signalfd), `watchdog` (child
//! subreaper, death signal across exec) and `bin/keepalived` (daemonising).

use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{ForkResult, Pid};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

fn errno(e: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// First real-time signal number of this C library (`SIGRTMIN`, 34 on glibc).
pub fn sigrtmin() -> i32 {
    libc::SIGRTMIN()
}

/// Last real-time signal number (`SIGRTMAX`, 64 on glibc).
pub fn sigrtmax() -> i32 {
    libc::SIGRTMAX()
}

/// A signal set holding the given raw signal numbers, real-time ones
/// included (nix's `Signal` enum cannot name `SIGRTMIN+2`).
///
/// Returns `InvalidInput` for a number the kernel does not know.
pub fn sigset_from_raw(signals: &[i32]) -> io::Result<SigSet> {
    let mut raw = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; the pointer is to
    // a properly sized and aligned local.
    let rc = unsafe { libc::sigemptyset(raw.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigemptyset succeeded, so the set is initialised.
    let mut raw = unsafe { raw.assume_init() };
    for &sig in signals {
        // SAFETY: `raw` is an initialised sigset_t; sigaddset validates `sig`
        // and reports EINVAL instead of writing out of bounds.
        let rc = unsafe { libc::sigaddset(&mut raw, sig) };
        if rc != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad signal number {sig}"),
            ));
        }
    }
    // SAFETY: `raw` was built by sigemptyset/sigaddset, so it is a valid set.
    Ok(unsafe { SigSet::from_sigset_t_unchecked(raw) })
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: the kernel sends `sig` to this process
/// when the thread that created it exits.
pub fn set_pdeathsig(sig: Signal) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(sig).map_err(errno)
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants (e.g. double-forked
/// scripts) are re-parented to this process instead of init.
pub fn set_child_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(errno)
}

/// Arrange for the child started by `cmd` to get `sig` when its parent
/// thread exits, set between fork and exec so there is no window where the
/// parent can die unnoticed. The child should still compare `getppid()`
/// with the expected parent after start (the parent may have died before
/// the prctl).
pub fn pdeathsig_on_exec(cmd: &mut Command, sig: Signal) {
    let raw = sig as libc::c_int;
    // SAFETY: the closure runs in the forked child before exec and only calls
    // prctl, which is async-signal-safe; it touches no allocator or lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, raw as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Let the child started by `cmd` inherit `fd` under the same number:
/// `FD_CLOEXEC` is cleared on the child's copy between fork and exec, so
/// the parent's descriptor stays close-on-exec (other children and scripts
/// started later do not get it). `fd` must stay open until `spawn` returns.
pub fn inherit_fd_on_exec(cmd: &mut Command, fd: std::os::fd::RawFd) {
    // SAFETY: the closure runs in the forked child before exec and only calls
    // fcntl, which is async-signal-safe; it touches no allocator or lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Take ownership of the write end of a pipe our parent passed down under
/// the number `fd` (see [`inherit_fd_on_exec`]). The descriptor is checked
/// (open, a FIFO, open for writing), made close-on-exec (scripts we start
/// do not inherit it) and non-blocking. Call it once per number: the
/// returned `OwnedFd` closes it when dropped.
pub fn take_inherited_pipe(fd: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    if fd <= 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} is a standard stream"),
        ));
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into the properly sized local; an
    // invalid fd is reported as EBADF, nothing is written then.
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded, so the struct is initialised.
    let st = unsafe { st.assume_init() };
    if st.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} is not a pipe"),
        ));
    }
    // SAFETY: fcntl on a descriptor that fstat just validated; no memory involved.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 || fl & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} is not open for writing"),
        ));
    }
    // SAFETY: as above; setting flags on an fd we are about to own.
    let ok = unsafe {
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) == 0
            && libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) == 0
    };
    if !ok {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor is open (fstat succeeded) and was handed to this
    // process by its parent for this single purpose; no other Rust object
    // owns it (documented precondition: called once per number).
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// A kernel timer that sends this process an uncatchable signal when it
/// expires: a POSIX timer on `CLOCK_MONOTONIC` delivering `SIGKILL` (or
/// `SIGSTOP`, see [`KillTimer::with_signal`]); it runs while the process is
/// stopped, and nothing in the process can block it. A main loop re-arms
/// it each time it comes back to its poll; if the loop stops (stuck, or
/// SIGSTOP), the kernel acts when the last arming runs out. Not inherited
/// across fork/exec.
#[derive(Debug)]
pub struct KillTimer {
    id: libc::timer_t,
}

impl KillTimer {
    /// Create the (disarmed) timer, delivering `SIGKILL`.
    pub fn new() -> io::Result<KillTimer> {
        KillTimer::with_signal(libc::SIGKILL)
    }

    /// Create the (disarmed) timer delivering `signal` (e.g. `SIGSTOP`: the
    /// parent is told through SIGCHLD and can log before it kills).
    pub fn with_signal(signal: i32) -> io::Result<KillTimer> {
        // SAFETY: sigevent is a plain C struct (integers, a union of an int
        // and a pointer, padding); all-zero is a valid value.
        let mut sev: libc::sigevent = unsafe { std::mem::zeroed() };
        sev.sigev_notify = libc::SIGEV_SIGNAL;
        sev.sigev_signo = signal;
        let mut id: libc::timer_t = std::ptr::null_mut();
        // SAFETY: both pointers are to valid, initialised locals; the kernel
        // writes the new timer id into `id`.
        if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut id) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(KillTimer { id })
    }

    /// Expire `after` from now (replaces any earlier arming); a zero
    /// duration disarms.
    pub fn arm(&self, after: std::time::Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `id` came from timer_create and is deleted only in Drop;
        // `spec` is a valid itimerspec, the old value is not requested.
        if unsafe { libc::timer_settime(self.id, 0, &spec, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Stop the timer.
    pub fn disarm(&self) -> io::Result<()> {
        self.arm(std::time::Duration::ZERO)
    }

    /// Time left before it expires, as the kernel reports it; `None` when
    /// disarmed.
    pub fn remaining(&self) -> io::Result<Option<std::time::Duration>> {
        // SAFETY: itimerspec is two pairs of integers; all-zero is valid.
        let mut cur: libc::itimerspec = unsafe { std::mem::zeroed() };
        // SAFETY: `id` came from timer_create and is deleted only in Drop;
        // `cur` is a valid, writable itimerspec.
        if unsafe { libc::timer_gettime(self.id, &mut cur) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let v = cur.it_value;
        let left = std::time::Duration::new(v.tv_sec as u64, v.tv_nsec as u32);
        Ok((!left.is_zero()).then_some(left))
    }
}

impl Drop for KillTimer {
    fn drop(&mut self) {
        // SAFETY: `id` is a live timer of this process, deleted once.
        unsafe {
            libc::timer_delete(self.id);
        }
    }
}

/// Start the program of `cmd` with an empty signal mask and every signal
/// at its default action, as keepalived starts scripts: the daemon blocks
/// its signals for a signalfd and ignores SIGPIPE, and both would
/// otherwise be inherited across exec (a script that cannot get SIGTERM
/// survives its timeout until the SIGKILL).
pub fn default_signals_on_exec(cmd: &mut Command) {
    let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the properly sized local it is given.
    let ok = unsafe { libc::sigemptyset(empty.as_mut_ptr()) } == 0;
    if !ok {
        return;
    }
    // SAFETY: initialised by sigemptyset just above.
    let empty = unsafe { empty.assume_init() };
    // SAFETY: the closure runs in the forked child before exec and only
    // makes the rt_sigaction/sigaction and sigprocmask system calls, which
    // are async-signal-safe; `empty` is a copy owned by the closure. It
    // touches no allocator or lock.
    unsafe {
        cmd.pre_exec(move || {
            for sig in 1..=64 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    set_default_action(sig);
                }
            }
            if libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `SIG_DFL` for `sig`, including the two real-time signals glibc keeps
/// for itself (32, 33), which its `signal()` refuses: an environment that
/// ignores them would pass that on to every script.
///
/// # Safety
/// Only call between fork and exec or in a single-threaded process: it
/// changes a process-wide disposition behind the C library's back.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
unsafe fn set_default_action(sig: i32) {
    /// The kernel's `struct sigaction` on these architectures.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let act = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: `act` is a valid kernel sigaction for the size passed (8
    // bytes of mask); no old action is requested. Invalid numbers fail.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig as libc::c_long,
            &act as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8 as libc::c_long,
        );
    }
}

/// `SIG_DFL` for `sig` through the C library (other architectures).
///
/// # Safety
/// Only call between fork and exec or in a single-threaded process.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
unsafe fn set_default_action(sig: i32) {
    // SAFETY: signal() with SIG_DFL; invalid numbers just fail.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// Put the process in a new process group in the child started by `cmd`
/// (so a group kill of scripts does not reach the daemon, and vice versa).
pub fn new_process_group_on_exec(cmd: &mut Command) {
    cmd.process_group(0);
}

/// Detach from the terminal the classic way: fork (the original process
/// exits 0), `setsid`, fork again (the session leader exits), `chdir /`,
/// `umask(umask)`, stdin/stdout/stderr to `/dev/null`.
///
/// Must be called while the process is single-threaded (before any thread,
/// logger or IPC is created): only the calling thread survives a fork.
/// Only returns in the daemon; the intermediate processes `_exit(0)`.
pub fn daemonize(umask: u32) -> io::Result<()> {
    // SAFETY: documented precondition: the process is single-threaded, so the
    // child has a consistent copy of every lock and allocator.
    match unsafe { nix::unistd::fork() }.map_err(errno)? {
        ForkResult::Parent { .. } => exit_now(0),
        ForkResult::Child => {}
    }
    nix::unistd::setsid().map_err(errno)?;
    // SAFETY: still single-threaded (we are the only thread of the child).
    match unsafe { nix::unistd::fork() }.map_err(errno)? {
        ForkResult::Parent { .. } => exit_now(0),
        ForkResult::Child => {}
    }
    std::env::set_current_dir("/")?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        umask as libc::mode_t,
    ));
    redirect_stdio_to_null()?;
    Ok(())
}

/// Point fds 0, 1 and 2 at `/dev/null`.
pub fn redirect_stdio_to_null() -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors; `null` is a valid open
        // fd for the whole call, and fds 0-2 are owned by the process, not by
        // any Rust object that could be double-closed.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `_exit(code)` without running atexit handlers or flushing stdio buffers
/// that belong to the other side of a fork.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// Set the process umask; returns the previous one.
pub fn set_umask(mask: u32) -> u32 {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        mask as libc::mode_t,
    ))
    .bits()
}

/// True when a process with this pid exists (signal 0 succeeds or fails
/// with EPERM, which means it exists but belongs to someone else).
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match nix::sys::signal::kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// Send a raw signal number (real-time signals included) to `pid`.
pub fn kill_raw(pid: i32, sig: i32) -> io::Result<()> {
    if pid <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to signal pid <= 0",
        ));
    }
    // SAFETY: kill has no memory-safety preconditions; pid > 0 was checked so
    // this never signals a process group or every process.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Set the calling thread's name (`/proc/self/comm`, what `ps -C` and
/// `pidof` match), truncated to 15 bytes. Used by children exec'd through
/// `/proc/self/exe`, whose name would otherwise be `exe`.
pub fn set_process_name(name: &str) -> io::Result<()> {
    let short: String = name.chars().filter(|c| *c != '\0').take(15).collect();
    let c = std::ffi::CString::new(short)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    nix::sys::prctl::set_name(&c).map_err(errno)
}

/// Send a raw signal to the calling thread only (`pthread_kill(self)`).
pub fn raise_in_thread(sig: i32) -> io::Result<()> {
    // SAFETY: pthread_self() is always a valid thread handle for the caller;
    // pthread_kill validates the signal number.
    let rc = unsafe { libc::pthread_kill(libc::pthread_self(), sig) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_signals_go_into_sets() {
        let json = sigrtmin() + 2;
        let set = sigset_from_raw(&[libc::SIGHUP, json]).unwrap();
        assert!(set.contains(Signal::SIGHUP));
        assert!(!set.contains(Signal::SIGTERM));
        assert_eq!(sigrtmin(), 34, "glibc SIGRTMIN");
        assert_eq!(sigrtmax() - 1, 63, "keepalived STATS_CLEAR is 63 on glibc");
    }

    #[test]
    fn bad_signal_is_an_error() {
        assert!(sigset_from_raw(&[1000]).is_err());
    }

    #[test]
    fn process_name() {
        // In a thread of its own: the name is per thread.
        std::thread::spawn(|| {
            set_process_name("keepalived-test-long-name").unwrap();
            let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
            assert_eq!(comm.trim(), "keepalived-test");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn inherited_pipe_is_checked() {
        use std::os::fd::{AsRawFd, IntoRawFd};
        assert!(take_inherited_pipe(1).is_err());
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(take_inherited_pipe(f.as_raw_fd()).is_err(), "not a pipe");
        let (r, w) = nix::unistd::pipe().unwrap();
        assert!(take_inherited_pipe(r.as_raw_fd()).is_err(), "read end");
        let raw = w.into_raw_fd();
        let owned = take_inherited_pipe(raw).unwrap();
        let fdflags = nix::fcntl::fcntl(raw, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_eq!(fdflags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        nix::unistd::write(&owned, b"x").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(nix::unistd::read(r.as_raw_fd(), &mut buf).unwrap(), 1);
    }

    #[test]
    fn kill_timer_kills_a_stopped_process() {
        use nix::sys::wait::{waitpid, WaitStatus};
        // SAFETY: the child only creates/arms the timer, stops itself and
        // _exits; it allocates nothing and takes no lock another thread holds.
        match unsafe { nix::unistd::fork() }.unwrap() {
            ForkResult::Child => {
                let code = match KillTimer::new() {
                    Ok(t) => {
                        let _ = t.arm(std::time::Duration::from_millis(300));
                        let _ = t.arm(std::time::Duration::from_millis(100)); // re-arm
                                                                              // SAFETY: raise has no preconditions.
                        unsafe { libc::raise(libc::SIGSTOP) };
                        // SAFETY: pause has no preconditions.
                        unsafe { libc::pause() };
                        0
                    }
                    Err(_) => 3,
                };
                exit_now(code)
            }
            ForkResult::Parent { child } => {
                let t = std::time::Instant::now();
                loop {
                    match waitpid(child, Some(nix::sys::wait::WaitPidFlag::WUNTRACED)).unwrap() {
                        WaitStatus::Stopped(..) => continue,
                        WaitStatus::Signaled(_, sig, _) => {
                            assert_eq!(sig, Signal::SIGKILL);
                            break;
                        }
                        other => panic!("{other:?}"),
                    }
                }
                assert!(t.elapsed() >= std::time::Duration::from_millis(90));
                assert!(t.elapsed() < std::time::Duration::from_secs(2));
            }
        }
        let t = KillTimer::new().unwrap();
        t.arm(std::time::Duration::from_secs(60)).unwrap();
        t.disarm().unwrap();
        // A SIGSTOP timer stops a running child; the parent sees it stopped.
        // SAFETY: as above, the child only arms a timer and spins on pause.
        match unsafe { nix::unistd::fork() }.unwrap() {
            ForkResult::Child => {
                if let Ok(t) = KillTimer::with_signal(libc::SIGSTOP) {
                    let _ = t.arm(std::time::Duration::from_millis(50));
                    loop {
                        // SAFETY: pause has no preconditions.
                        unsafe { libc::pause() };
                    }
                }
                exit_now(3)
            }
            ForkResult::Parent { child } => {
                let st = waitpid(child, Some(nix::sys::wait::WaitPidFlag::WUNTRACED)).unwrap();
                assert!(
                    matches!(st, WaitStatus::Stopped(_, Signal::SIGSTOP)),
                    "{st:?}"
                );
                nix::sys::signal::kill(child, Signal::SIGKILL).unwrap();
                let _ = waitpid(child, None);
            }
        }
    }

    #[test]
    fn alive() {
        assert!(process_alive(std::process::id() as i32));
        assert!(!process_alive(0));
        assert!(kill_raw(0, 0).is_err());
    }
}
