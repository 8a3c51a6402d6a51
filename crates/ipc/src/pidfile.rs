//! Pid files (`/run/keepalived.pid`, `/run/vrrp.pid`, `/run/checkers.pid`).
//!
//! Written as `"<pid>\n"`, mode 0644, never through a symlink (O_NOFOLLOW,
//! as upstream `core/pidfile.c`). Liveness is checked with `kill(pid, 0)`;
//! upstream also holds an OFD lock, which we do not (see notes/processes.md).

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

/// Write `pid` to `path` (create or truncate; refuses symlinks).
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
