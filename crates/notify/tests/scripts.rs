//! Real scripts in temporary directories: exit codes, timeouts that kill the
//! whole process group, reaping, users, ordering, security checks, FIFO.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keepalived_notify::{
    check_script_secure, fifo_line, ExecMode, ExitKind, Finished, Handle, NotifyFifo, NotifyKind,
    NotifyQueues, NotifyScripts, NotifyState, Outcome, RunnerOptions, ScriptRunner, ScriptSpec,
};

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// A temp dir that any user may traverse and write (for scripts run as nobody).
fn tmpdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn wait_for(runner: &mut ScriptRunner, h: Handle, max: Duration) -> Finished {
    let end = Instant::now() + max;
    loop {
        let now = Instant::now();
        for f in runner.poll(now) {
            if f.handle == h {
                return f;
            }
        }
        assert!(now < end, "script did not finish in {max:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// State letter from /proc/PID/stat, or None when the pid is gone.
fn proc_state(pid: u32) -> Option<(char, i32)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &s[s.rfind(')')? + 2..];
    let mut it = after.split_whitespace();
    let st = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((st, ppid))
}

#[test]
fn exit_codes_and_reaping() {
    let d = tmpdir();
    let ok = script(d.path(), "ok.sh", "#!/bin/sh\nexit 0\n");
    let bad = script(d.path(), "bad.sh", "#!/bin/sh\nexit 3\n");
    let mut r = ScriptRunner::default();
    let now = Instant::now();
    let h1 = r
        .spawn(&ScriptSpec::new(vec![ok.display().to_string()]), now)
        .unwrap();
    let h2 = r
        .spawn(&ScriptSpec::new(vec![bad.display().to_string()]), now)
        .unwrap();
    let p1 = r.pid(h1).unwrap();
    let p2 = r.pid(h2).unwrap();
    // Both may be reaped by the same poll: collect until both are seen.
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    while got.len() < 2 {
        got.extend(r.poll(Instant::now()));
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(5));
    }
    got.sort_by_key(|f| f.handle);
    let (f1, f2) = (got[0].clone(), got[1].clone());
    assert_eq!((f1.handle, f2.handle), (h1, h2));
    assert_eq!(f1.exit, ExitKind::Exited(0));
    assert!(f1.success());
    assert_eq!(f2.exit, ExitKind::Exited(3));
    assert!(!f2.timed_out);
    assert_eq!(r.running(), 0);
    // Reaped: no <defunct> entry left for either pid.
    assert_eq!(proc_state(p1), None);
    assert_eq!(proc_state(p2), None);
}

#[test]
fn spawn_error_for_missing_program() {
    let mut r = ScriptRunner::default();
    let e = r
        .spawn(
            &ScriptSpec::new(vec!["/nonexistent/x.sh".into()]),
            Instant::now(),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Error exec-ing command '/nonexistent/x.sh', error 2:"),
        "{e}"
    );
}

#[test]
fn timeout_kills_whole_group_including_grandchild() {
    let d = tmpdir();
    let gc = d.path().join("gc.pid");
    let s = script(
        d.path(),
        "hang.sh",
        &format!(
            "#!/bin/sh\nsleep 300 &\necho $! > {}\nsleep 300\n",
            gc.display()
        ),
    );
    let mut r = ScriptRunner::new(RunnerOptions {
        kill_grace: Duration::from_millis(300),
        parent_death_signal: true,
    });
    let spec = ScriptSpec::new(vec![s.display().to_string()]).timeout(Duration::from_millis(400));
    let t0 = Instant::now();
    let h = r.spawn(&spec, t0).unwrap();
    let pid = r.pid(h).unwrap();
    // Wait for the grandchild to exist.
    let end = Instant::now() + Duration::from_secs(5);
    let gpid: u32 = loop {
        if let Ok(s) = fs::read_to_string(&gc) {
            if let Ok(p) = s.trim().parse() {
                break p;
            }
        }
        assert!(Instant::now() < end, "grandchild never started");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(proc_state(gpid).is_some());
    let f = wait_for(&mut r, h, Duration::from_secs(10));
    let took = t0.elapsed();
    assert!(f.timed_out);
    assert_eq!(f.exit, ExitKind::Signaled(libc::SIGTERM));
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(proc_state(pid), None);
    // The grandchild `sleep` got the group kill: gone, or at most a zombie
    // waiting for init (it is not our child).
    std::thread::sleep(Duration::from_millis(100));
    match proc_state(gpid) {
        None => {}
        Some((st, ppid)) => {
            assert_eq!(st, 'Z', "grandchild {gpid} still alive in state {st}");
            assert_ne!(ppid as u32, std::process::id());
        }
    }
}

#[test]
fn sigterm_ignored_gets_sigkill_after_grace() {
    let d = tmpdir();
    let s = script(
        d.path(),
        "stubborn.sh",
        "#!/bin/sh\ntrap '' TERM\nsleep 300\n",
    );
    let mut r = ScriptRunner::new(RunnerOptions {
        kill_grace: Duration::from_millis(200),
        parent_death_signal: true,
    });
    let spec = ScriptSpec::new(vec![s.display().to_string()]).timeout(Duration::from_millis(200));
    let t0 = Instant::now();
    let h = r.spawn(&spec, t0).unwrap();
    // A loop that only wakes at the runner's deadlines.
    let f = loop {
        let next = r
            .next_deadline()
            .unwrap_or(Instant::now() + Duration::from_millis(20));
        let now = Instant::now();
        if next > now {
            std::thread::sleep((next - now).min(Duration::from_millis(20)));
        }
        if let Some(f) = r.poll(Instant::now()).into_iter().find(|f| f.handle == h) {
            break f;
        }
        assert!(t0.elapsed() < Duration::from_secs(10));
    };
    assert!(f.timed_out);
    assert_eq!(f.exit, ExitKind::Signaled(libc::SIGKILL));
    assert!(t0.elapsed() >= Duration::from_millis(400));
}

#[test]
fn argv_split_reaches_the_script_and_env_is_minimal() {
    let d = tmpdir();
    let out = d.path().join("args.txt");
    let s = script(
        d.path(),
        "args.sh",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done > {o}\nenv | sort > {o}.env\n",
            o = out.display()
        ),
    );
    let spec = ScriptSpec::from_line(&format!("{} 'two words' x\\ y \"q\"", s.display())).unwrap();
    assert_eq!(spec.mode, ExecMode::Direct);
    let mut r = ScriptRunner::default();
    let h = r.spawn(&spec, Instant::now()).unwrap();
    assert!(wait_for(&mut r, h, Duration::from_secs(10)).success());
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "[two words]\n[x y]\n[q]\n"
    );
    let env = fs::read_to_string(out.with_extension("txt.env")).unwrap();
    let names: Vec<&str> = env.lines().map(|l| l.split('=').next().unwrap()).collect();
    for n in &names {
        assert!(
            ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "PWD", "SHLVL", "_"].contains(n),
            "unexpected variable {n} in script environment:\n{env}"
        );
    }
    assert!(env.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
}

