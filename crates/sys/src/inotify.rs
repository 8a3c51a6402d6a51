//! inotify(7): watch directories for files written, deleted or moved
//! (keepalived's track files, `trackers/track_file.c`). The descriptor is
//! non-blocking and close-on-exec, ready to register on a mio `Poll`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `IN_CLOSE_WRITE`: a file opened for writing was closed.
pub const IN_CLOSE_WRITE: u32 = libc::IN_CLOSE_WRITE;
/// `IN_DELETE`: a file in the directory was deleted.
pub const IN_DELETE: u32 = libc::IN_DELETE;
/// `IN_MOVED_FROM`: a file was moved out of (or renamed in) the directory.
pub const IN_MOVED_FROM: u32 = libc::IN_MOVED_FROM;
/// `IN_MOVED_TO`: a file was moved into (or renamed in) the directory.
pub const IN_MOVED_TO: u32 = libc::IN_MOVED_TO;
/// `IN_ISDIR`: the subject of the event is a directory.
pub const IN_ISDIR: u32 = libc::IN_ISDIR;
/// `IN_Q_OVERFLOW`: events were lost.
pub const IN_Q_OVERFLOW: u32 = libc::IN_Q_OVERFLOW;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InotifyEvent {
    /// Watch descriptor returned by [`Inotify::add_watch`].
    pub wd: i32,
    /// `IN_*` bits.
    pub mask: u32,
    /// The file name inside the watched directory (empty for the directory
    /// itself).
    pub name: Vec<u8>,
}

/// An inotify instance.
#[derive(Debug)]
pub struct Inotify {
    fd: OwnedFd,
}

const HEADER: usize = std::mem::size_of::<libc::inotify_event>();

impl Inotify {
    /// `inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`.
    pub fn new() -> io::Result<Inotify> {
        // SAFETY: plain system call with constant flags; no pointers.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by inotify_init1 and is owned by
        // nobody else.
        Ok(Inotify {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// `inotify_add_watch(path, mask)`; returns the watch descriptor (the
    /// same one for a path already watched).
    pub fn add_watch(&self, path: &Path, mask: u32) -> io::Result<i32> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(wd)
    }

    /// Reads every pending event (non-blocking: an empty vector when there
    /// is none).
    pub fn read_events(&self) -> io::Result<Vec<InotifyEvent>> {
        let mut out = Vec::new();
        // Room for many events; each is a header plus a padded name.
        let mut buf = vec![0u8; 4096];
        loop {
            // SAFETY: `buf` is a writable buffer of `buf.len()` bytes.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(out),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            let n = n as usize;
            if n == 0 {
                return Ok(out);
            }
            parse_events(&buf[..n], &mut out);
        }
    }
}

/// Decodes a buffer of `struct inotify_event` records (public for tests).
pub fn parse_events(mut b: &[u8], out: &mut Vec<InotifyEvent>) {
    while b.len() >= HEADER {
        let int = |o: usize| [b[o], b[o + 1], b[o + 2], b[o + 3]];
        let wd = i32::from_ne_bytes(int(0));
        let mask = u32::from_ne_bytes(int(4));
        let len = u32::from_ne_bytes(int(12)) as usize;
        let end = HEADER.saturating_add(len).min(b.len());
        let raw = &b[HEADER..end];
        let name = raw.split(|c| *c == 0).next().unwrap_or(&[]).to_vec();
        out.push(InotifyEvent { wd, mask, name });
        b = &b[end..];
    }
}

impl AsRawFd for Inotify {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Inotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_close_write_delete_and_move() {
        let dir = std::env::temp_dir().join(format!("ka-sys-inotify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ino = Inotify::new().unwrap();
        let wd = ino
            .add_watch(
                &dir,
                IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO,
            )
            .unwrap();
        assert!(ino.read_events().unwrap().is_empty());
        std::fs::write(dir.join("v"), b"5\n").unwrap();
        std::fs::write(dir.join("w.tmp"), b"1\n").unwrap();
        std::fs::rename(dir.join("w.tmp"), dir.join("w")).unwrap();
        std::fs::remove_file(dir.join("v")).unwrap();
        let ev = ino.read_events().unwrap();
        let seen: Vec<(u32, &[u8])> = ev
            .iter()
            .map(|e| {
                assert_eq!(e.wd, wd);
                (e.mask, e.name.as_slice())
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (IN_CLOSE_WRITE, &b"v"[..]),
                (IN_CLOSE_WRITE, &b"w.tmp"[..]),
                (IN_MOVED_FROM, &b"w.tmp"[..]),
                (IN_MOVED_TO, &b"w"[..]),
                (IN_DELETE, &b"v"[..]),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn truncated_records_do_not_panic() {
        let mut out = Vec::new();
        let mut rec = Vec::new();
        rec.extend_from_slice(&3i32.to_ne_bytes());
        rec.extend_from_slice(&IN_DELETE.to_ne_bytes());
        rec.extend_from_slice(&0u32.to_ne_bytes());
        rec.extend_from_slice(&64u32.to_ne_bytes());
        rec.extend_from_slice(b"abc\0");
        parse_events(&rec, &mut out);
        assert_eq!(out[0].name, b"abc");
        parse_events(&rec[..10], &mut out);
        assert_eq!(out.len(), 1);
    }
}
