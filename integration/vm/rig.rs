//! The qemu IPVS rig from Rust: boot Debian's stock kernel (IPVS as modules)
//! under TCG with the cached base initramfs of `rig.sh` plus a per-run archive
//! holding the test's files and guest script, and collect what the script
//! printed and its exit status (over the serial console).
//!
//! Use from a test of the integration crate:
//! ```ignore
//! #[path = "../vm/rig.rs"]
//! mod rig;
//! let probe = rig::build_static_example("keepalived-ipvs", "ipvs-probe")?;
//! let r = rig::run_in_guest(&[rig::GuestFile::bin(&probe)], "ipvs-probe info")?;
//! assert_eq!(r.exit, 0, "{}", r.stdout);
//! ```
//! In the guest: busybox (sh, awk, sed, diff, sort, timeout, nc, httpd...),
//! `ipvsadm`, iproute2 `ip` (a shell function forces it over busybox's),
//! `keepalived` 2.2.7, every IPVS scheduler module loaded, netns/veth/bridge/
//! macvlan/dummy available, no NIC. Files land where [`GuestFile::guest`] says;
//! the script runs as `/guest/run.sh` with `/guest` as working directory.
//! One boot costs ~3.5-5 s of wall time before the script starts: batch checks.
#![allow(dead_code)]

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A file to put into the guest.
#[derive(Debug, Clone)]
pub struct GuestFile {
    /// Content.
    pub content: Content,
    /// Absolute path in the guest.
    pub guest: String,
    /// Permission bits.
    pub mode: u32,
}

/// Where a guest file's bytes come from.
#[derive(Debug, Clone)]
pub enum Content {
    /// A host file, read at run time.
    Path(PathBuf),
    /// Literal bytes.
    Bytes(Vec<u8>),
}

impl GuestFile {
    /// A host executable, installed as `/usr/local/bin/<its name>` (on PATH).
    pub fn bin(host: &Path) -> Self {
        let name = host
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        GuestFile {
            content: Content::Path(host.to_path_buf()),
            guest: format!("/usr/local/bin/{name}"),
            mode: 0o755,
        }
    }
    /// Text or data at a guest path.
    pub fn data(guest: &str, bytes: impl Into<Vec<u8>>) -> Self {
        GuestFile {
            content: Content::Bytes(bytes.into()),
            guest: guest.to_string(),
            mode: 0o644,
        }
    }
}

/// Every regular file of a host directory (not recursive), placed under `guest_dir`.
pub fn files_in(host_dir: &Path, guest_dir: &str) -> io::Result<Vec<GuestFile>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(host_dir)? {
        let e = e?;
        if e.file_type()?.is_file() {
            let name = e.file_name().to_string_lossy().into_owned();
            out.push(GuestFile {
                content: Content::Path(e.path()),
                guest: format!("{}/{name}", guest_dir.trim_end_matches('/')),
                mode: 0o644,
            });
        }
    }
    out.sort_by(|a, b| a.guest.cmp(&b.guest));
    Ok(out)
}

/// What a guest run produced.
#[derive(Debug, Clone)]
pub struct GuestResult {
    /// The script's stdout and stderr (between the rig's markers).
    pub stdout: String,
    /// The script's exit status; -1 if the guest never reported one (crash, timeout).
    pub exit: i32,
    /// Wall time of the whole boot.
    pub wall: Duration,
    /// Guest uptime (s) when the script started and when it ended, if reported.
    pub guest_ready_s: Option<f64>,
    /// Guest uptime (s) at the end.
    pub guest_done_s: Option<f64>,
    /// The full serial console, for diagnostics.
    pub console: String,
}

