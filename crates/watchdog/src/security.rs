//! Script security (`enable_script_security`, `script_user`), applied once
//! in the parent to the typed configuration the children receive.
//!
//! keepalived 2.2.7 checks every script after parsing (`check_vrrp_script_security`
//! in `vrrp/vrrp.c`, `check_check_script_security` in `check/check_data.c`,
//! `check_start_stop_script_secure` in `core/main.c`) and disables what
//! must not run:
//! * a `vrrp_script` that is inhibited (insecure with security on, or a
//!   wrong file type), not found, or not executable is removed, and so is
//!   every `track_script` entry naming it (the instance then runs as if it
//!   did not track it);
//! * a `MISC_CHECK` in that state is removed from its real server;
//! * a notify/quorum/FIFO/start/shutdown script in that state is dropped;
//! * with script security off, any script found at all makes it report
//!   "SECURITY VIOLATION - ..." (a `CONFIG_SECURITY_ERROR`: `-t` exits 6).
//!
//! Scripts without their own user run as `script_user`, else as
//! `keepalived_script` when that user exists, else as the daemon. With
//! security on and neither, 2.2.7 removes such scripts ("Unable to set
//! default user keepalived_script for script"). The identity chosen is
//! written into each script, so the children run it as checked.
//!
//! Here this is done by [`apply`] on a `Config`, so the children need no
//! change; the lines keep keepalived's wording.

use config::{Config, RunAs, Script};
use notify::{check_script_secure, ExecMode, ScriptCheck};
use std::collections::HashMap;

/// The default script user of keepalived.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Which parts of the configuration to check (what the daemon runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// `startup_script` (at start only, as upstream).
    pub startup: bool,
    /// `shutdown_script`.
    pub shutdown: bool,
    /// VRRP scripts (when a VRRP child runs).
    pub vrrp: bool,
    /// Checker scripts (when a checker child runs).
    pub checker: bool,
}

impl Scope {
    /// Everything (`-t`, and a start with both children).
    pub const ALL: Scope = Scope {
        startup: true,
        shutdown: true,
        vrrp: true,
        checker: true,
    };
}

/// One line produced by the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// keepalived reports it through `report_config_error` (printed by
    /// `-t`); otherwise it is only a log line.
    pub config_error: bool,
    /// The text, keepalived's wording.
    pub text: String,
}

/// What [`apply`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every line, in keepalived's order.
    pub lines: Vec<Line>,
    /// A `CONFIG_SECURITY_ERROR` was reported (scripts run without script
    /// security): `-t` exits 6.
    pub violation: bool,
    /// What was disabled (for tests and the dump): `kind name`.
    pub disabled: Vec<String>,
}

impl Report {
    fn error(&mut self, text: String) {
        log::error!("{text}");
        self.lines.push(Line {
            config_error: true,
            text,
        });
    }

    fn info(&mut self, text: String) {
        log::info!("{text}");
        self.lines.push(Line {
            config_error: false,
            text,
        });
    }

    /// Lines keepalived reports as configuration errors (what `-t` prints).
    pub fn config_errors(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .filter(|l| l.config_error)
            .map(|l| l.text.as_str())
    }
}

/// keepalived's `SC_*` flags of one check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    system: bool,
    is_script: bool,
    not_found: bool,
    executable: bool,
    insecure: bool,
    inhibit: bool,
}

impl Flags {
    fn of(c: &ScriptCheck) -> Flags {
        let system = c.mode == Some(ExecMode::Shell) && c.path.is_none();
        Flags {
            system,
            is_script: c.found,
            not_found: !system && !c.found && !c.inhibited,
            executable: c.executable,
            insecure: c.insecure,
            inhibit: c.inhibited,
        }
    }
}

/// Accumulated flags of one group of scripts (one `script_flags`).
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    is_script: bool,
    insecure: bool,
}

impl Acc {
    fn add(&mut self, f: Flags) {
        self.is_script |= f.is_script;
        self.insecure |= f.insecure;
    }
}