#[test]
fn shell_lines_and_scripts_without_shebang() {
    let d = tmpdir();
    // "</path" lines are run by the shell (file-openable test).
    let mut r = ScriptRunner::default();
    let spec = ScriptSpec::from_line("</dev/null").unwrap();
    assert_eq!(spec.mode, ExecMode::Shell);
    let h = r.spawn(&spec, Instant::now()).unwrap();
    assert!(wait_for(&mut r, h, Duration::from_secs(10)).success());
    let spec = ScriptSpec::from_line(&format!("<{}/missing", d.path().display())).unwrap();
    let h = r.spawn(&spec, Instant::now()).unwrap();
    assert!(!wait_for(&mut r, h, Duration::from_secs(10)).success());

    // A script without #! is detected and run through /bin/sh.
    let out = d.path().join("noshebang.out");
    let s = script(
        d.path(),
        "noshebang",
        &format!("echo ran \"$1\" > {}\n", out.display()),
    );
    let c = check_script_secure(&s.display().to_string(), 0, 0, false);
    assert_eq!(c.mode, Some(ExecMode::Shell));
    assert!(c
        .messages
        .iter()
        .any(|m| m == &format!("Please add a #! shebang to script {}", s.display())));
    let mut spec = ScriptSpec::new(vec![s.display().to_string(), "arg".into()]);
    spec.mode = c.mode.unwrap();
    let h = r.spawn(&spec, Instant::now()).unwrap();
    assert!(wait_for(&mut r, h, Duration::from_secs(10)).success());
    assert_eq!(fs::read_to_string(&out).unwrap(), "ran arg\n");

    // A daemon that did not ask check_script_secure (direct mode): the
    // exec fails with ENOEXEC and the runner falls back to /bin/sh, as
    // keepalived runs such scripts.
    fs::remove_file(&out).unwrap();
    let spec = ScriptSpec::new(vec![s.display().to_string(), "again".into()]);
    assert_eq!(spec.mode, ExecMode::Direct);
    let h = r.spawn(&spec, Instant::now()).unwrap();
    assert!(wait_for(&mut r, h, Duration::from_secs(10)).success());
    assert_eq!(fs::read_to_string(&out).unwrap(), "ran again\n");
}