/// `integration/vm/rig.sh`.
pub fn rig_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vm/rig.sh")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Why the rig cannot run here (`None` when it can): qemu missing, or not root
/// while the cache is not built yet (building needs apt).
pub fn unavailable() -> Option<String> {
    let has_qemu = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("qemu-system-x86_64").is_file()))
        .unwrap_or(false);
    if !has_qemu {
        return Some(
            "qemu-system-x86_64 not installed (run integration/vm/rig.sh prepare as root)".into(),
        );
    }
    if !Path::new("/usr/share/qemu/qboot.rom").exists() {
        return Some("/usr/share/qemu/qboot.rom missing (package qemu-system-data)".into());
    }
    None
}

/// Why a guest test skips (`None`: it runs): not root, or [`unavailable`].
pub fn skip_reason() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not root".into());
    }
    unavailable()
}

/// Our keepalived for the guest: `KEEPALIVED_STATIC_BIN` (absolute path)
/// when set, else this checkout's static build (`release` for benchmarks).
pub fn keepalived_bin(release: bool) -> PathBuf {
    let built = match std::env::var_os("KEEPALIVED_STATIC_BIN") {
        Some(p) => return named_keepalived(PathBuf::from(p)),
        None if release => build_static_bin_release("keepalived", "keepalived"),
        None => build_static_bin("keepalived", "keepalived"),
    };
    built.expect("static build")
}

/// The rig installs a file under its own name and the guest scripts start
/// `keepalived`: a binary with any other name is copied to one so named
/// (it used to be installed as is, and the guest silently started nothing).
fn named_keepalived(p: PathBuf) -> PathBuf {
    if p.file_name() == Some("keepalived".as_ref()) {
        return p;
    }
    let dir = std::env::temp_dir().join(format!("ka-static-bin-{}", std::process::id()));
    let dst = dir.join("keepalived");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::copy(&p, &dst))
        .unwrap_or_else(|e| panic!("KEEPALIVED_STATIC_BIN={}: {e}", p.display()));
    dst
}

/// Build the cached base (kernel, modules, busybox, ipvsadm, keepalived); idempotent.
pub fn prepare() -> io::Result<()> {
    let st = Command::new("bash")
        .arg(rig_script())
        .arg("prepare")
        .status()?;
    if !st.success() {
        return Err(io::Error::other(format!("rig.sh prepare failed: {st}")));
    }
    Ok(())
}

/// Build an example of a workspace package as a static binary (glibc
/// `+crt-static`) in `target/static`, not to disturb the shared target dir.
pub fn build_static_example(package: &str, example: &str) -> io::Result<PathBuf> {
    build_static(
        package,
        &["--example", example],
        &format!("examples/{example}"),
        false,
    )
}

/// [`build_static_example`] with the release profile (benchmarks).
pub fn build_static_example_release(package: &str, example: &str) -> io::Result<PathBuf> {
    build_static(
        package,
        &["--example", example],
        &format!("examples/{example}"),
        true,
    )
}

/// Build a binary target of a workspace package statically.
pub fn build_static_bin(package: &str, bin: &str) -> io::Result<PathBuf> {
    build_static(package, &["--bin", bin], bin, false)
}

/// [`build_static_bin`] with the release profile (benchmarks, the shipped binary).
pub fn build_static_bin_release(package: &str, bin: &str) -> io::Result<PathBuf> {
    build_static(package, &["--bin", bin], bin, true)
}