/// The default identity for scripts without their own user.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Default_ {
    /// A named user (`script_user`, or `keepalived_script`).
    User(RunAs, u32, u32),
    /// The daemon's own identity.
    Ours,
    /// None could be set: scripts without a user are removed.
    Failed,
}

/// Resolves user names (injectable for tests).
pub trait Users {
    /// `(uid, gid)` of `user` (primary group, or `group`), None if unknown.
    fn lookup(&self, user: &str, group: Option<&str>) -> Option<(u32, u32)>;
    /// The daemon's effective uid and gid.
    fn ours(&self) -> (u32, u32);
}

/// The system's user database.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemUsers;

impl Users for SystemUsers {
    fn lookup(&self, user: &str, group: Option<&str>) -> Option<(u32, u32)> {
        let u = nix::unistd::User::from_name(user).ok().flatten()?;
        let gid = match group {
            Some(g) => nix::unistd::Group::from_name(g).ok().flatten()?.gid,
            None => u.gid,
        };
        Some((u.uid.as_raw(), gid.as_raw()))
    }

    fn ours(&self) -> (u32, u32) {
        (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    }
}

/// (user, group) as written in the configuration.
type UserKey = (String, Option<String>);

struct Ctx<'a> {
    users: &'a dyn Users,
    security: bool,
    default: Option<Default_>,
    report: Report,
    /// Results of `check_script_secure` per (path, uid, gid) in this pass:
    /// 20,000 real servers running the same MISC_CHECK script cost one
    /// set of `stat` calls, not 20,000 (the messages are repeated as if
    /// checked again).
    checked: HashMap<(String, u32, u32), (Flags, Vec<String>)>,
    /// `Users::lookup` answers in this pass.
    looked_up: HashMap<UserKey, Option<(u32, u32)>>,
}

/// Where a script's identity comes from.
enum Who {
    Own(RunAs),
    Default,
}

impl Ctx<'_> {
    /// keepalived's `get_default_script_user` (resolved on first use).
    fn default_user(&mut self, script_user: Option<&RunAs>) -> Default_ {
        if let Some(d) = &self.default {
            return d.clone();
        }
        let d = match script_user {
            Some(r) => match self.users.lookup(&r.user, r.group.as_deref()) {
                Some((u, g)) => Default_::User(r.clone(), u, g),
                None => Default_::Failed,
            },
            None => match self.users.lookup(DEFAULT_SCRIPT_USER, None) {
                Some((u, g)) => Default_::User(
                    RunAs {
                        user: DEFAULT_SCRIPT_USER.into(),
                        group: None,
                    },
                    u,
                    g,
                ),
                None if self.security => {
                    self.report.error(format!(
                        "Unable to set default user {DEFAULT_SCRIPT_USER} for script"
                    ));
                    Default_::Failed
                }
                None => Default_::Ours,
            },
        };
        self.default = Some(d.clone());
        d
    }

    /// The uid/gid a script runs as, and the explicit user to write into
    /// the configuration (None: the daemon's own identity).
    /// `Err(())`: no identity could be set (the caller removes the script).
    fn identity(
        &mut self,
        who: Who,
        script_user: Option<&RunAs>,
    ) -> Result<(u32, u32, Option<RunAs>), Who> {
        match who {
            Who::Own(r) => match self.lookup(&r.user, r.group.as_deref()) {
                Some((u, g)) => Ok((u, g, Some(r))),
                None => Err(Who::Own(r)),
            },
            Who::Default => match self.default_user(script_user) {
                Default_::User(r, u, g) => Ok((u, g, Some(r))),
                Default_::Ours => {
                    let (u, g) = self.users.ours();
                    Ok((u, g, None))
                }
                Default_::Failed => Err(Who::Default),
            },
        }
    }

    /// `Users::lookup`, once per (user, group) in a pass.
    fn lookup(&mut self, user: &str, group: Option<&str>) -> Option<(u32, u32)> {
        let key = (user.to_string(), group.map(str::to_string));
        if let Some(v) = self.looked_up.get(&key) {
            return *v;
        }
        let v = self.users.lookup(user, group);
        self.looked_up.insert(key, v);
        v
    }

    fn check(&mut self, argv0: &str, uid: u32, gid: u32) -> Flags {
        let key = (argv0.to_string(), uid, gid);
        let (f, messages) = match self.checked.get(&key) {
            Some((f, m)) => {
                // check_script_secure logs as it goes (info): say it again
                // for this script, as a fresh check would.
                for line in m {
                    log::info!("{line}");
                }
                (*f, m.clone())
            }
            None => {
                let mut c = check_script_secure(argv0, uid, gid, self.security);
                let f = Flags::of(&c);
                let m = std::mem::take(&mut c.messages);
                self.checked.insert(key, (f, m.clone()));
                (f, m)
            }
        };
        // Already logged by check_script_secure.
        for text in messages {
            self.report.lines.push(Line {
                config_error: false,
                text,
            });
        }
        f
    }
}

