//! `keepalived`: the one daemon binary. Parses keepalived 2.2.7's command
//! line, sets up logging, and runs one of three roles: the parent
//! (`watchdog`), the VRRP child (`vrrp-daemon`) or the checker child
//! (`check-daemon`); children are this same binary exec'd with hidden
//! `--ka-role` arguments. `-t` checks the configuration and exits.

mod cli;
mod configtest;
mod logging;

use cli::Cli;
use ipc::{ChildFlags, ChildOptions, Role};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The upstream release we are a drop-in replacement for.
pub const COMPAT_VERSION: &str = "2.2.7";

/// "Keepalived v2.2.7 (keepalived-rs 0.1.0)": scripts that parse the
/// version see the keepalived release whose behaviour we follow.
pub fn version_banner() -> String {
    format!(
        "Keepalived v{COMPAT_VERSION} (keepalived-rs {})",
        env!("CARGO_PKG_VERSION")
    )
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let prog = std::env::args()
        .next()
        .unwrap_or_else(|| "keepalived".into());
    let prog_name = std::path::Path::new(&prog)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keepalived".into());
    let cli = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for n in &cli.notes {
        eprintln!("{n}");
    }
    if !cli.operands.is_empty() && cli.role.is_none() {
        eprintln!("Unexpected argument(s): {} ", cli.operands.join(" "));
    }
    std::process::exit(run(cli, &prog_name));
}

fn run(cli: Cli, prog: &str) -> i32 {
    if cli.help {
        eprint!("{}", cli::usage(prog));
        return 0;
    }
    if cli.version {
        eprintln!("{}", version_banner());
        eprintln!();
        eprintln!(
            "keepalived-rs: a Rust implementation of keepalived's configuration, command line,"
        );
        eprintln!(
            "processes and protocols. Keepalived is Copyright(C) 2001-2022 Alexandre Cassen."
        );
        return 0;
    }
    if let Some(name) = &cli.signum {
        return match cli::signum(name) {
            Some(n) => {
                println!("{n}");
                0
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                1
            }
        };
    }
    if let Some(role) = &cli.role {
        return run_child(&cli, role, prog);
    }
    if let Some(out) = &cli.config_test {
        return configtest::run(&cli, out.as_deref());
    }
    if cli.genhash {
        eprintln!("genhash mode is not built into keepalived-rs: use the `genhash` program");
        return 1;
    }
    if let Some(ns) = &cli.namespace {
        eprintln!("-s/--namespace {ns}: not supported by keepalived-rs yet; use `ip netns exec {ns} keepalived ...`");
        return 1;
    }
    run_parent(cli)
}

fn pid_paths(cli: &Cli) -> (PathBuf, PathBuf, PathBuf) {
    (
        cli.pid_file
            .clone()
            .unwrap_or_else(|| ipc::pidfile::PARENT.into()),
        cli.vrrp_pid_file
            .clone()
            .unwrap_or_else(|| ipc::pidfile::VRRP.into()),
        cli.checkers_pid_file
            .clone()
            .unwrap_or_else(|| ipc::pidfile::CHECKERS.into()),
    )
}

fn log_setup(cli: &Cli, ident: &str, file_suffix: Option<&str>) -> logging::LogSetup {
    let file = cli.log_file.as_ref().map(|f| {
        let base = f.clone().unwrap_or_else(logging::default_log_file);
        match file_suffix {
            Some(s) => logging::child_log_file(&base, s),
            None => base,
        }
    });
    logging::LogSetup {
        ident: ident.to_string(),
        facility: cli.facility,
        syslog: !cli.no_syslog,
        console: cli.log_console && cli.dont_fork,
        file,
        flush_file: cli.flush_log_file,
        detail: cli.log_detail,
        syslog_socket: None,
    }
}

