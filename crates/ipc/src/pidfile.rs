//! Pid files (`/run/keepalived.pid`, `/run/vrrp.pid`, `/run/checkers.pid`).
//!
//! Written as `"<pid>\n"`, mode 0644, never through a symlink (O_NOFOLLOW),
//! and held with an OFD write lock for the life of the process, as upstream
//! `core/pidfile.c`: a second daemon sees the lock even in the window before
//! the pid is written. Files without a lock (written by a keepalived that does
//! not lock) are judged by `kill(pid, 0)` and the program name.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Default parent pid file.
pub const PARENT: &str = "/run/keepalived.pid";
/// Default VRRP child pid file.
pub const VRRP: &str = "/run/vrrp.pid";
/// Default checker child pid file.
pub const CHECKERS: &str = "/run/checkers.pid";

/// A pid file this process wrote and keeps locked until it is dropped
/// (dropping releases the lock; [`PidFile::remove`] also deletes the file).
#[derive(Debug)]
pub struct PidFile {
    path: std::path::PathBuf,
    pid: u32,
    _file: fs::File,
}

impl PidFile {
    /// Create or take over `path`: lock it (fails with `WouldBlock` when
    /// another process holds it), then write `pid`.
    pub fn create(path: &Path, pid: u32) -> io::Result<PidFile> {
        create_parent_dir(path)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        lock(&f, libc::F_WRLCK)?;
        f.set_len(0)?;
        writeln!(f, "{pid}")?;
        Ok(PidFile {
            path: path.to_path_buf(),
            pid,
            _file: f,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Delete the file (if it still names us) and release the lock.
    pub fn remove(self) {
        remove_if_ours(&self.path, self.pid);
    }
}

fn ofd(f: &fs::File, cmd: nix::fcntl::FcntlArg<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    nix::fcntl::fcntl(f.as_raw_fd(), cmd)
        .map(|_| ())
        .map_err(|e| match e {
            nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES => io::Error::new(
                io::ErrorKind::WouldBlock,
                "pid file locked by another process",
            ),
            e => io::Error::from_raw_os_error(e as i32),
        })
}

fn whole_file(kind: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

fn lock(f: &fs::File, kind: libc::c_int) -> io::Result<()> {
    ofd(f, nix::fcntl::FcntlArg::F_OFD_SETLK(&whole_file(kind)))
}

/// True when another open file description holds a lock on `path`.
pub fn locked(path: &Path) -> bool {
    let Ok(f) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    else {
        return false;
    };
    let mut fl = whole_file(libc::F_WRLCK);
    ofd(&f, nix::fcntl::FcntlArg::F_OFD_GETLK(&mut fl)).is_ok()
        && fl.l_type != libc::F_UNLCK as libc::c_short
}

fn create_parent_dir(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            fs::create_dir_all(dir)?;
        }
    }
    Ok(())
}

/// Write `pid` to `path` (create or truncate; refuses symlinks), unlocked.
pub fn write(path: &Path, pid: u32) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            fs::create_dir_all(dir)?;
        }
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    writeln!(f, "{pid}")
}

/// The pid recorded in `path`, if the file exists and holds a number.
pub fn read(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&p: &i32| p > 0)
}

/// The pid in `path` when it names a live process other than us that runs
/// a program of our name (`/proc/PID/comm`): a stale file whose pid was
/// reused by something else does not block the start.
pub fn running(path: &Path) -> Option<i32> {
    if locked(path) {
        return Some(read(path).unwrap_or(0));
    }
    let pid = read(path)?;
    if pid == std::process::id() as i32 || !sys::process::process_alive(pid) {
        return None;
    }
    let comm =
        |p: &str| fs::read_to_string(format!("/proc/{p}/comm")).map(|s| s.trim().to_string());
    match (comm(&pid.to_string()), comm("self")) {
        (Ok(theirs), Ok(ours)) if theirs != ours => None,
        _ => Some(pid),
    }
}

/// Remove `path` if it still names `pid` (never removes another process's file).
pub fn remove_if_ours(path: &Path, pid: u32) {
    if read(path) == Some(pid as i32) {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_remove() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/k.pid");
        write(&p, 4242).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "4242\n");
        assert_eq!(read(&p), Some(4242));
        remove_if_ours(&p, 1);
        assert!(p.exists(), "not ours: kept");
        remove_if_ours(&p, 4242);
        assert!(!p.exists());
    }

    #[test]
    fn running_detects_live_process_not_self() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.pid");
        write(&p, std::process::id()).unwrap();
        assert_eq!(running(&p), None, "our own pid does not count");
        // A live process of another name: stale pid file.
        write(&p, 1).unwrap();
        assert_eq!(running(&p), None, "pid 1 is not this program");
        // A live process of our name: this test binary running `sleeper`.
        let exe = std::env::current_exe().unwrap();
        let mut child = std::process::Command::new(exe)
            .args(["--ignored", "--exact", "pidfile::tests::sleeper"])
            .env("KA_PIDFILE_SLEEPER", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        write(&p, child.id()).unwrap();
        let r = running(&p);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(r, Some(child.id() as i32));
        fs::write(&p, "garbage\n").unwrap();
        assert_eq!(running(&p), None);
    }

    /// Helper process for `running_detects_live_process_not_self`.
    #[test]
    #[ignore = "helper: run by another test"]
    fn sleeper() {
        if std::env::var_os("KA_PIDFILE_SLEEPER").is_some() {
            std::thread::sleep(std::time::Duration::from_secs(10));
        }
    }

    #[test]
    fn locked_pid_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.pid");
        let held = PidFile::create(&p, 4242).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "4242\n");
        assert!(locked(&p), "an OFD lock is seen from another open file");
        assert_eq!(
            running(&p),
            Some(4242),
            "locked = running, whatever the pid"
        );
        let second = PidFile::create(&p, 1);
        assert_eq!(second.unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "4242\n",
            "the loser did not truncate it"
        );
        held.remove();
        assert!(!p.exists());
        let again = PidFile::create(&p, 7).unwrap();
        drop(again);
        assert!(!locked(&p), "dropping releases the lock");
        assert_eq!(read(&p), Some(7));
    }

    #[test]
    fn refuses_symlink() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        fs::write(&target, "x").unwrap();
        let link = d.path().join("k.pid");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write(&link, 1).is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "x");
    }
}