fn own(s: &Script) -> Who {
    match &s.user {
        Some(u) => Who::Own(RunAs {
            user: u.clone(),
            group: s.group.clone(),
        }),
        None => Who::Default,
    }
}

fn set_user(s: &mut Script, r: Option<RunAs>) {
    if let Some(r) = r {
        s.user = Some(r.user);
        s.group = r.group;
    }
}

fn cmd_str(s: &Script) -> String {
    s.argv.join(" ")
}

/// keepalived's `check_notify_script_secure` on an optional script: drops
/// it when it must not run. `kind` names it in the "ignoring" lines.
fn notify_script(
    ctx: &mut Ctx<'_>,
    slot: &mut Option<Script>,
    kind: &str,
    script_user: Option<&RunAs>,
    acc: &mut Acc,
) {
    optional_script(ctx, slot, kind, script_user, acc, false);
}

/// The check shared by notify-style and start/stop scripts. `start_stop`:
/// keepalived's `check_start_stop_script_secure`, where SC_SYSTEM lines may
/// run and any identity failure is reported as the default user's.
fn optional_script(
    ctx: &mut Ctx<'_>,
    slot: &mut Option<Script>,
    kind: &str,
    script_user: Option<&RunAs>,
    acc: &mut Acc,
    start_stop: bool,
) {
    let Some(s) = slot.as_mut() else { return };
    let argv0 = s.argv.first().cloned().unwrap_or_default();
    let (uid, gid, who) = match ctx.identity(own(s), script_user) {
        Ok(x) => x,
        Err(e) => {
            ctx.report.info(match e {
                Who::Own(_) if !start_stop => {
                    format!("Invalid user/group for {kind} script {argv0} - ignoring")
                }
                _ => format!("Failed to set default user for {kind} script {argv0} - ignoring"),
            });
            ctx.report.disabled.push(format!("{kind} {argv0}"));
            *slot = None;
            return;
        }
    };
    let f = ctx.check(&argv0, uid, gid);
    acc.add(f);
    if f.inhibit || f.not_found || !(f.executable || (start_stop && f.system)) {
        ctx.report.disabled.push(format!("{kind} {argv0}"));
        *slot = None;
    } else {
        set_user(s, who);
    }
}

/// Check every script `scope` covers, disable what keepalived 2.2.7
/// disables, write each script's identity into it; returns the lines.
pub fn apply(config: &mut Config, scope: Scope, users: &dyn Users) -> Report {
    let security = config.global.enable_script_security;
    let script_user = config.global.script_user.clone();
    let su = script_user.as_ref();
    let mut ctx = Ctx {
        users,
        security,
        default: None,
        report: Report::default(),
        checked: HashMap::new(),
        looked_up: HashMap::new(),
    };

    // core/main.c: startup/shutdown scripts first.
    let mut acc = Acc::default();
    let mut any = false;
    for (on, slot, kind) in [
        (scope.startup, &mut config.global.startup_script, "startup"),
        (
            scope.shutdown,
            &mut config.global.shutdown_script,
            "shutdown",
        ),
    ] {
        if !on || slot.is_none() {
            continue;
        }
        any = true;
        optional_script(&mut ctx, slot, kind, su, &mut acc, true);
    }
    if any && !security && acc.is_script {
        ctx.report.violation = true;
        ctx.report.error(format!(
            "SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled.{}",
            if acc.insecure { " There are insecure scripts." } else { "" }
        ));
    }

    if scope.checker && !config.virtual_servers.is_empty() {
        check_scripts(&mut ctx, config, su);
    }
    if scope.vrrp && !config.vrrp_instances.is_empty() {
        vrrp_scripts(&mut ctx, config, su);
    }
    ctx.report
}