fn build_static(package: &str, what: &[&str], rel: &str, release: bool) -> io::Result<PathBuf> {
    let root = workspace_root();
    let target_dir = root.join("target/static");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .current_dir(&root)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_TARGET_DIR", &target_dir)
        .args([
            "build",
            "-q",
            "-p",
            package,
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .args(what)
        .args(if release { &["--release"][..] } else { &[][..] })
        .status()?;
    if !st.success() {
        return Err(io::Error::other(format!(
            "static build of {package} {what:?} failed: {st}"
        )));
    }
    let profile = if release { "release" } else { "debug" };
    Ok(target_dir
        .join("x86_64-unknown-linux-gnu")
        .join(profile)
        .join(rel))
}

/// Boot the guest with `files` and run `script` (POSIX sh, busybox) in it.
pub fn run_in_guest(files: &[GuestFile], script: &str) -> io::Result<GuestResult> {
    run_in_guest_timeout(files, script, Duration::from_secs(300))
}

/// [`run_in_guest`] with an overall wall-clock limit for qemu.
pub fn run_in_guest_timeout(
    files: &[GuestFile],
    script: &str,
    limit: Duration,
) -> io::Result<GuestResult> {
    prepare()?;
    let mut entries: Vec<(String, u32, Vec<u8>)> = Vec::new();
    for f in files {
        let bytes = match &f.content {
            Content::Path(p) => std::fs::read(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
            Content::Bytes(b) => b.clone(),
        };
        entries.push((f.guest.clone(), f.mode, bytes));
    }
    entries.push(("/guest/run.sh".into(), 0o755, script.as_bytes().to_vec()));
    let archive = newc_archive(&entries);
    let dir = tempdir()?;
    let cpio = dir.join("extra.cpio");
    std::fs::write(&cpio, archive)?;
    let t0 = Instant::now();
    let out = Command::new("bash")
        .arg(rig_script())
        .arg("boot")
        .arg(&cpio)
        .arg(limit.as_secs().max(1).to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let wall = t0.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let console = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    Ok(parse_console(console, wall))
}

fn parse_console(console: String, wall: Duration) -> GuestResult {
    let mut stdout = String::new();
    let mut inside = false;
    let mut exit = -1;
    let mut ready = None;
    let mut done = None;
    for line in console.lines() {
        if let Some(t) = line.strip_prefix("@@T ready ") {
            ready = t.trim().parse().ok();
        } else if let Some(t) = line.strip_prefix("@@T done ") {
            done = t.trim().parse().ok();
        } else if line == "@@BEGIN" {
            inside = true;
        } else if let Some(rc) = line.strip_prefix("@@EXIT ") {
            exit = rc.trim().parse().unwrap_or(-1);
            inside = false;
        } else if inside {
            stdout.push_str(line);
            stdout.push('\n');
        }
    }
    GuestResult {
        stdout,
        exit,
        wall,
        guest_ready_s: ready,
        guest_done_s: done,
        console,
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            // ESC [ ... letter, or ESC c
            if it.peek() == Some(&'[') {
                it.next();
                for d in it.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                it.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn tempdir() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let d = base.join(format!("ka-vm-{}-{}", std::process::id(), i));
        match std::fs::create_dir(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no temp dir"))
}

/// A newc ("070701") cpio archive with the parent directories of every file.
pub fn newc_archive(files: &[(String, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ino = 0x7000_0000u32;
    let mut dirs: Vec<String> = Vec::new();
    for (path, _, _) in files {
        let rel = path.trim_start_matches('/');
        let mut acc = String::new();
        let parts: Vec<&str> = rel.split('/').collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(p);
            if !dirs.contains(&acc) {
                dirs.push(acc.clone());
            }
        }
    }
    for d in &dirs {
        ino += 1;
        newc_entry(&mut out, ino, 0o040_755, d, &[]);
    }
    for (path, mode, data) in files {
        ino += 1;
        newc_entry(
            &mut out,
            ino,
            0o100_000 | (mode & 0o7777),
            path.trim_start_matches('/'),
            data,
        );
    }
    newc_entry(&mut out, 0, 0, "TRAILER!!!", &[]);
    out
}

fn newc_entry(out: &mut Vec<u8>, ino: u32, mode: u32, name: &str, data: &[u8]) {
    let nlink = if mode & 0o040_000 != 0 { 2 } else { 1 };
    let fields = [
        ino,
        mode,
        0,
        0,
        nlink,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    let _ = write!(out, "070701");
    for f in fields {
        let _ = write!(out, "{f:08x}");
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out.extend_from_slice(data);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}