#[test]
fn runs_as_nobody() {
    if !is_root() {
        eprintln!("SKIP runs_as_nobody: needs root");
        return;
    }
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        eprintln!("SKIP runs_as_nobody: no user nobody");
        return;
    };
    let d = tmpdir();
    let outdir = d.path().join("out");
    fs::create_dir(&outdir).unwrap();
    fs::set_permissions(&outdir, fs::Permissions::from_mode(0o777)).unwrap();
    let out = outdir.join("id.txt");
    let s = script(
        d.path(),
        "id.sh",
        &format!(
            "#!/bin/sh\necho $(id -u) $(id -g) $(id -G) > {}\n",
            out.display()
        ),
    );
    let spec = ScriptSpec::new(vec![s.display().to_string()])
        .user(nobody.uid.as_raw(), nobody.gid.as_raw());
    let mut r = ScriptRunner::default();
    let h = r.spawn(&spec, Instant::now()).unwrap();
    assert!(wait_for(&mut r, h, Duration::from_secs(10)).success());
    let g = nobody.gid.as_raw();
    let u = nobody.uid.as_raw();
    // uid, gid, and no supplementary group but the primary one.
    assert_eq!(fs::read_to_string(&out).unwrap(), format!("{u} {g} {g}\n"));
}

#[test]
fn unsafe_paths_are_refused() {
    let d = tmpdir();
    let open_dir = d.path().join("open");
    fs::create_dir(&open_dir).unwrap();
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let s = script(&open_dir, "n.sh", "#!/bin/sh\nexit 0\n");
    let sp = s.display().to_string();

    // With enable_script_security: disabled, with keepalived's message.
    let c = check_script_secure(&sp, 0, 0, true);
    assert!(c.insecure && c.inhibited && !c.runnable());
    let open_dir_msg = format!("Unsafe permissions found for script '{sp}' - disabling.");
    assert!(c.messages.contains(&open_dir_msg), "{:?}", c.messages);

    // Without it: reported, still runnable.
    let c = check_script_secure(&sp, 0, 0, false);
    assert!(c.insecure && !c.inhibited && c.runnable());
    assert!(c
        .messages
        .contains(&format!("Unsafe permissions found for script '{sp}'.")));

    // A group/world-writable script file in a safe directory.
    let w = script(d.path(), "w.sh", "#!/bin/sh\nexit 0\n");
    fs::set_permissions(&w, fs::Permissions::from_mode(0o757)).unwrap();
    assert!(check_script_secure(&w.display().to_string(), 0, 0, true).inhibited);

    // Not executable.
    let nx = d.path().join("nx.sh");
    fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o644)
        .open(&nx)
        .unwrap();
    let c = check_script_secure(&nx.display().to_string(), 0, 0, true);
    assert!(!c.runnable());
    assert_eq!(
        c.messages,
        vec![format!(
            "WARNING - script '{}' is not executable for uid:gid 0:0 - disabling.",
            nx.display()
        )]
    );

    // A symlink from a safe place into the unsafe directory is caught too.
    let link = d.path().join("link.sh");
    std::os::unix::fs::symlink(&s, &link).unwrap();
    let c = check_script_secure(&link.display().to_string(), 0, 0, true);
    assert!(c.inhibited, "{:?}", c.messages);

    if is_root() {
        // Root-owned file in root-owned 0755 dirs under sticky /tmp: safe.
        let ok = script(d.path(), "ok.sh", "#!/bin/sh\nexit 0\n");
        let c = check_script_secure(&ok.display().to_string(), 0, 0, true);
        assert!(c.runnable() && !c.insecure, "{:?}", c.messages);
        assert!(c.messages.is_empty(), "{:?}", c.messages);
    }
}