/// `check_check_script_security`: MISC_CHECKs, then per virtual server
/// quorum_up/down and per real server notify_up/down, then the FIFO scripts.
fn check_scripts(ctx: &mut Ctx<'_>, config: &mut Config, su: Option<&RunAs>) {
    let mut acc = Acc::default();
    for vs in &mut config.virtual_servers {
        for rs in &mut vs.real_servers {
            if !rs
                .checkers
                .iter()
                .any(|c| matches!(c.kind, config::CheckerKind::Misc(_)))
            {
                continue;
            }
            let mut keep = Vec::with_capacity(rs.checkers.len());
            for mut ck in std::mem::take(&mut rs.checkers) {
                let config::CheckerKind::Misc(m) = &mut ck.kind else {
                    keep.push(ck);
                    continue;
                };
                let cmd = cmd_str(&m.script);
                let argv0 = m.script.argv.first().cloned().unwrap_or_default();
                let who = match (&m.user, &m.script.user) {
                    (Some(r), _) => Who::Own(r.clone()),
                    (None, Some(_)) => own(&m.script),
                    (None, None) => Who::Default,
                };
                let (uid, gid, user) = match ctx.identity(who, su) {
                    Ok(x) => x,
                    Err(Who::Own(_)) => {
                        ctx.report.error(format!(
                            "Failed to set uid/gid for misc checker script {cmd} - removing"
                        ));
                        ctx.report.disabled.push(format!("MISC_CHECK {cmd}"));
                        continue;
                    }
                    Err(Who::Default) => {
                        ctx.report.error(format!(
                            "Unable to set default user for misc script {cmd} - removing"
                        ));
                        ctx.report.disabled.push(format!("MISC_CHECK {cmd}"));
                        continue;
                    }
                };
                let f = ctx.check(&argv0, uid, gid);
                acc.add(f);
                let insecure = if f.inhibit {
                    ctx.report
                        .info(format!("Disabling misc script {cmd} due to insecure"));
                    true
                } else if f.not_found {
                    ctx.report.info(format!(
                        "Disabling misc script {cmd} since not found/accessible"
                    ));
                    true
                } else {
                    !(f.executable || f.system)
                };
                if insecure {
                    ctx.report.disabled.push(format!("MISC_CHECK {cmd}"));
                    continue;
                }
                if m.user.is_none() {
                    m.user = user;
                }
                keep.push(ck);
            }
            rs.checkers = keep;
        }
    }
    for vs in &mut config.virtual_servers {
        notify_script(ctx, &mut vs.quorum_up, "quorum_up", su, &mut acc);
        notify_script(ctx, &mut vs.quorum_down, "quorum_down", su, &mut acc);
        for rs in &mut vs.real_servers {
            notify_script(ctx, &mut rs.notify_up, "notify_up", su, &mut acc);
            notify_script(ctx, &mut rs.notify_down, "notify_down", su, &mut acc);
        }
    }
    fifo_script(ctx, &mut config.global.notify_fifo, su, &mut acc);
    fifo_script(ctx, &mut config.global.lvs_notify_fifo, su, &mut acc);
    if !ctx.security && acc.is_script {
        ctx.report.violation = true;
        ctx.report.error(format!(
            "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.{}",
            if acc.insecure { " There are insecure scripts." } else { "" }
        ));
    }
}

fn fifo_script(
    ctx: &mut Ctx<'_>,
    fifo: &mut Option<config::NotifyFifo>,
    su: Option<&RunAs>,
    acc: &mut Acc,
) {
    if let Some(f) = fifo.as_mut() {
        notify_script(ctx, &mut f.script, "notify_fifo", su, acc);
    }
}

