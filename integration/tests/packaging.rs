//! Packaging and operations tests (issue 5).
//!
//! * The .deb is built by `packaging/build.sh`, then inspected and unpacked
//!   into a throw-away root (`dpkg -x`): file list, conffiles, control fields,
//!   maintainer scripts, `keepalived -t` on the shipped sample, and
//!   `systemd-analyze verify` on the unit. It is **never** installed on this
//!   machine (`Conflicts: keepalived` would remove the keepalived 2.2.7 the
//!   interop tests use). The postinst runs in a private mount namespace over
//!   copies of the account files, to check it creates `keepalived_script`.
//! * The .rpm: `rpm -qlp`, `rpm -qcp`, scripts, provides/conflicts.
//! * The rsyslog rule: a real rsyslogd (Debian's, downloaded and unpacked
//!   when not installed) in a network namespace with private `/dev`,
//!   `/run` and `/var/log`, fed by keepalived 2.2.7 and by our daemon
//!   running with `-S 0`.
//! * The SysV init script drives a daemon for real in a network namespace:
//!   start, status, reload with a good and a bad config, stop.
//!
//! `KEEPALIVED_PACKAGING_NO_BUILD=1` packages the binaries already in
//! target/release instead of running the release build first.
//!
//! Tests that need root or a tool that is missing print `SKIP ...` and pass;
//! CI runs as root and installs the tools (`packaging/build.sh` installs
//! cargo-deb, cargo-generate-rpm and rpm itself).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn cargo_sub(sub: &str) -> bool {
    Command::new("cargo")
        .args([sub, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(cmd: &mut Command) -> String {
    let o = run(cmd);
    assert!(o.status.success(), "{cmd:?} failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The packages, built once per test binary.
struct Packages {
    deb: Option<PathBuf>,
    rpm: Option<PathBuf>,
    why_not: Vec<String>,
}

fn packages() -> &'static Packages {
    static P: OnceLock<Packages> = OnceLock::new();
    P.get_or_init(|| {
        let mut why_not = Vec::new();
        let want_deb = cargo_sub("deb") && have("dpkg-deb");
        let want_rpm = cargo_sub("generate-rpm") && have("rpm");
        if !want_deb {
            why_not.push(
                "cargo-deb or dpkg-deb missing (CI: packaging/build.sh installs cargo-deb)".into(),
            );
        }
        if !want_rpm {
            why_not.push(
                "cargo-generate-rpm or rpm missing (CI: packaging/build.sh installs them)".into(),
            );
        }
        if !want_deb && !want_rpm {
            return Packages {
                deb: None,
                rpm: None,
                why_not,
            };
        }
        let mut cmd = Command::new(repo().join("packaging/build.sh"));
        // KEEPALIVED_PACKAGING_NO_BUILD=1: package the release binaries
        // already in target/release instead of building them.
        if std::env::var_os("KEEPALIVED_PACKAGING_NO_BUILD").is_some() {
            cmd.arg("--no-build");
        }
        if want_deb && !want_rpm {
            cmd.arg("--deb");
        }
        if want_rpm && !want_deb {
            cmd.arg("--rpm");
        }
        let out = ok(&mut cmd);
        let mut deb = None;
        let mut rpm = None;
        for l in out.lines() {
            if l.ends_with(".deb") {
                deb = Some(PathBuf::from(l));
            }
            if l.ends_with(".rpm") {
                rpm = Some(PathBuf::from(l));
            }
        }
        Packages { deb, rpm, why_not }
    })
}

/// Whether our daemon does more than the empty skeleton: `--version` prints
/// something. Checks on the daemon's behaviour are skipped (and say so)
/// until it does.
fn daemon_implemented(bin: &Path) -> bool {
    match Command::new(bin).arg("--version").output() {
        Ok(o) => o.status.success() && !(o.stdout.is_empty() && o.stderr.is_empty()),
        Err(_) => false,
    }
}

/// A network namespace removed on drop, after killing whatever runs in it.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("ka-pkg-{tag}-{}", std::process::id());
        ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns(name);
        ns.exec_ok("ip link set lo up");
        ns
    }

    fn exec(&self, script: &str) -> Output {
        run(Command::new("ip").args(["netns", "exec", &self.0, "sh", "-c", script]))
    }

    fn exec_ok(&self, script: &str) -> String {
        let o = self.exec(script);
        assert!(o.status.success(), "in {}: {script}: {}", self.0, text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Adds a veth pair whose first end is called `name`, up, with `addr`.
    fn iface(&self, name: &str, peer: &str, addr: &str) {
        self.exec_ok(&format!(
            "ip link add {name} type veth peer name {peer} && ip link set {name} up && ip link set {peer} up && ip addr add {addr} dev {name}"
        ));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(o) = Command::new("ip").args(["netns", "pids", &self.0]).output() {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn tmpdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    d
}

const DEB_FILES: &[&str] = &[
    "./usr/sbin/keepalived",
    "./usr/bin/genhash",
    "./usr/bin/keepalivectl",
    "./etc/keepalived/keepalived.conf",
    "./etc/keepalived/conf.d/README",
    "./etc/default/keepalived",
    "./etc/init.d/keepalived",
    "./etc/rsyslog.d/keepalived.conf",
    "./etc/logrotate.d/keepalived",
    "./usr/share/man/man8/keepalived.8",
    "./usr/share/man/man5/keepalived.conf.5",
    "./usr/share/man/man1/genhash.1",
    "./usr/share/doc/keepalived/copyright",
    "./usr/share/doc/keepalived/examples/keepalived-non-root.service",
];

const CONFFILES: &[&str] = &[
    "/etc/keepalived/keepalived.conf",
    "/etc/default/keepalived",
    "/etc/init.d/keepalived",
    "/etc/rsyslog.d/keepalived.conf",
    "/etc/logrotate.d/keepalived",
];

/// Interface names a config uses (`interface X`), to create them before `-t`.
fn interfaces_in(conf: &str) -> Vec<String> {
    let mut v: Vec<String> = conf
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next()) {
                (Some("interface"), Some(i)) => Some(i.to_string()),
                _ => None,
            }
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn deb_contents_conffiles_scripts_and_config_test() {
    let p = packages();
    let Some(deb) = &p.deb else {
        eprintln!("SKIP deb: {}", p.why_not.join("; "));
        return;
    };
    let t0 = Instant::now();

    // File list (man pages may be compressed by cargo-deb).
    let list = ok(Command::new("dpkg-deb").arg("-c").arg(deb));
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    for f in DEB_FILES {
        assert!(
            names
                .iter()
                .any(|n| n == f || n.strip_suffix(".gz") == Some(f)),
            "{f} not in package:\n{list}"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("systemd/system/keepalived.service")),
        "unit not in package:\n{list}"
    );
    let daemon_line = list
        .lines()
        .find(|l| l.ends_with(" ./usr/sbin/keepalived"))
        .unwrap_or_default();
    assert!(daemon_line.starts_with("-rwxr-xr-x"), "{daemon_line}");

    // Control: fields, conffiles, maintainer scripts.
    let ctl = tmpdir();
    ok(Command::new("dpkg-deb")
        .arg("-e")
        .arg(deb)
        .arg(ctl.path().join("DEBIAN")));
    let control = fs::read_to_string(ctl.path().join("DEBIAN/control")).unwrap();
    for field in [
        "Package: keepalived",
        "Provides: keepalived",
        "Conflicts: keepalived",
        "Replaces: keepalived",
    ] {
        assert!(
            control.lines().any(|l| l == field),
            "{field} missing:\n{control}"
        );
    }
    let conffiles = fs::read_to_string(ctl.path().join("DEBIAN/conffiles")).unwrap();
    for c in CONFFILES {
        assert!(
            conffiles.lines().any(|l| l == *c),
            "{c} not a conffile:\n{conffiles}"
        );
    }
    let postinst = fs::read_to_string(ctl.path().join("DEBIAN/postinst")).unwrap();
    assert!(postinst.contains("keepalived_script"));
    assert!(!postinst.contains("#DEBHELPER#"), "token not replaced");
    assert!(
        postinst.contains("deb-systemd-helper"),
        "unit not enabled:\n{postinst}"
    );
    // Nothing is ever started by the package (no invoke-rc.d, no start).
    assert!(!postinst.contains("invoke-rc.d"));
    assert!(!postinst.contains("deb-systemd-invoke start"), "{postinst}");
    assert!(!postinst.contains("_dh_action=start"), "{postinst}");

    // Unpack into a throw-away root.
    let root = tmpdir();
    ok(Command::new("dpkg").arg("-x").arg(deb).arg(root.path()));
    let r = root.path();
    let unit = [
        "lib/systemd/system/keepalived.service",
        "usr/lib/systemd/system/keepalived.service",
    ]
    .iter()
    .map(|u| r.join(u))
    .find(|p| p.exists())
    .expect("unit file");
    let unit_text = fs::read_to_string(&unit).unwrap();
    for l in [
        "Type=notify",
        "After=network-online.target",
        "EnvironmentFile=-/etc/default/keepalived",
        "ExecStart=/usr/sbin/keepalived --dont-fork $DAEMON_ARGS $KEEPALIVED_OPTIONS",
        "ExecReload=/bin/sh -c '/usr/sbin/keepalived --config-test \"$$@\"; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 3 ]' keepalived-config-test $DAEMON_ARGS $KEEPALIVED_OPTIONS",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit_text.lines().any(|x| x == l), "{l} missing in unit");
    }
    let defaults = fs::read_to_string(r.join("etc/default/keepalived")).unwrap();
    assert!(defaults.lines().any(|l| l == "DAEMON_ARGS=\"\""));
    let mode = fs::metadata(r.join("etc/init.d/keepalived"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);

    if have("systemd-analyze") {
        for u in [
            unit.clone(),
            r.join("usr/share/doc/keepalived/examples/keepalived-non-root.service"),
        ] {
            let o = run(Command::new("systemd-analyze").arg("verify").arg(&u));
            let out = text(&o);
            // Lines about other units on this host are not ours.
            let ours: Vec<&str> = out.lines().filter(|l| l.contains("keepalived")).collect();
            assert!(
                o.status.success() && ours.is_empty(),
                "systemd-analyze verify {}: {out}",
                u.display()
            );
        }
    } else {
        eprintln!("SKIP systemd-analyze verify: not installed");
    }

    // The shipped sample passes `-t`: keepalived 2.2.7's (the reference) and
    // ours, in a namespace that has the interfaces it names.
    let sample = r.join("etc/keepalived/keepalived.conf");
    let sample_text = fs::read_to_string(&sample).unwrap();
    if is_root() {
        let ns = Netns::new("t");
        for (i, ifname) in interfaces_in(&sample_text).iter().enumerate() {
            ns.iface(
                ifname,
                &format!("kapeer{i}"),
                &format!("198.51.100.{}/24", i + 1),
            );
        }
        if Path::new("/usr/sbin/keepalived").exists() {
            let o = ns.exec(&format!("/usr/sbin/keepalived -t -f {}", sample.display()));
            assert!(
                o.status.success(),
                "keepalived 2.2.7 -t refuses the shipped sample: {}",
                text(&o)
            );
        }
        let ours = r.join("usr/sbin/keepalived");
        if daemon_implemented(&ours) {
            let o = ns.exec(&format!("{} -t -f {}", ours.display(), sample.display()));
            assert!(
                o.status.success(),
                "installed keepalived -t refuses the sample: {}",
                text(&o)
            );
        } else {
            eprintln!("SKIP installed keepalived -t: bin/keepalived is not implemented yet");
        }
    } else {
        eprintln!("SKIP keepalived -t on the sample: needs root (namespace)");
    }
    eprintln!("deb checks took {:?}", t0.elapsed());
}

#[test]
fn deb_postinst_creates_script_user_and_starts_nothing() {
    let p = packages();
    let Some(deb) = &p.deb else {
        eprintln!("SKIP postinst: {}", p.why_not.join("; "));
        return;
    };
    if !is_root() || !have("unshare") {
        eprintln!("SKIP postinst: needs root and unshare");
        return;
    }
    let ctl = tmpdir();
    ok(Command::new("dpkg-deb")
        .arg("-e")
        .arg(deb)
        .arg(ctl.path().join("DEBIAN")));
    // /etc is an overlay in a private mount namespace: the postinst's
    // writes (passwd, group, shadow, systemd symlinks) land in `upper`.
    let t = tmpdir();
    let upper = t.path().join("upper");
    let work = t.path().join("work");
    fs::create_dir(&upper).unwrap();
    fs::create_dir(&work).unwrap();
    let host_passwd = fs::read_to_string("/etc/passwd").unwrap();
    let already = host_passwd
        .lines()
        .any(|l| l.starts_with("keepalived_script:"));
    let script = format!(
        "set -e\nmount --make-rprivate /\n\
         mount -t overlay overlay -o lowerdir=/etc,upperdir={u},workdir={w} /etc\n\
         mkdir -p /var/lib/systemd && mount -t tmpfs tmpfs /var/lib/systemd\n\
         mount -t tmpfs tmpfs /run\n\
         {c}/DEBIAN/postinst configure\n\
         getent passwd keepalived_script\n\
         ls /run/systemd/system 2>/dev/null && echo SYSTEMD || echo NO-SYSTEMD\n",
        u = upper.display(),
        w = work.display(),
        c = ctl.path().display()
    );
    let o = run(Command::new("unshare").args(["-m", "sh", "-c", &script]));
    assert!(o.status.success(), "postinst failed: {}", text(&o));
    assert!(text(&o).contains("NO-SYSTEMD"));
    assert!(
        text(&o).contains("keepalived_script:"),
        "user not created: {}",
        text(&o)
    );
    if !already {
        let passwd = fs::read_to_string(upper.join("passwd")).unwrap();
        assert!(
            passwd.lines().any(|l| l.starts_with("keepalived_script:")),
            "user not created:\n{passwd}"
        );
    }
    // The host's files were not touched.
    assert_eq!(fs::read_to_string("/etc/passwd").unwrap(), host_passwd);
    // Nothing was started.
    let ps = ok(Command::new("ps").args(["-eo", "args"]));
    assert!(
        !ps.lines()
            .any(|l| l.contains(&*ctl.path().to_string_lossy())
                || l.starts_with("/usr/sbin/keepalived --dont-fork")),
        "{ps}"
    );
}

#[test]
fn rpm_file_list_config_and_scripts() {
    let p = packages();
    let Some(rpm) = &p.rpm else {
        eprintln!("SKIP rpm: {}", p.why_not.join("; "));
        return;
    };
    let list = ok(Command::new("rpm").arg("-qlp").arg(rpm));
    for f in [
        "/usr/sbin/keepalived",
        "/usr/bin/genhash",
        "/usr/bin/keepalivectl",
        "/etc/keepalived/keepalived.conf",
        "/etc/sysconfig/keepalived",
        "/etc/rsyslog.d/keepalived.conf",
        "/etc/logrotate.d/keepalived",
        "/usr/lib/systemd/system/keepalived.service",
        "/usr/share/man/man8/keepalived.8",
        "/usr/share/man/man5/keepalived.conf.5",
        "/usr/share/man/man1/genhash.1",
        "/usr/share/licenses/keepalived/COPYING",
    ] {
        assert!(list.lines().any(|l| l == f), "{f} not in rpm:\n{list}");
    }
    assert!(
        !list.lines().any(|l| l == "/etc/default/keepalived"),
        "deb-only file in rpm"
    );
    let conf = ok(Command::new("rpm").arg("-qcp").arg(rpm));
    for f in [
        "/etc/keepalived/keepalived.conf",
        "/etc/sysconfig/keepalived",
    ] {
        assert!(conf.lines().any(|l| l == f), "{f} not %config:\n{conf}");
    }
    let scripts = ok(Command::new("rpm").args(["-qp", "--scripts"]).arg(rpm));
    assert!(scripts.contains("keepalived_script"), "{scripts}");
    assert!(
        !scripts.contains("enable --now"),
        "rpm must not start the service:\n{scripts}"
    );
    let prov = ok(Command::new("rpm").args(["-qp", "--provides"]).arg(rpm));
    assert!(prov.lines().any(|l| l.starts_with("keepalived")), "{prov}");
    let conflicts = ok(Command::new("rpm").args(["-qp", "--conflicts"]).arg(rpm));
    assert!(
        conflicts.lines().any(|l| l.starts_with("keepalived")),
        "{conflicts}"
    );
    let sysconfig = ok(Command::new("sh").arg("-c").arg(format!(
        "cd $(mktemp -d) && rpm2cpio {} | cpio -id --quiet ./etc/sysconfig/keepalived && cat etc/sysconfig/keepalived",
        rpm.display()
    )));
    assert!(
        sysconfig
            .lines()
            .any(|l| l.starts_with("KEEPALIVED_OPTIONS=")),
        "{sysconfig}"
    );
}

/// Debian packages downloaded (`apt-get download`) and unpacked (`dpkg -x`)
/// under target/packaging-test/NAME/root, never installed: installing
/// rsyslog would start a daemon on this machine's /dev/log. Returns the root
/// once `bin` (relative to it) exists.
fn unpacked_debs(name: &str, pkgs: &[&str], bin: &str) -> Option<PathBuf> {
    let dir = repo().join("target/packaging-test").join(name);
    let root = dir.join("root");
    if root.join(bin).exists() {
        return Some(root);
    }
    fs::create_dir_all(&dir).ok()?;
    let o = Command::new("apt-get")
        .arg("download")
        .args(pkgs)
        .current_dir(&dir)
        .output()
        .ok()?;
    if !o.status.success() {
        eprintln!("apt-get download {pkgs:?} failed: {}", text(&o));
        return None;
    }
    for e in fs::read_dir(&dir).ok()?.flatten() {
        if e.path().extension().is_some_and(|x| x == "deb") {
            let s = Command::new("dpkg")
                .arg("-x")
                .arg(e.path())
                .arg(&root)
                .status()
                .ok()?;
            if !s.success() {
                return None;
            }
        }
    }
    root.join(bin).exists().then_some(root)
}

/// rsyslogd from PATH, or Debian's package unpacked under target/.
/// Returns (binary, module dir, LD_LIBRARY_PATH).
fn rsyslogd() -> Option<(PathBuf, Option<PathBuf>, Option<PathBuf>)> {
    if have("rsyslogd") {
        return Some((PathBuf::from("rsyslogd"), None, None));
    }
    static R: OnceLock<Option<PathBuf>> = OnceLock::new();
    let root = R.get_or_init(|| {
        unpacked_debs(
            "rsyslog",
            &["rsyslog", "libestr0", "libfastjson4", "liblognorm5"],
            "usr/sbin/rsyslogd",
        )
    });
    let root = root.as_ref()?;
    let lib = root.join("usr/lib/x86_64-linux-gnu");
    Some((
        root.join("usr/sbin/rsyslogd"),
        Some(lib.join("rsyslog")),
        Some(lib),
    ))
}

/// logrotate from PATH, or Debian's package unpacked under target/.
fn logrotate() -> Option<PathBuf> {
    if have("logrotate") {
        return Some(PathBuf::from("logrotate"));
    }
    static R: OnceLock<Option<PathBuf>> = OnceLock::new();
    R.get_or_init(|| unpacked_debs("logrotate", &["logrotate"], "usr/sbin/logrotate"))
        .as_ref()
        .map(|r| r.join("usr/sbin/logrotate"))
}

const RSYSLOG_TEST_KA_CONF: &str = "global_defs {
    router_id rsyslog_test
}
vrrp_instance VI_1 {
    state BACKUP
    interface kaeth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.200 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.2 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
";

/// Runs rsyslogd with our rule and `daemon -n -S 0 -D -f conf` for a few
/// seconds in a namespace with private /dev, /run and /var/log; returns the
/// content of /var/log/keepalived.log and of the catch-all file.
fn rsyslog_run(tag: &str, daemon: &Path, rotate: bool) -> Option<(String, String)> {
    let Some((bin, moddir, lib)) = rsyslogd() else {
        eprintln!("SKIP rsyslog: rsyslogd not available (apt-get download failed)");
        return None;
    };
    let t = tmpdir();
    let varlog = t.path().join("varlog");
    fs::create_dir(&varlog).unwrap();
    let conf = t.path().join("rsyslog.conf");
    fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{w}\")\nmodule(load=\"imuxsock\")\ninclude(file=\"{rule}\")\n*.* action(type=\"omfile\" file=\"{w}/other.log\")\n",
            w = t.path().display(),
            rule = repo().join("etc/rsyslog.d/keepalived.conf").display()
        ),
    )
    .unwrap();
    let ka = t.path().join("ka.conf");
    fs::write(&ka, RSYSLOG_TEST_KA_CONF).unwrap();
    // Optionally rotate with the shipped logrotate file (its postrotate HUPs
    // rsyslogd through /run/rsyslogd.pid), then log one more line: it must
    // land in a fresh keepalived.log.
    let rotate_step = match (rotate, logrotate()) {
        (true, Some(lr)) => format!(
            "cp {rule} {t}/logrotate.conf\n{lr} -f -s {t}/logrotate.state {t}/logrotate.conf\nsleep 0.5\nlogger -t Keepalived after-rotation-marker\nsleep 0.5",
            rule = repo().join("etc/logrotate.d/keepalived").display(),
            t = t.path().display(),
            lr = lr.display()
        ),
        (true, None) => {
            eprintln!("SKIP logrotate step: logrotate not available");
            String::new()
        }
        (false, _) => String::new(),
    };
    let ns = Netns::new(tag);
    ns.iface("kaeth0", "kaeth1", "192.0.2.1/24");
    let ld = lib
        .map(|l| format!("LD_LIBRARY_PATH={} ", l.display()))
        .unwrap_or_default();
    let m = moddir
        .map(|m| format!("-M {}", m.display()))
        .unwrap_or_default();
    let script = format!(
        "set -e
mount -t tmpfs -o mode=755 tmpfs /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/random c 1 8
ln -s /proc/self/fd /dev/fd
mount -t tmpfs tmpfs /run
mount --bind {varlog} /var/log
set +e
# Background processes write to files, never to our pipe, so a hung step
# cannot keep the test waiting for EOF.
{ld}{bin} -n -f {conf} -i /run/rsyslogd.pid {m} >{t}/rsyslogd.out 2>&1 &
RS=$!
trap 'kill $RS 2>/dev/null' EXIT
i=0; while [ ! -S /dev/log ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
[ -S /dev/log ] || {{ echo 'rsyslogd did not create /dev/log'; cat {t}/rsyslogd.out; exit 1; }}
timeout 20 {daemon} -n -S 0 -D -f {ka} >{t}/daemon.out 2>&1 &
KA=$!
# keepalived 2.2.7 stops by itself here (no ip_vs on this kernel: the
# checker exits FATAL); ours may run until stopped.
i=0; while kill -0 $KA 2>/dev/null && [ $i -lt 40 ]; do sleep 0.1; i=$((i+1)); done
kill -TERM $KA 2>/dev/null
wait $KA
sleep 0.5
{rotate}
kill $RS; wait $RS
exit 0
",
        varlog = varlog.display(),
        bin = bin.display(),
        conf = conf.display(),
        daemon = daemon.display(),
        ka = ka.display(),
        t = t.path().display(),
        rotate = rotate_step,
    );
    let o = ns.exec(&format!(
        "timeout 60 sh -c '{}'",
        script.replace('\'', "'\\''")
    ));
    assert!(o.status.success(), "rsyslog run failed: {}", text(&o));
    let mut log = fs::read_to_string(varlog.join("keepalived.log")).unwrap_or_default();
    if rotate && !rotate_step.is_empty() {
        let rotated = fs::read_to_string(varlog.join("keepalived.log.1"))
            .unwrap_or_else(|_| panic!("no keepalived.log.1 after logrotate: {}", text(&o)));
        assert!(
            log.lines()
                .any(|l| l.contains("Keepalived: after-rotation-marker")),
            "rsyslogd did not reopen keepalived.log after rotation:\n{log}"
        );
        assert!(!rotated.contains("after-rotation-marker"));
        eprintln!(
            "logrotate: keepalived.log.1 kept {} lines; new file reopened",
            rotated.lines().count()
        );
        log = rotated + &log;
    }
    let other = fs::read_to_string(t.path().join("other.log")).unwrap_or_default();
    Some((log, other))
}

fn assert_three_idents(log: &str, other: &str) {
    for ident in [
        "Keepalived[",
        "Keepalived_vrrp[",
        "Keepalived_healthcheckers[",
    ] {
        let n = log
            .lines()
            .filter(|l| l.contains(&format!(" {ident}")))
            .count();
        eprintln!("keepalived.log: {n} lines from {ident}");
    }
    for ident in [
        "Keepalived[",
        "Keepalived_vrrp[",
        "Keepalived_healthcheckers[",
    ] {
        assert!(
            log.lines().any(|l| l.contains(&format!(" {ident}"))),
            "no line from {ident} in keepalived.log:\n{log}"
        );
    }
    assert!(
        !other.lines().any(|l| l.contains(" Keepalived")),
        "keepalived lines leaked into the catch-all file:\n{other}"
    );
}

#[test]
fn rsyslog_rule_routes_keepalived_2_2_7() {
    if !is_root() {
        eprintln!("SKIP rsyslog: needs root (namespaces, mounts)");
        return;
    }
    let reference = Path::new("/usr/sbin/keepalived");
    if !reference.exists() {
        eprintln!("SKIP rsyslog with keepalived 2.2.7: not installed");
        return;
    }
    if let Some((log, other)) = rsyslog_run("rs1", reference, true) {
        assert_three_idents(&log, &other);
        assert!(log.contains("Starting Keepalived v2.2.7"), "{log}");
    }
}

fn our_daemon() -> Option<PathBuf> {
    let candidates = [
        repo().join("target/release/keepalived"),
        repo().join("target/debug/keepalived"),
    ];
    let bin = candidates.into_iter().find(|b| b.exists())?;
    daemon_implemented(&bin).then_some(bin)
}

#[test]
fn rsyslog_rule_routes_our_daemon() {
    if !is_root() {
        eprintln!("SKIP rsyslog: needs root (namespaces, mounts)");
        return;
    }
    let Some(bin) = our_daemon() else {
        eprintln!(
            "SKIP rsyslog with our daemon: bin/keepalived is not built or not implemented yet"
        );
        return;
    };
    if let Some((log, other)) = rsyslog_run("rs2", &bin, false) {
        assert_three_idents(&log, &other);
    }
}

const INIT_GOOD: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface kaeth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.101/24
    }
}
";

/// Drives etc/init.d/keepalived against `daemon` in a namespace: start,
/// status, reload good, reload bad (refused, daemon alive), stop (nothing left).
fn init_script_flow(tag: &str, daemon: &Path, ours: bool) {
    let t = tmpdir();
    let d = t.path();
    let conf = d.join("keepalived.conf");
    fs::write(&conf, INIT_GOOD).unwrap();
    let defaults = d.join("default");
    fs::write(
        &defaults,
        format!(
            "DAEMON={daemon}\nCONFIG={conf}\nPIDFILE={d}/keepalived.pid\nDAEMON_ARGS=\"-f {conf} -D -p {d}/keepalived.pid -r {d}/vrrp.pid -c {d}/checkers.pid\"\n",
            daemon = daemon.display(),
            conf = conf.display(),
            d = d.display()
        ),
    )
    .unwrap();
    let ns = Netns::new(tag);
    ns.iface("kaeth0", "kaeth1", "192.0.2.1/24");
    let init = repo().join("etc/init.d/keepalived");
    let sh = |action: &str| {
        ns.exec(&format!(
            "KEEPALIVED_DEFAULTS={} sh {} {action}",
            defaults.display(),
            init.display()
        ))
    };
    let pid_of =
        |f: &str| -> Option<i32> { fs::read_to_string(d.join(f)).ok()?.trim().parse().ok() };
    let alive = |pid: i32| -> bool {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(s) => !s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => false,
        }
    };

    let o = sh("start");
    assert!(o.status.success(), "start: {}", text(&o));
    let parent = pid_of("keepalived.pid").expect("parent pid file");
    // The VRRP child writes its pid file once started.
    let end = Instant::now() + Duration::from_secs(10);
    let vrrp = loop {
        if let Some(p) = pid_of("vrrp.pid") {
            break p;
        }
        assert!(Instant::now() < end, "no vrrp.pid");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(alive(parent) && alive(vrrp));

    let o = sh("status");
    let out = text(&o);
    assert!(o.status.success(), "status: {out}");
    assert!(
        out.contains(&format!("is running (pid {parent}")) && out.contains(&format!("vrrp {vrrp}")),
        "{out}"
    );

    // Good reload: verdict printed, same parent.
    fs::write(&conf, INIT_GOOD.replace("priority 100", "priority 110")).unwrap();
    let o = sh("reload");
    let out = text(&o);
    assert!(o.status.success(), "reload good: {out}");
    assert!(out.contains("configuration test OK"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(alive(parent));

    // A configuration with warnings only (auth_pass longer than 8, which
    // keepalived truncates): our `-t` exits 3 and the reload goes ahead
    // (keepalived 2.2.7's -t exits 5 for it, so only for ours).
    if ours {
        let warn = INIT_GOOD.replace(
        "    advert_int 1\n",
        "    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass 123456789012\n    }\n",
    );
        fs::write(&conf, &warn).unwrap();
        let o = sh("reload");
        let out = text(&o);
        eprintln!("init script: reload with warnings:\n{out}");
        assert!(o.status.success(), "reload with warnings: {out}");
        assert!(out.contains("configuration test OK"), "{out}");
        std::thread::sleep(Duration::from_millis(300));
        assert!(alive(parent));
    }

    // Bad reload: refused with the verdict, daemon untouched.
    fs::write(
        &conf,
        INIT_GOOD.replace("virtual_router_id 52", "virtual_router_id 300"),
    )
    .unwrap();
    let o = sh("reload");
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "reload bad: {out}");
    assert!(out.contains("configuration test FAILED"), "{out}");
    assert!(out.contains("reload refused"), "{out}");
    assert!(
        out.contains("300"),
        "the -t output should name the problem: {out}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        alive(parent) && alive(vrrp),
        "daemon died after a refused reload"
    );

    eprintln!("init script: start, status, reload OK, reload refused:\n{out}");
    let o = sh("stop");
    assert!(o.status.success(), "stop: {}", text(&o));
    let end = Instant::now() + Duration::from_secs(10);
    while alive(parent) || alive(vrrp) {
        assert!(Instant::now() < end, "processes left after stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pids = ok(Command::new("ip").args(["netns", "pids", &ns.0]));
    assert!(
        pids.trim().is_empty(),
        "processes left in the namespace: {pids}"
    );
    let o = sh("status");
    assert_eq!(o.status.code(), Some(3), "status after stop: {}", text(&o));
}

#[test]
fn init_script_with_keepalived_2_2_7() {
    if !is_root() || !have("start-stop-daemon") {
        eprintln!("SKIP init script: needs root and start-stop-daemon");
        return;
    }
    let reference = Path::new("/usr/sbin/keepalived");
    if !reference.exists() {
        eprintln!("SKIP init script with keepalived 2.2.7: not installed");
        return;
    }
    init_script_flow("init1", reference, false);
}

#[test]
fn init_script_with_our_daemon() {
    if !is_root() || !have("start-stop-daemon") {
        eprintln!("SKIP init script: needs root and start-stop-daemon");
        return;
    }
    let Some(bin) = our_daemon() else {
        eprintln!(
            "SKIP init script with our daemon: bin/keepalived is not built or not implemented yet"
        );
        return;
    };
    init_script_flow("init2", &bin, true);
}

/// A real `dpkg --root` install, upgrade and purge, maintainer scripts
/// included (dpkg runs them chrooted), into a root made of overlays of this
/// machine's /usr and /etc inside a private mount namespace: nothing
/// reaches the real system or its dpkg database (where keepalived 2.2.7
/// stays installed). Checks the user creation, that an edited conffile
/// survives an upgrade whose package changes it (`.dpkg-dist` written with
/// `--force-confold`), that nothing is started, and that purge removes
/// /etc/keepalived.
#[test]
fn deb_install_upgrade_purge_in_sandbox() {
    let p = packages();
    let Some(deb) = &p.deb else {
        eprintln!("SKIP dpkg --root: {}", p.why_not.join("; "));
        return;
    };
    if !is_root() || !have("unshare") || !have("dpkg") {
        eprintln!("SKIP dpkg --root: needs root, unshare and dpkg");
        return;
    }
    let t = tmpdir();
    let d = t.path();
    // Version 0.1.0-2 of the same package with a changed sample config.
    let pkg2 = d.join("pkg2");
    ok(Command::new("dpkg-deb").arg("-R").arg(deb).arg(&pkg2));
    let conf2 = pkg2.join("etc/keepalived/keepalived.conf");
    let mut c = fs::read_to_string(&conf2).unwrap();
    c.push_str("# sample changed in -2\n");
    fs::write(&conf2, c).unwrap();
    let control = pkg2.join("DEBIAN/control");
    let ctl = fs::read_to_string(&control).unwrap();
    let ver = ctl
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .unwrap()
        .to_string();
    let ver2 = format!("{}-2", ver.rsplit_once('-').map(|(u, _)| u).unwrap_or(&ver));
    fs::write(
        &control,
        ctl.replace(&format!("Version: {ver}"), &format!("Version: {ver2}")),
    )
    .unwrap();
    ok(Command::new("sh").arg("-c").arg(format!(
        "cd {} && find . -path ./DEBIAN -prune -o -type f -printf '%P\\n' | xargs md5sum > DEBIAN/md5sums",
        pkg2.display()
    )));
    let deb2 = d.join("deb2.deb");
    ok(Command::new("dpkg-deb").arg("-b").arg(&pkg2).arg(&deb2));

    let host_status = fs::read_to_string("/var/lib/dpkg/status").unwrap_or_default();
    let script = format!(
        r##"set -e
mount --make-rprivate /
T={d}; R=$T/root
mkdir -p $R
for x in usr etc; do
  mkdir -p $T/$x-up $T/$x-wk $R/$x
  mount -t overlay overlay -o lowerdir=/$x,upperdir=$T/$x-up,workdir=$T/$x-wk $R/$x
done
for x in bin sbin lib lib64 lib32 libx32; do
  if [ -L /$x ]; then ln -s "$(readlink /$x)" $R/$x
  elif [ -d /$x ]; then mkdir $R/$x; mount --bind /$x $R/$x; fi
done
mkdir -p $R/proc $R/dev $R/tmp $R/run $R/var/lib/dpkg/info $R/var/lib/dpkg/updates $R/var/log $R/var/cache
mount -t proc proc $R/proc
mount --rbind /dev $R/dev
# This machine's keepalived 2.2.7 files are not part of the fresh root.
rm -rf $R/etc/keepalived $R/etc/default/keepalived $R/etc/init.d/keepalived \
       $R/etc/rsyslog.d/keepalived.conf $R/etc/logrotate.d/keepalived
touch $R/var/lib/dpkg/status $R/var/lib/dpkg/available
echo "== install"
dpkg --root=$R --force-depends -i {deb} </dev/null
echo "== user: $(chroot $R getent passwd keepalived_script)"
[ -d $R/run/systemd/system ] && echo "== systemd dir" || true
echo "# local edit" >> $R/etc/keepalived/keepalived.conf
echo "== upgrade"
dpkg --root=$R --force-depends --force-confold -i {deb2} </dev/null
echo "== kept: $(tail -n 1 $R/etc/keepalived/keepalived.conf)"
echo "== dist: $(tail -n 1 $R/etc/keepalived/keepalived.conf.dpkg-dist)"
echo "== $(dpkg --root=$R -s keepalived | grep '^Version:')"
echo "== purge"
dpkg --root=$R -P keepalived </dev/null
[ -e $R/etc/keepalived ] && echo "== etc left" || echo "== etc gone"
[ -e $R/usr/sbin/keepalived ] && echo "== binary left" || echo "== binary gone"
"##,
        d = d.display(),
        deb = deb.display(),
        deb2 = deb2.display()
    );
    let o = run(Command::new("unshare").args(["-m", "sh", "-c", &script]));
    let out = text(&o);
    assert!(o.status.success(), "sandboxed dpkg failed:\n{out}");
    assert!(out.contains("== user: keepalived_script:"), "{out}");
    assert!(!out.contains("== systemd dir"), "{out}");
    assert!(out.contains("== kept: # local edit"), "{out}");
    assert!(out.contains("== dist: # sample changed in -2"), "{out}");
    assert!(out.contains(&format!("== Version: {ver2}")), "{out}");
    assert!(out.contains("== etc gone"), "{out}");
    assert!(out.contains("== binary gone"), "{out}");
    // The machine's dpkg database is untouched.
    assert_eq!(
        fs::read_to_string("/var/lib/dpkg/status").unwrap_or_default(),
        host_status
    );
    // Nothing started by the package.
    let ps = ok(Command::new("ps").args(["-eo", "args"]));
    assert!(
        !ps.lines().any(|l| l.contains(&*d.to_string_lossy())),
        "{ps}"
    );
}