#[test]
fn notify_queue_runs_in_event_order() {
    let d = tmpdir();
    let log = d.path().join("events.log");
    let body = format!(
        "#!/bin/sh\necho \"$1 start\" >> {l}\nsleep 0.1\necho \"$1 end\" >> {l}\n",
        l = log.display()
    );
    let s = script(d.path(), "state.sh", &body);
    let g = script(
        d.path(),
        "generic.sh",
        &format!("#!/bin/sh\necho \"generic $*\" >> {}\n", log.display()),
    );
    let sp = s.display().to_string();
    let scripts = NotifyScripts {
        master: Some(ScriptSpec::from_line(&format!("{sp} master")).unwrap()),
        backup: Some(ScriptSpec::from_line(&format!("{sp} backup")).unwrap()),
        fault: Some(ScriptSpec::from_line(&format!("{sp} fault")).unwrap()),
        generic: Some(ScriptSpec::new(vec![g.display().to_string()])),
        ..Default::default()
    };
    let mut q = NotifyQueues::new(RunnerOptions::default(), Some(Duration::from_secs(10)));
    let now = Instant::now();
    let mut seqs = Vec::new();
    for (st, prio) in [
        (NotifyState::Master, 100),
        (NotifyState::Backup, 90),
        (NotifyState::Fault, 0),
        (NotifyState::Master, 100),
    ] {
        seqs.extend(q.enqueue(
            "VI_1",
            scripts.for_event(NotifyKind::Instance, "VI_1", st, prio),
            now,
        ));
    }
    assert_eq!(seqs.len(), 8);
    assert_eq!(q.pending("VI_1"), 8);
    let mut done = Vec::new();
    let end = Instant::now() + Duration::from_secs(20);
    while q.total_pending() > 0 {
        done.extend(q.poll(Instant::now()));
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(5));
    }
    let got: Vec<u64> = done.iter().map(|d| d.seq).collect();
    assert_eq!(got, seqs);
    assert!(done
        .iter()
        .all(|d| matches!(&d.outcome, Outcome::Finished(f) if f.success())));
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "master start\nmaster end\ngeneric INSTANCE VI_1 MASTER 100\n\
         backup start\nbackup end\ngeneric INSTANCE VI_1 BACKUP 90\n\
         fault start\nfault end\ngeneric INSTANCE VI_1 FAULT 0\n\
         master start\nmaster end\ngeneric INSTANCE VI_1 MASTER 100\n"
    );
}

#[test]
fn notify_queue_timeout_does_not_block_the_queue() {
    let d = tmpdir();
    let log = d.path().join("t.log");
    let hang = script(d.path(), "hang.sh", "#!/bin/sh\nsleep 300\n");
    let after = script(
        d.path(),
        "after.sh",
        &format!("#!/bin/sh\necho after >> {}\n", log.display()),
    );
    let mut q = NotifyQueues::new(
        RunnerOptions {
            kill_grace: Duration::from_millis(100),
            parent_death_signal: true,
        },
        Some(Duration::from_millis(200)),
    );
    let now = Instant::now();
    q.enqueue(
        "G",
        vec![
            ScriptSpec::new(vec![hang.display().to_string()]),
            ScriptSpec::new(vec![after.display().to_string()]),
        ],
        now,
    );
    let mut done = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    while q.total_pending() > 0 {
        done.extend(q.poll(Instant::now()));
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(matches!(&done[0].outcome, Outcome::Finished(f) if f.timed_out));
    assert!(matches!(&done[1].outcome, Outcome::Finished(f) if f.success()));
    assert_eq!(fs::read_to_string(&log).unwrap(), "after\n");
}

#[test]
fn group_events_report_priority_zero() {
    let scripts = NotifyScripts {
        generic: Some(ScriptSpec::from_line("/bin/n.sh extra").unwrap()),
        ..Default::default()
    };
    let v = scripts.for_event(NotifyKind::Group, "G1", NotifyState::Backup, 150);
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].argv,
        vec!["/bin/n.sh", "extra", "GROUP", "G1", "BACKUP", "0"]
    );
    // Priority-change events go to the FIFO only.
    assert!(scripts
        .for_event(
            NotifyKind::Instance,
            "VI_1",
            NotifyState::MasterPriority,
            100
        )
        .is_empty());
}