/// `check_vrrp_script_security`: vrrp_scripts (removing the insecure ones
/// and every track_script entry naming them), instance and sync group
/// notify scripts, the FIFO scripts.
fn vrrp_scripts(ctx: &mut Ctx<'_>, config: &mut Config, su: Option<&RunAs>) {
    let mut acc = Acc::default();
    let mut removed: Vec<String> = Vec::new();
    // Removed at parse time by 2.2.7: its track_script entries say so.
    let mut unparsed: Vec<String> = Vec::new();
    for vs in &mut config.vrrp_scripts {
        let argv0 = vs.script.argv.first().cloned().unwrap_or_default();
        let who = match (&vs.user, &vs.script.user) {
            (Some(r), _) => Who::Own(r.clone()),
            (None, Some(_)) => own(&vs.script),
            (None, None) => Who::Default,
        };
        let (uid, gid, user) = match ctx.identity(who, su) {
            Ok(x) => x,
            Err(_) => {
                ctx.report.error(format!(
                    "Unable to set default user for vrrp script {} - removing",
                    vs.name
                ));
                removed.push(vs.name.clone());
                unparsed.push(vs.name.clone());
                continue;
            }
        };
        let f = ctx.check(&argv0, uid, gid);
        acc.add(f);
        let insecure = if f.inhibit {
            ctx.report.error(format!(
                "Disabling track script {} due to insecure",
                vs.name
            ));
            true
        } else if f.not_found {
            ctx.report.error(format!(
                "Disabling track script {} since not found/accessible",
                vs.name
            ));
            true
        } else {
            !(f.executable || f.system)
        };
        if insecure {
            removed.push(vs.name.clone());
        } else if vs.user.is_none() && vs.script.user.is_none() {
            set_user(&mut vs.script, user);
        }
    }
    for vi in &config.vrrp_instances {
        for t in vi
            .track_script
            .iter()
            .filter(|t| unparsed.contains(&t.name))
        {
            ctx.report.error(format!(
                "({}) track script {} not found, ignoring...",
                vi.name, t.name
            ));
        }
    }
    for vi in &mut config.vrrp_instances {
        let n = &mut vi.notify;
        notify_script(ctx, &mut n.backup, "notify_backup", su, &mut acc);
        notify_script(ctx, &mut n.master, "notify_master", su, &mut acc);
        notify_script(ctx, &mut n.fault, "notify_fault", su, &mut acc);
        notify_script(ctx, &mut n.stop, "notify_stop", su, &mut acc);
        notify_script(ctx, &mut n.deleted, "notify_deleted", su, &mut acc);
        notify_script(ctx, &mut n.any, "notify", su, &mut acc);
        notify_script(
            ctx,
            &mut n.master_rx_lower_pri,
            "notify_master_rx_lower_pri",
            su,
            &mut acc,
        );
        vi.track_script.retain(|t| !removed.contains(&t.name));
    }
    for sg in &mut config.vrrp_sync_groups {
        let n = &mut sg.notify;
        notify_script(ctx, &mut n.backup, "notify_backup", su, &mut acc);
        notify_script(ctx, &mut n.master, "notify_master", su, &mut acc);
        notify_script(ctx, &mut n.fault, "notify_fault", su, &mut acc);
        notify_script(ctx, &mut n.stop, "notify_stop", su, &mut acc);
        notify_script(ctx, &mut n.any, "notify", su, &mut acc);
        sg.track_script.retain(|t| !removed.contains(&t.name));
    }
    fifo_script(ctx, &mut config.global.notify_fifo, su, &mut acc);
    fifo_script(ctx, &mut config.global.vrrp_notify_fifo, su, &mut acc);
    if !ctx.security && acc.is_script {
        ctx.report.violation = true;
        ctx.report.error(format!(
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled.{}",
            if acc.insecure {
                " There are insecure scripts."
            } else {
                ""
            }
        ));
    }
    for name in &removed {
        ctx.report.disabled.push(format!("vrrp_script {name}"));
    }
    config.vrrp_scripts.retain(|s| !removed.contains(&s.name));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// Users without a `keepalived_script` account; `nobody` is 65534.
    struct Fake {
        with_default: bool,
    }

    impl Users for Fake {
        fn lookup(&self, user: &str, group: Option<&str>) -> Option<(u32, u32)> {
            let uid = match user {
                "root" => 0,
                "nobody" => 65534,
                DEFAULT_SCRIPT_USER if self.with_default => 990,
                _ => return None,
            };
            let gid = match group {
                None => uid,
                Some("root") => 0,
                Some("nogroup") => 65534,
                Some(_) => return None,
            };
            Some((uid, gid))
        }
        fn ours(&self) -> (u32, u32) {
            (0, 0)
        }
    }

    fn script(dir: &Path, rel: &str, mode: u32) -> String {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.conf");
        std::fs::write(&p, text).unwrap();
        config::load(&config::LoadOptions {
            path: p,
            ..Default::default()
        })
        .unwrap_or_else(|f| panic!("{:?}", f.diagnostics))
        .config
    }

    fn as_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    /// A safe script, a world-writable one, one in a world-writable
    /// directory and a missing one, tracked by one instance.
    fn four(dir: &Path, security: bool) -> String {
        let safe = script(dir, "safe.sh", 0o755);
        let ww = script(dir, "ww.sh", 0o777);
        let indir = script(dir, "open/in.sh", 0o755);
        std::fs::set_permissions(dir.join("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let missing = dir.join("missing.sh").to_string_lossy().into_owned();
        format!(
            "global_defs {{\n script_user root\n{}}}\n\
             vrrp_script s_safe {{\n script \"{safe}\"\n}}\n\
             vrrp_script s_ww {{\n script \"{ww}\"\n}}\n\
             vrrp_script s_dir {{\n script \"{indir}\"\n}}\n\
             vrrp_script s_missing {{\n script \"{missing}\"\n}}\n\
             vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n\
             virtual_ipaddress {{\n 192.0.2.1\n }}\n\
             track_script {{\n s_safe\n s_ww\n s_dir\n s_missing\n }}\n\
             notify_master \"{ww} master\"\n notify \"{safe}\"\n}}\n",
            if security {
                " enable_script_security\n"
            } else {
                ""
            }
        )
    }

    #[test]
    fn security_on_disables_insecure_and_missing_track_scripts() {
        if !as_root() {
            eprintln!("skipped: the permission checks need root-owned files");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(&four(dir.path(), true));
        let r = apply(
            &mut cfg,
            Scope::ALL,
            &Fake {
                with_default: false,
            },
        );
        assert!(!r.violation);
        let errors: Vec<&str> = r.config_errors().collect();
        assert_eq!(
            errors,
            [
                "Disabling track script s_ww due to insecure",
                "Disabling track script s_dir due to insecure",
                "Disabling track script s_missing since not found/accessible",
            ]
        );
        let names: Vec<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s_safe"]);
        let tracked: Vec<&str> = cfg.vrrp_instances[0]
            .track_script
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(tracked, ["s_safe"]);
        let n = &cfg.vrrp_instances[0].notify;
        assert!(n.master.is_none(), "insecure notify_master dropped");
        assert_eq!(n.any.as_ref().unwrap().user.as_deref(), Some("root"));
        let ww = dir.path().join("ww.sh");
        assert!(r.lines.iter().any(|l| l.text
            == format!(
                "Unsafe permissions found for script '{}' - disabling.",
                ww.display()
            )));
    }

    #[test]
    fn security_off_reports_a_violation_and_keeps_scripts() {
        if !as_root() {
            eprintln!("skipped: the permission checks need root-owned files");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(&four(dir.path(), false));
        let r = apply(
            &mut cfg,
            Scope::ALL,
            &Fake {
                with_default: false,
            },
        );
        assert!(r.violation);
        let errors: Vec<&str> = r.config_errors().collect();
        assert_eq!(
            errors,
            [
                "Disabling track script s_missing since not found/accessible",
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.",
            ]
        );
        assert_eq!(cfg.vrrp_scripts.len(), 3);
        assert!(cfg.vrrp_instances[0].notify.master.is_some());
    }

    /// Start/stop scripts: a world-writable one is dropped when security is
    /// on; with security off both are kept and the start/shutdown violation
    /// line names the insecure one's presence.
    #[test]
    fn start_stop_scripts_follow_the_same_rules() {
        if !as_root() {
            eprintln!("skipped: the permission checks need root-owned files");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let safe = script(dir.path(), "safe.sh", 0o755);
        let ww = script(dir.path(), "ww.sh", 0o777);
        let text = |security: &str| {
            format!(
                "global_defs {{\n script_user root\n{security} startup_script \"{safe}\"\n\
                 shutdown_script \"{ww}\"\n}}\n"
            )
        };
        let users = Fake {
            with_default: false,
        };
        let mut on = config(&text(" enable_script_security\n"));
        let r = apply(&mut on, Scope::ALL, &users);
        assert!(!r.violation);
        assert_eq!(
            on.global.startup_script.as_ref().unwrap().user.as_deref(),
            Some("root")
        );
        assert!(
            on.global.shutdown_script.is_none(),
            "insecure shutdown dropped"
        );
        assert!(r.disabled.iter().any(|d| d == &format!("shutdown {ww}")));

        let mut off = config(&text(""));
        let r = apply(&mut off, Scope::ALL, &users);
        assert!(r.violation);
        assert!(off.global.startup_script.is_some() && off.global.shutdown_script.is_some());
        let errors: Vec<&str> = r.config_errors().collect();
        assert_eq!(
            errors,
            ["SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled. There are insecure scripts."]
        );
    }

    #[test]
    fn without_a_default_user_security_removes_scripts() {
        let dir = tempfile::tempdir().unwrap();
        let safe = script(dir.path(), "safe.sh", 0o755);
        let text = format!(
            "global_defs {{\n enable_script_security\n}}\n\
             vrrp_script s1 {{\n script \"{safe}\"\n}}\n\
             vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n\
             virtual_ipaddress {{\n 192.0.2.1\n }}\n track_script {{\n s1\n }}\n\
             notify \"{safe}\" nobody\n}}\n"
        );
        let mut cfg = config(&text);
        let r = apply(
            &mut cfg,
            Scope::ALL,
            &Fake {
                with_default: false,
            },
        );
        let errors: Vec<&str> = r.config_errors().collect();
        assert_eq!(
            errors,
            [
                "Unable to set default user keepalived_script for script",
                "Unable to set default user for vrrp script s1 - removing",
                "(VI_1) track script s1 not found, ignoring...",
            ]
        );
        assert!(cfg.vrrp_scripts.is_empty());
        assert!(cfg.vrrp_instances[0].track_script.is_empty());
        // A script with its own user is still checked and kept.
        assert!(cfg.vrrp_instances[0].notify.any.is_some());

        // With a keepalived_script account, it becomes the scripts' user.
        let mut cfg = config(&text);
        let r = apply(&mut cfg, Scope::ALL, &Fake { with_default: true });
        assert_eq!(r.config_errors().count(), 0, "{:?}", r.lines);
        assert_eq!(
            cfg.vrrp_scripts[0].script.user.as_deref(),
            Some(DEFAULT_SCRIPT_USER)
        );
    }

    #[test]
    fn misc_check_and_checker_scripts() {
        if !as_root() {
            eprintln!("skipped: the permission checks need root-owned files");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let safe = script(dir.path(), "safe.sh", 0o755);
        let ww = script(dir.path(), "ww.sh", 0o777);
        let text = format!(
            "global_defs {{\n script_user root\n enable_script_security\n}}\n\
             virtual_server 192.0.2.10 80 {{\n delay_loop 5\n lb_kind NAT\n protocol TCP\n\
             quorum_up \"{ww} up\"\n\
             real_server 192.0.2.20 80 {{\n notify_up \"{safe}\"\n\
             MISC_CHECK {{\n misc_path \"{ww} x\"\n }}\n TCP_CHECK {{\n }}\n }}\n\
             real_server 192.0.2.21 80 {{\n MISC_CHECK {{\n misc_path \"{safe}\"\n }}\n }}\n}}\n"
        );
        let mut cfg = config(&text);
        let r = apply(
            &mut cfg,
            Scope::ALL,
            &Fake {
                with_default: false,
            },
        );
        assert!(!r.violation);
        let vs = &cfg.virtual_servers[0];
        assert!(vs.quorum_up.is_none());
        assert_eq!(
            vs.real_servers[0].checkers.len(),
            1,
            "MISC_CHECK removed, TCP kept"
        );
        assert!(matches!(
            vs.real_servers[0].checkers[0].kind,
            config::CheckerKind::Tcp
        ));
        assert!(vs.real_servers[0].notify_up.is_some());
        match &vs.real_servers[1].checkers[0].kind {
            config::CheckerKind::Misc(m) => {
                assert_eq!(m.user.as_ref().map(|u| u.user.as_str()), Some("root"))
            }
            other => panic!("{other:?}"),
        }
        assert!(r
            .lines
            .iter()
            .any(|l| l.text == format!("Disabling misc script {ww} x due to insecure")));
        // Scope: no checker child, nothing checked there.
        let mut cfg = config(&text);
        let r = apply(
            &mut cfg,
            Scope {
                checker: false,
                ..Scope::ALL
            },
            &Fake {
                with_default: false,
            },
        );
        assert!(r.lines.is_empty());
        assert!(cfg.virtual_servers[0].quorum_up.is_some());
    }

    /// Counts `lookup` calls.
    struct Counting(std::cell::Cell<usize>);

    impl Users for Counting {
        fn lookup(&self, user: &str, group: Option<&str>) -> Option<(u32, u32)> {
            self.0.set(self.0.get() + 1);
            Fake {
                with_default: false,
            }
            .lookup(user, group)
        }
        fn ours(&self) -> (u32, u32) {
            (0, 0)
        }
    }

    #[test]
    fn one_script_on_many_real_servers_is_checked_once_per_pass() {
        if !as_root() {
            eprintln!("skipped: the permission checks need root-owned files");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ww = script(dir.path(), "ww.sh", 0o777);
        let safe = script(dir.path(), "safe.sh", 0o755);
        let mut text = String::from(
            "global_defs {\n enable_script_security\n}\n\
             virtual_server 192.0.2.10 80 {\n lb_kind NAT\n protocol TCP\n lb_algo rr\n",
        );
        for i in 0..50 {
            text.push_str(&format!(
                " real_server 192.0.2.{} 80 {{\n MISC_CHECK {{\n misc_path \"{ww} {i}\"\n user root\n }}\n\
                 MISC_CHECK {{\n misc_path \"{safe}\"\n user root\n }}\n TCP_CHECK {{\n }}\n }}\n",
                100 + i
            ));
        }
        text.push_str("}\n");
        let mut cfg = config(&text);
        let users = Counting(std::cell::Cell::new(0));
        let r = apply(&mut cfg, Scope::ALL, &users);
        assert_eq!(users.0.get(), 1, "one lookup of root for 100 scripts");
        // Every real server lost its insecure script and kept the others,
        // each disabling said for its own script.
        for (i, rs) in cfg.virtual_servers[0].real_servers.iter().enumerate() {
            assert_eq!(rs.checkers.len(), 2, "real server {i}: {:?}", r.lines);
            assert!(r
                .lines
                .iter()
                .any(|l| l.text == format!("Disabling misc script {ww} {i} due to insecure")));
        }
        let cached = r
            .lines
            .iter()
            .filter(|l| l.text.contains("ww.sh") && !l.text.starts_with("Disabling"))
            .count();
        assert_eq!(
            cached % 50,
            0,
            "the check's own lines repeated per script: {cached}"
        );
        assert_eq!(r.disabled.len(), 50);
    }
}
