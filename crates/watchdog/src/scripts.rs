//! `global_defs { startup_script … shutdown_script … }`: run by the parent
//! before the children start and after they stopped, each bounded by its
//! timeout (`startup_script_timeout`, `shutdown_script_timeout`, 10 s by
//! default; upstream `core/main.c` `run_startup_script` / `sigend`). The
//! parent waits for them: nothing else is running at those moments.

use config::{Config, RunAs, Script};
use notify::{ScriptRunner, ScriptSpec};
use std::time::{Duration, Instant};

/// Which script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `startup_script`.
    Startup,
    /// `shutdown_script`.
    Shutdown,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Startup => "Startup",
            Phase::Shutdown => "Shutdown",
        }
    }
}

/// uid/gid for a script: its own `USER [GROUP]`, else `script_user`, else root.
fn identity(script: &Script, default: Option<&RunAs>) -> Result<(u32, u32), String> {
    let (user, group) = match (&script.user, default) {
        (Some(u), _) => (Some(u.clone()), script.group.clone()),
        (None, Some(r)) => (Some(r.user.clone()), r.group.clone()),
        (None, None) => (None, None),
    };
    let Some(user) = user else { return Ok((0, 0)) };
    let u = nix::unistd::User::from_name(&user)
        .map_err(|e| format!("cannot look up user {user}: {e}"))?
        .ok_or_else(|| format!("unknown user {user}"))?;
    let gid = match group {
        Some(g) => {
            nix::unistd::Group::from_name(&g)
                .map_err(|e| format!("cannot look up group {g}: {e}"))?
                .ok_or_else(|| format!("unknown group {g}"))?
                .gid
        }
        None => u.gid,
    };
    Ok((u.uid.as_raw(), gid.as_raw()))
}

/// Run the configured script of `phase`, if any, and wait for it (bounded by
/// its timeout plus the runner's kill grace). Returns whether it succeeded
/// (`true` when there is none).
pub fn run(config: &Config, phase: Phase) -> bool {
    let g = &config.global;
    let (script, timeout) = match phase {
        Phase::Startup => (&g.startup_script, g.startup_script_timeout.as_duration()),
        Phase::Shutdown => (&g.shutdown_script, g.shutdown_script_timeout.as_duration()),
    };
    let Some(script) = script else { return true };
    let (uid, gid) = match identity(script, g.script_user.as_ref()) {
        Ok(ids) => ids,
        Err(e) => {
            log::error!(
                "{} script {}: {e} - not run",
                phase.name(),
                script.argv.join(" ")
            );
            return false;
        }
    };
    let spec = ScriptSpec::new(script.argv.clone())
        .user(uid, gid)
        .timeout(timeout);
    let mut runner = ScriptRunner::default();
    let started = Instant::now();
    let handle = match runner.spawn(&spec, started) {
        Ok(h) => h,
        Err(e) => {
            log::error!("{} script {}: {e}", phase.name(), spec.display());
            return false;
        }
    };
    log::info!(
        "Running {} script {}",
        phase.name().to_lowercase(),
        spec.display()
    );
    // Bounded: timeout, then SIGTERM, 2 s, SIGKILL, and a last margin.
    let limit = started + timeout + Duration::from_secs(5);
    loop {
        let now = Instant::now();
        if let Some(f) = runner.poll(now).into_iter().find(|f| f.handle == handle) {
            if f.timed_out {
                log::info!("{} script {} timed out", phase.name(), spec.display());
            } else if f.success() {
                log::info!("{} script {} completed", phase.name(), spec.display());
            } else {
                log::info!(
                    "{} script {} failed: {}",
                    phase.name(),
                    spec.display(),
                    f.exit
                );
            }
            return f.success();
        }
        if now > limit {
            runner.kill_all();
            log::info!(
                "{} script {} did not terminate - killed",
                phase.name(),
                spec.display()
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_scripts(start: &[&str], stop_timeout: u64, stop: &[&str]) -> Config {
        let mut c = Config::default();
        let s = |v: &[&str]| Script {
            argv: v.iter().map(|s| s.to_string()).collect(),
            user: None,
            group: None,
        };
        c.global.startup_script = Some(s(start));
        c.global.shutdown_script = Some(s(stop));
        c.global.shutdown_script_timeout = config::Micros::from_secs(stop_timeout);
        c
    }

    #[test]
    fn runs_scripts_and_bounds_them() {
        let d = std::env::temp_dir().join(format!("ka-wd-script-{}", std::process::id()));
        let mark = d.to_string_lossy().into_owned();
        let touch = format!("echo started > {mark}");
        let c = with_scripts(&["/bin/sh", "-c", &touch], 1, &["/bin/sleep", "30"]);
        assert!(run(&c, Phase::Startup));
        assert_eq!(std::fs::read_to_string(&d).unwrap(), "started\n");
        let _ = std::fs::remove_file(&d);
        let t = Instant::now();
        assert!(!run(&c, Phase::Shutdown), "timed out = failure");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "bounded by its 1 s timeout: {:?}",
            t.elapsed()
        );
        assert!(
            run(&Config::default(), Phase::Startup),
            "no script: nothing to do"
        );
    }

    #[test]
    fn unknown_user_is_not_run() {
        let mut c = with_scripts(&["/bin/true"], 1, &["/bin/true"]);
        if let Some(s) = c.global.startup_script.as_mut() {
            s.user = Some("ka-no-such-user".into());
        }
        assert!(!run(&c, Phase::Startup));
    }
}