#[test]
fn fifo_lines_and_full_pipe() {
    let d = tmpdir();
    let path = d.path().join("notify.fifo");
    let mut f = NotifyFifo::open(&path).unwrap();
    assert!(f
        .notify(NotifyKind::Instance, "VI_1", NotifyState::Master, 100)
        .unwrap());
    assert!(f
        .notify(NotifyKind::Group, "G1", NotifyState::Backup, 0)
        .unwrap());
    assert!(f
        .write_line(&fifo_line(
            NotifyKind::Instance,
            "VI_1",
            NotifyState::MasterPriority,
            90
        ))
        .unwrap());
    let mut reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = reader.read(&mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        "INSTANCE \"VI_1\" MASTER 100\nGROUP \"G1\" BACKUP 0\nINSTANCE \"VI_1\" MASTER_PRIORITY 90\n"
    );
    drop(reader);
    // Nobody reads: the pipe fills, lines are dropped, nothing blocks.
    let t0 = Instant::now();
    let mut dropped = 0;
    for _ in 0..10_000 {
        if !f
            .notify(NotifyKind::Instance, "VI_1", NotifyState::Backup, 90)
            .unwrap()
        {
            dropped += 1;
        }
    }
    assert!(dropped > 0);
    assert_eq!(f.dropped, dropped);
    assert!(t0.elapsed() < Duration::from_secs(2));
    drop(f);
    // We created it, so we removed it.
    assert!(!path.exists());

    // A regular file in the way is refused.
    let reg = d.path().join("regular");
    fs::write(&reg, "").unwrap();
    assert!(NotifyFifo::open(&reg).is_err());
}

#[test]
fn statuses_reaped_elsewhere_are_accepted() {
    let d = tmpdir();
    let s = script(d.path(), "e.sh", "#!/bin/sh\nexit 7\n");
    let mut r = ScriptRunner::default();
    let h = r
        .spawn(
            &ScriptSpec::new(vec![s.display().to_string()]),
            Instant::now(),
        )
        .unwrap();
    let pid = r.pid(h).unwrap() as i32;
    // Someone else's waitpid(pid) (as a loop using waitpid(-1) would).
    let st = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
    assert_eq!(
        st,
        nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 7)
    );
    assert!(r
        .child_exited(pid + 100_000, ExitKind::Exited(7), Instant::now())
        .is_none());
    let f = r
        .child_exited(pid, ExitKind::Exited(7), Instant::now())
        .unwrap();
    assert_eq!(
        (f.handle, f.exit, f.timed_out),
        (h, ExitKind::Exited(7), false)
    );
    assert_eq!(r.running(), 0);
    assert!(r.poll(Instant::now()).is_empty());
}

#[test]
fn fifo_created_for_a_user() {
    if !is_root() {
        eprintln!("SKIP fifo ownership: needs root");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let d = tmpdir();
    let path = d.path().join("owned.fifo");
    let f = NotifyFifo::open_owned(&path, Some((65534, 65534))).unwrap();
    let m = fs::metadata(&path).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (65534, 65534, 0o644));
    drop(f);
    assert!(!path.exists());
}

#[test]
fn scripts_start_with_no_blocked_or_ignored_signal() {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
    // As in a daemon child: signals blocked for the signalfd, SIGPIPE
    // ignored (the Rust runtime does that). The script must see neither.
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGUSR1);
    set.add(Signal::SIGCHLD);
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).unwrap();
    let d = tmpdir();
    let out = d.path().join("sig.txt");
    let s = script(
        d.path(),
        "sig.sh",
        &format!(
            "#!/bin/sh\ngrep -E '^Sig(Blk|Ign):' /proc/self/status > {}\n",
            out.display()
        ),
    );
    let mut r = ScriptRunner::default();
    let h = r
        .spawn(
            &ScriptSpec::new(vec![s.display().to_string()]),
            Instant::now(),
        )
        .unwrap();
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
    assert!(wait_for(&mut r, h, Duration::from_secs(10)).success());
    let text = fs::read_to_string(&out).unwrap();
    // grep runs as the script's child: it inherits what the script got.
    assert_eq!(
        text, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
        "{text}"
    );
}