fn run_child(cli: &Cli, role: &str, prog: &str) -> i32 {
    // Exec'd through /proc/self/exe: take the program's name back so
    // `pidof keepalived` / `ps -C keepalived` see all three processes.
    let _ = sys::process::set_process_name(prog);
    let Some(role) = Role::from_arg(role) else {
        eprintln!("Unknown process role '{role}'");
        return 1;
    };
    let Some(server) = cli.ipc_server.clone() else {
        eprintln!("--ka-role needs --ka-ipc-server");
        return 1;
    };
    let suffix = match role {
        Role::Vrrp => "vrrp",
        Role::Checker => "check",
    };
    let ident = format!(
        "{}{}",
        role.syslog_ident(),
        cli.ident_suffix.as_deref().unwrap_or("")
    );
    logging::init(&log_setup(cli, &ident, Some(suffix)));
    let (_, vrrp_pid, check_pid) = pid_paths(cli);
    let opts = ChildOptions {
        role,
        server_name: server,
        pid_file: Some(match role {
            Role::Vrrp => vrrp_pid,
            Role::Checker => check_pid,
        }),
        parent_pid: cli.parent_pid,
        flags: ChildFlags {
            dont_release_vrrp: cli.dont_release_vrrp,
            dont_release_ipvs: cli.dont_release_ipvs,
            release_vips: cli.release_vips,
            address_monitoring: cli.address_monitoring,
            log_detail: cli.log_detail,
        },
        liveness: cli.liveness_fd.map(|fd| ipc::LivenessOptions {
            fd,
            interval: cli.liveness_interval.unwrap_or(Duration::from_millis(2500)),
            timeout: cli.liveness_timeout,
        }),
    };
    match role {
        Role::Vrrp => vrrp_daemon::run(&opts),
        Role::Checker if cli.ipvs_memory => {
            // Test-only: an in-memory IPVS table, for process tests on kernels
            // without IPVS (the real checker exits FATAL there, as 2.2.7).
            let factory: check_daemon::BackendFactory = Box::new(|| {
                Ok(Box::new(check_daemon::backend::MemoryIpvs::default())
                    as Box<dyn check_daemon::backend::IpvsBackend>)
            });
            let mut rt = check_daemon::CheckRuntime::with_backend(opts.flags, factory);
            ipc::run_child(&opts, &mut rt)
        }
        Role::Checker => check_daemon::run(&opts),
    }
}

fn run_parent(cli: Cli) -> i32 {
    // The current umask, unless -u sets one.
    let current = sys::process::set_umask(0o022);
    sys::process::set_umask(cli.umask.unwrap_or(current));
    if cli.core_dump {
        use nix::sys::resource::{setrlimit, Resource, RLIM_INFINITY};
        if let Err(e) = setrlimit(Resource::RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY) {
            eprintln!("Unable to set core dump limit: {e}");
        }
        if let Some(p) = &cli.core_dump_pattern {
            if let Err(e) = std::fs::write("/proc/sys/kernel/core_pattern", p) {
                eprintln!("Unable to set core_pattern: {e}");
            }
        }
    }
    if !cli.dont_fork {
        // Before any thread or logger exists.
        if let Err(e) = sys::process::daemonize(cli.umask.unwrap_or(current)) {
            eprintln!("Unable to daemonize: {e}");
            return 1;
        }
    }
    logging::init(&log_setup(&cli, "Keepalived", None));
    log::info!("Starting {}", version_banner());
    if let Ok(u) = nix::sys::utsname::uname() {
        log::info!(
            "Running on {} {} {}",
            u.sysname().to_string_lossy(),
            u.release().to_string_lossy(),
            u.version().to_string_lossy()
        );
    }
    let mut line = format!("'{}'", std::env::args().next().unwrap_or_default());
    for a in &cli.user_args {
        line.push_str(&format!(" '{}'", a.to_string_lossy()));
    }
    log::info!("Command line: {line}");

    let (pid_file, vrrp_pid_file, checkers_pid_file) = pid_paths(&cli);
    let mut opts = watchdog::WatchdogOptions::new(cli.config_file.clone());
    opts.load.config_id = cli.config_id.clone();
    opts.load.lenient = cli.lenient;
    opts.vrrp = !cli.check_only;
    opts.checker = !cli.vrrp_only;
    opts.all = cli.all;
    opts.dont_respawn = cli.dont_respawn;
    opts.pid_file = pid_file;
    opts.vrrp_pid_file = vrrp_pid_file;
    opts.checkers_pid_file = checkers_pid_file;
    opts.pid_files_given = [
        cli.pid_file.is_some(),
        cli.vrrp_pid_file.is_some(),
        cli.checkers_pid_file.is_some(),
    ];
    opts.set_syslog_ident = Some(logging::set_ident);
    opts.child_args = cli.user_args.clone();
    opts.version = version_banner();
    opts.ignore_sigint = cli.ignore_sigint;
    opts.dump_conf = cli.dump_conf;
    if let Some(t) = cli.heartbeat_timeout {
        opts.heartbeat_timeout = t;
    }
    if let Some(i) = cli.heartbeat_interval {
        opts.heartbeat_interval = i;
    }
    match cli.status_socket.as_deref() {
        Some("none") => opts.status.socket = None,
        Some(p) => opts.status.socket = Some(p.into()),
        None => {}
    }
    opts.status.metrics = cli.metrics_listen;
    let code = watchdog::run(opts);
    log::logger().flush();
    code
}
