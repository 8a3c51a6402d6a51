//! keepalived 2.2.7's command line, parsed the way its `getopt_long()` does:
//! short clusters (`-nlD`), attached or separate required arguments
//! (`-fFILE`, `-f FILE`, `--use-file=FILE`, `--use-file FILE`), optional
//! arguments only attached (`-t/tmp/x`, `--config-test=/tmp/x`), unique
//! prefixes of long options (`--vers`), options and operands in any order.
//! Messages and exit codes are 2.2.7's: `Unknown option -Z` /
//! `Missing parameter for option -f` on stderr, exit 1.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How an option takes its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    None,
    Required,
    Optional,
}

/// One option: identifier, short letter, long name, argument kind, hidden.
struct Spec {
    id: Opt,
    short: Option<char>,
    long: &'static str,
    arg: Arg,
}

/// Option identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    UseFile,
    Vrrp,
    Check,
    NoBfd,
    All,
    LogConsole,
    LogDetail,
    LogFacility,
    LogFile,
    FlushLogFile,
    NoSyslog,
    Umask,
    ReleaseVips,
    DontReleaseVrrp,
    DontReleaseIpvs,
    DontRespawn,
    DontFork,
    DumpConf,
    Pid,
    VrrpPid,
    Genhash,
    CheckersPid,
    AddressMonitoring,
    BfdPid,
    Snmp,
    SnmpAgentSocket,
    Namespace,
    CoreDump,
    CoreDumpPattern,
    NoMemCheck,
    MemCheckLog,
    AllConfig,
    ConfigId,
    IgnoreSigint,
    Signum,
    ConfigTest,
    Perf,
    Debug,
    Version,
    Help,
    Lenient,
    Role,
    IpcServer,
    ParentPid,
    HeartbeatTimeout,
    HeartbeatInterval,
    IpvsBackend,
    StatusSocket,
    MetricsListen,
    IdentSuffix,
    LivenessFd,
    LivenessInterval,
    LivenessTimeout,
}

#[rustfmt::skip]
const SPECS: &[Spec] = &[
    Spec { id: Opt::UseFile, short: Some('f'), long: "use-file", arg: Arg::Required },
    Spec { id: Opt::Vrrp, short: Some('P'), long: "vrrp", arg: Arg::None },
    Spec { id: Opt::Check, short: Some('C'), long: "check", arg: Arg::None },
    Spec { id: Opt::NoBfd, short: Some('B'), long: "no_bfd", arg: Arg::None },
    Spec { id: Opt::All, short: None, long: "all", arg: Arg::None },
    Spec { id: Opt::LogConsole, short: Some('l'), long: "log-console", arg: Arg::None },
    Spec { id: Opt::LogDetail, short: Some('D'), long: "log-detail", arg: Arg::None },
    Spec { id: Opt::LogFacility, short: Some('S'), long: "log-facility", arg: Arg::Required },
    Spec { id: Opt::LogFile, short: Some('g'), long: "log-file", arg: Arg::Optional },
    Spec { id: Opt::FlushLogFile, short: None, long: "flush-log-file", arg: Arg::None },
    Spec { id: Opt::NoSyslog, short: Some('G'), long: "no-syslog", arg: Arg::None },
    Spec { id: Opt::Umask, short: Some('u'), long: "umask", arg: Arg::Required },
    Spec { id: Opt::ReleaseVips, short: Some('X'), long: "release-vips", arg: Arg::None },
    Spec { id: Opt::DontReleaseVrrp, short: Some('V'), long: "dont-release-vrrp", arg: Arg::None },
    Spec { id: Opt::DontReleaseIpvs, short: Some('I'), long: "dont-release-ipvs", arg: Arg::None },
    Spec { id: Opt::DontRespawn, short: Some('R'), long: "dont-respawn", arg: Arg::None },
    Spec { id: Opt::DontFork, short: Some('n'), long: "dont-fork", arg: Arg::None },
    Spec { id: Opt::DumpConf, short: Some('d'), long: "dump-conf", arg: Arg::None },
    Spec { id: Opt::Pid, short: Some('p'), long: "pid", arg: Arg::Required },
    Spec { id: Opt::VrrpPid, short: Some('r'), long: "vrrp_pid", arg: Arg::Required },
    Spec { id: Opt::Genhash, short: Some('T'), long: "genhash", arg: Arg::None },
    Spec { id: Opt::CheckersPid, short: Some('c'), long: "checkers_pid", arg: Arg::Required },
    Spec { id: Opt::AddressMonitoring, short: Some('a'), long: "address-monitoring", arg: Arg::None },
    Spec { id: Opt::BfdPid, short: Some('b'), long: "bfd_pid", arg: Arg::Required },
    Spec { id: Opt::Snmp, short: Some('x'), long: "snmp", arg: Arg::None },
    Spec { id: Opt::SnmpAgentSocket, short: Some('A'), long: "snmp-agent-socket", arg: Arg::Required },
    Spec { id: Opt::Namespace, short: Some('s'), long: "namespace", arg: Arg::Required },
    Spec { id: Opt::CoreDump, short: Some('m'), long: "core-dump", arg: Arg::None },
    Spec { id: Opt::CoreDumpPattern, short: Some('M'), long: "core-dump-pattern", arg: Arg::Optional },
    Spec { id: Opt::NoMemCheck, short: None, long: "no-mem-check", arg: Arg::None },
    Spec { id: Opt::MemCheckLog, short: Some('L'), long: "mem-check-log", arg: Arg::None },
    Spec { id: Opt::AllConfig, short: Some('e'), long: "all-config", arg: Arg::None },
    Spec { id: Opt::ConfigId, short: Some('i'), long: "config-id", arg: Arg::Required },
    Spec { id: Opt::IgnoreSigint, short: None, long: "ignore-sigint", arg: Arg::None },
    Spec { id: Opt::Signum, short: None, long: "signum", arg: Arg::Required },
    Spec { id: Opt::ConfigTest, short: Some('t'), long: "config-test", arg: Arg::Optional },
    Spec { id: Opt::Perf, short: None, long: "perf", arg: Arg::Optional },
    Spec { id: Opt::Debug, short: None, long: "debug", arg: Arg::Optional },
    Spec { id: Opt::Version, short: Some('v'), long: "version", arg: Arg::None },
    Spec { id: Opt::Help, short: Some('h'), long: "help", arg: Arg::None },
    // keepalived-rs additions.
    Spec { id: Opt::Lenient, short: None, long: "lenient", arg: Arg::None },
    // Hidden: process roles, watchdog tuning, test backends.
    Spec { id: Opt::Role, short: None, long: "ka-role", arg: Arg::Required },
    Spec { id: Opt::IpcServer, short: None, long: "ka-ipc-server", arg: Arg::Required },
    Spec { id: Opt::ParentPid, short: None, long: "ka-parent-pid", arg: Arg::Required },
    Spec { id: Opt::HeartbeatTimeout, short: None, long: "child-heartbeat-timeout", arg: Arg::Required },
    Spec { id: Opt::HeartbeatInterval, short: None, long: "child-heartbeat-interval", arg: Arg::Required },
    Spec { id: Opt::IpvsBackend, short: None, long: "ipvs-backend", arg: Arg::Required },
    Spec { id: Opt::StatusSocket, short: None, long: "status-socket", arg: Arg::Required },
    Spec { id: Opt::MetricsListen, short: None, long: "metrics-listen", arg: Arg::Required },
    Spec { id: Opt::IdentSuffix, short: None, long: "ka-ident-suffix", arg: Arg::Required },
    Spec { id: Opt::LivenessFd, short: None, long: "ka-liveness-fd", arg: Arg::Required },
    Spec { id: Opt::LivenessInterval, short: None, long: "ka-liveness-interval", arg: Arg::Required },
    Spec { id: Opt::LivenessTimeout, short: None, long: "ka-liveness-timeout", arg: Arg::Required },
];

/// Syslog facility (`-S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facility {
    /// LOG_DAEMON (default).
    Daemon,
    /// LOG_USER.
    User,
    /// LOG_LOCAL0..7.
    Local(u8),
}

/// The parsed command line.
#[derive(Debug, Clone)]
pub struct Cli {
    /// `-f`.
    pub config_file: PathBuf,
    /// `-P`: VRRP only.
    pub vrrp_only: bool,
    /// `-C`: checker only.
    pub check_only: bool,
    /// `--all`.
    pub all: bool,
    /// `-l`.
    pub log_console: bool,
    /// `-D` count.
    pub log_detail: u8,
    /// `-S`.
    pub facility: Facility,
    /// `-g[FILE]`: `Some(None)` means the default file.
    pub log_file: Option<Option<PathBuf>>,
    /// `--flush-log-file`.
    pub flush_log_file: bool,
    /// `-G`.
    pub no_syslog: bool,
    /// `-u`.
    pub umask: Option<u32>,
    /// `-X`.
    pub release_vips: bool,
    /// `-V`.
    pub dont_release_vrrp: bool,
    /// `-I`.
    pub dont_release_ipvs: bool,
    /// `-R`.
    pub dont_respawn: bool,
    /// `-n`.
    pub dont_fork: bool,
    /// `-d`.
    pub dump_conf: bool,
    /// `-p`.
    pub pid_file: Option<PathBuf>,
    /// `-r`.
    pub vrrp_pid_file: Option<PathBuf>,
    /// `-c`.
    pub checkers_pid_file: Option<PathBuf>,
    /// `-T`.
    pub genhash: bool,
    /// `-a`.
    pub address_monitoring: bool,
    /// `-x` or `-A`.
    pub snmp: bool,
    /// `-s`.
    pub namespace: Option<String>,
    /// `-m`.
    pub core_dump: bool,
    /// `-M[PATTERN]`.
    pub core_dump_pattern: Option<String>,
    /// `-e`.
    pub all_config: bool,
    /// `-i`.
    pub config_id: Option<String>,
    /// `--ignore-sigint`.
    pub ignore_sigint: bool,
    /// `--signum=NAME`.
    pub signum: Option<String>,
    /// `-t[FILE]`: `Some(None)` = to stderr.
    pub config_test: Option<Option<PathBuf>>,
    /// `-v`.
    pub version: bool,
    /// `-h`.
    pub help: bool,
    /// `--lenient` (keepalived-rs).
    pub lenient: bool,
    /// Hidden `--ka-role`.
    pub role: Option<String>,
    /// Hidden `--ka-ipc-server`.
    pub ipc_server: Option<String>,
    /// Hidden `--ka-parent-pid`.
    pub parent_pid: Option<i32>,
    /// Hidden `--child-heartbeat-timeout SECS`.
    pub heartbeat_timeout: Option<Duration>,
    /// Hidden `--child-heartbeat-interval SECS`.
    pub heartbeat_interval: Option<Duration>,
    /// Hidden `--ipvs-backend=kernel|memory` (memory: tests on kernels
    /// without IPVS; the checker then programs an in-memory table).
    pub ipvs_memory: bool,
    /// `--status-socket PATH|none` (ours).
    pub status_socket: Option<String>,
    /// `--metrics-listen ADDR:PORT` (ours, default off).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Hidden `--ka-ident-suffix`: `_<netns>_<instance>` for a child's ident.
    pub ident_suffix: Option<String>,
    /// Hidden `--ka-liveness-fd N`: the child's inherited liveness pipe.
    pub liveness_fd: Option<i32>,
    /// Hidden `--ka-liveness-interval SECS`: the child's longest beat interval.
    pub liveness_interval: Option<Duration>,
    /// Hidden `--ka-liveness-timeout SECS`: the child's kernel kill timer.
    pub liveness_timeout: Option<Duration>,
    /// Operands (keepalived prints "Unexpected argument(s)" and goes on).
    pub operands: Vec<String>,
    /// Non-fatal messages for stderr (e.g. "Invalid log facility").
    pub notes: Vec<String>,
    /// The user's arguments without the hidden ones (given to children).
    pub user_args: Vec<OsString>,
}

/// keepalived's default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

impl Default for Cli {
    fn default() -> Self {
        Cli {
            config_file: DEFAULT_CONFIG.into(),
            vrrp_only: false,
            check_only: false,
            all: false,
            log_console: false,
            log_detail: 0,
            facility: Facility::Daemon,
            log_file: None,
            flush_log_file: false,
            no_syslog: false,
            umask: None,
            release_vips: false,
            dont_release_vrrp: false,
            dont_release_ipvs: false,
            dont_respawn: false,
            dont_fork: false,
            dump_conf: false,
            pid_file: None,
            vrrp_pid_file: None,
            checkers_pid_file: None,
            genhash: false,
            address_monitoring: false,
            snmp: false,
            namespace: None,
            core_dump: false,
            core_dump_pattern: None,
            all_config: false,
            config_id: None,
            ignore_sigint: false,
            signum: None,
            config_test: None,
            version: false,
            help: false,
            lenient: false,
            role: None,
            ipc_server: None,
            parent_pid: None,
            heartbeat_timeout: None,
            status_socket: None,
            metrics_listen: None,
            heartbeat_interval: None,
            ipvs_memory: false,
            ident_suffix: None,
            liveness_fd: None,
            liveness_interval: None,
            liveness_timeout: None,
            operands: Vec::new(),
            notes: Vec::new(),
            user_args: Vec::new(),
        }
    }
}

/// A command line keepalived would refuse (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// `Unknown option -Z` / `Unknown option --bogus`.
    Unknown(String),
    /// `Missing parameter for option -f`.
    Missing(String),
    /// An argument given to an option that takes none (`--vrrp=1`).
    Unexpected(String),
    /// A value that cannot be used (hidden options, umask).
    BadValue(String, String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Unknown(o) => write!(f, "Unknown option {o}"),
            CliError::Missing(o) => write!(f, "Missing parameter for option {o}"),
            CliError::Unexpected(o) => write!(f, "Option {o} does not take a parameter"),
            CliError::BadValue(o, v) => write!(f, "Invalid value '{v}' for option {o}"),
        }
    }
}

impl std::error::Error for CliError {}

fn find_long(name: &str) -> Result<&'static Spec, CliError> {
    if let Some(s) = SPECS.iter().find(|s| s.long == name) {
        return Ok(s);
    }
    let mut matches = SPECS.iter().filter(|s| s.long.starts_with(name));
    match (matches.next(), matches.next()) {
        (Some(s), None) if !name.is_empty() => Ok(s),
        _ => Err(CliError::Unknown(format!("--{name}"))),
    }
}

fn is_hidden(id: Opt) -> bool {
    matches!(
        id,
        Opt::Role
            | Opt::IpcServer
            | Opt::ParentPid
            | Opt::IdentSuffix
            | Opt::LivenessFd
            | Opt::LivenessInterval
            | Opt::LivenessTimeout
    )
}

/// Parse `args` (without the program name).
pub fn parse(args: &[OsString]) -> Result<Cli, CliError> {
    let mut cli = Cli::default();
    let strs: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut i = 0;
    let mut operands_only = false;
    while i < strs.len() {
        let a = &strs[i];
        let start = i;
        i += 1;
        if operands_only || a == "-" || !a.starts_with('-') {
            cli.operands.push(a.clone());
            cli.user_args.push(args[start].clone());
            continue;
        }
        if a == "--" {
            operands_only = true;
            continue;
        }
        let mut hidden = false;
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec = find_long(name)?;
            let value = match (spec.arg, inline) {
                (Arg::None, Some(_)) => {
                    return Err(CliError::Unexpected(format!("--{}", spec.long)))
                }
                (Arg::None, None) => None,
                (Arg::Optional, v) => v,
                (Arg::Required, Some(v)) => Some(v),
                (Arg::Required, None) => {
                    if i < strs.len() {
                        i += 1;
                        Some(strs[i - 1].clone())
                    } else {
                        return Err(CliError::Missing(format!("--{}", spec.long)));
                    }
                }
            };
            hidden = is_hidden(spec.id);
            apply(&mut cli, spec, value, &format!("--{}", spec.long))?;
        } else {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                let spec = SPECS
                    .iter()
                    .find(|s| s.short == Some(c))
                    .ok_or_else(|| CliError::Unknown(format!("-{c}")))?;
                let rest: String = chars[k..].iter().collect();
                let value = match spec.arg {
                    Arg::None => None,
                    Arg::Optional => {
                        k = chars.len();
                        (!rest.is_empty()).then_some(rest)
                    }
                    Arg::Required => {
                        k = chars.len();
                        if !rest.is_empty() {
                            Some(rest)
                        } else if i < strs.len() {
                            i += 1;
                            Some(strs[i - 1].clone())
                        } else {
                            return Err(CliError::Missing(format!("-{c}")));
                        }
                    }
                };
                apply(&mut cli, spec, value, &format!("-{c}"))?;
            }
        }
        if !hidden {
            cli.user_args.extend(args[start..i].iter().cloned());
        }
    }
    Ok(cli)
}

fn secs(opt: &str, v: &str) -> Result<Duration, CliError> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| CliError::BadValue(opt.into(), v.into()))
}

fn apply(cli: &mut Cli, spec: &Spec, value: Option<String>, shown: &str) -> Result<(), CliError> {
    let v = value.clone().unwrap_or_default();
    match spec.id {
        Opt::UseFile => cli.config_file = v.into(),
        Opt::Vrrp => cli.vrrp_only = true,
        Opt::Check => cli.check_only = true,
        Opt::NoBfd => {}
        Opt::All => cli.all = true,
        Opt::LogConsole => cli.log_console = true,
        Opt::LogDetail => cli.log_detail = cli.log_detail.saturating_add(1),
        Opt::LogFacility => match parse_facility(&v) {
            Some(f) => cli.facility = f,
            None => cli.notes.push(format!("Invalid log facility '{v}'")),
        },
        Opt::LogFile => cli.log_file = Some(value.map(PathBuf::from)),
        Opt::FlushLogFile => cli.flush_log_file = true,
        Opt::NoSyslog => cli.no_syslog = true,
        Opt::Umask => {
            let parsed = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                u32::from_str_radix(h, 16).ok()
            } else if v.len() > 1 && v.starts_with('0') {
                u32::from_str_radix(&v[1..], 8).ok()
            } else {
                v.parse().ok()
            };
            match parsed.filter(|m| *m <= 0o777) {
                Some(m) => cli.umask = Some(m),
                None => return Err(CliError::BadValue(shown.into(), v)),
            }
        }
        Opt::ReleaseVips => cli.release_vips = true,
        Opt::DontReleaseVrrp => cli.dont_release_vrrp = true,
        Opt::DontReleaseIpvs => cli.dont_release_ipvs = true,
        Opt::DontRespawn => cli.dont_respawn = true,
        Opt::DontFork => cli.dont_fork = true,
        Opt::DumpConf => cli.dump_conf = true,
        Opt::Pid => cli.pid_file = Some(v.into()),
        Opt::VrrpPid => cli.vrrp_pid_file = Some(v.into()),
        Opt::Genhash => cli.genhash = true,
        Opt::CheckersPid => cli.checkers_pid_file = Some(v.into()),
        Opt::AddressMonitoring => cli.address_monitoring = true,
        Opt::BfdPid => {}
        Opt::Snmp | Opt::SnmpAgentSocket => cli.snmp = true,
        Opt::Namespace => cli.namespace = Some(v),
        Opt::CoreDump => cli.core_dump = true,
        Opt::CoreDumpPattern => {
            cli.core_dump = true;
            cli.core_dump_pattern = Some(value.unwrap_or_else(|| "core".into()));
        }
        Opt::NoMemCheck | Opt::MemCheckLog | Opt::Perf | Opt::Debug => {}
        Opt::AllConfig => cli.all_config = true,
        Opt::ConfigId => cli.config_id = Some(v),
        Opt::IgnoreSigint => cli.ignore_sigint = true,
        Opt::Signum => cli.signum = Some(v),
        Opt::ConfigTest => cli.config_test = Some(value.map(PathBuf::from)),
        Opt::Version => cli.version = true,
        Opt::Help => cli.help = true,
        Opt::Lenient => cli.lenient = true,
        Opt::Role => cli.role = Some(v),
        Opt::IpcServer => cli.ipc_server = Some(v),
        Opt::ParentPid => {
            cli.parent_pid = Some(
                v.parse()
                    .map_err(|_| CliError::BadValue(shown.into(), v.clone()))?,
            )
        }
        Opt::HeartbeatTimeout => cli.heartbeat_timeout = Some(secs(shown, &v)?),
        Opt::HeartbeatInterval => cli.heartbeat_interval = Some(secs(shown, &v)?),
        Opt::IdentSuffix => cli.ident_suffix = Some(v),
        Opt::LivenessFd => {
            cli.liveness_fd = Some(
                v.parse()
                    .map_err(|_| CliError::BadValue(shown.into(), v.clone()))?,
            )
        }
        Opt::LivenessInterval => cli.liveness_interval = Some(secs(shown, &v)?),
        Opt::LivenessTimeout => cli.liveness_timeout = Some(secs(shown, &v)?),
        Opt::StatusSocket => cli.status_socket = Some(v),
        Opt::MetricsListen => {
            cli.metrics_listen = Some(
                v.parse()
                    .map_err(|_| CliError::BadValue(shown.into(), v.clone()))?,
            )
        }
        Opt::IpvsBackend => match v.as_str() {
            "kernel" => cli.ipvs_memory = false,
            "memory" => cli.ipvs_memory = true,
            _ => return Err(CliError::BadValue(shown.into(), v)),
        },
    }
    Ok(())
}

/// `-S` values: `0`..`7`, `local0`..`local7`, `user`, `daemon`.
pub fn parse_facility(v: &str) -> Option<Facility> {
    let n = v.strip_prefix("local").unwrap_or(v);
    match v {
        "user" => Some(Facility::User),
        "daemon" => Some(Facility::Daemon),
        _ if n.len() == 1 => n
            .parse::<u8>()
            .ok()
            .filter(|d| *d <= 7)
            .map(Facility::Local),
        _ => None,
    }
}

/// `--signum=SIGFUNC` (glibc numbers, as `keepalived --signum` prints).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => ipc::DumpKind::StatsClear.signal(),
        "JSON" => ipc::DumpKind::Json.signal(),
        _ => return None,
    })
}

/// keepalived's `usage()` text for the options we support.
pub fn usage(prog: &str) -> String {
    format!(
        "Usage: {prog} [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                                default '{DEFAULT_CONFIG}'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem
      --all                    Force all child processes to run, even if have no configuration
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -g, --log-file=FILE          Also log to FILE (default /tmp/keepalived.log)
      --flush-log-file         Flush log file on write
  -G, --no-syslog              Don't log via syslog
  -u, --umask=MASK             umask for file creation (in numeric form)
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -R, --dont-respawn           Don't respawn child processes
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -T, --genhash                Enter into genhash utility mode (this should be the first option used).
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -a, --address-monitoring     Report all address additions/deletions notified via netlink
  -b, --bfd_pid=FILE           Use specified pidfile for BFD child process
  -x, --snmp                   Enable SNMP subsystem
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -M, --core-dump-pattern=PATN Also set /proc/sys/kernel/core_pattern to PATN (default 'core')
  -e, --all-config             Error if any configuration file missing (same as includet)
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
      --ignore-sigint          ignore SIGINT (default means terminate) - used for debugging with GDB
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default
      --lenient                Unknown configuration keywords are warnings, not errors (keepalived-rs)
  -v, --version                Display the version number
  -h, --help                   Display this help message
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Cli, CliError> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn short_clusters_and_attached_values() {
        let c = p(&[
            "-nlDD",
            "-f/etc/x.conf",
            "-S",
            "3",
            "-p",
            "/tmp/k.pid",
            "-PR",
        ])
        .unwrap();
        assert!(c.dont_fork && c.log_console && c.vrrp_only && c.dont_respawn);
        assert_eq!(c.log_detail, 2);
        assert_eq!(c.config_file, PathBuf::from("/etc/x.conf"));
        assert_eq!(c.facility, Facility::Local(3));
        assert_eq!(c.pid_file, Some("/tmp/k.pid".into()));
    }

    #[test]
    fn long_forms_and_prefixes() {
        let c = p(&[
            "--use-file",
            "/a",
            "--log-facility=local7",
            "--vrrp_pid=/r",
            "--checkers_pid",
            "/c",
            "--dont-f",
        ])
        .unwrap();
        assert_eq!(c.config_file, PathBuf::from("/a"));
        assert_eq!(c.facility, Facility::Local(7));
        assert_eq!(c.vrrp_pid_file, Some("/r".into()));
        assert_eq!(c.checkers_pid_file, Some("/c".into()));
        assert!(c.dont_fork);
        // "--vrrp" is both a full name and a prefix of "--vrrp_pid": exact wins.
        assert!(p(&["--vrrp"]).unwrap().vrrp_only);
    }

    #[test]
    fn optional_arguments_only_attached() {
        let c = p(&["-t", "-f", "/a"]).unwrap();
        assert_eq!(c.config_test, Some(None));
        let c = p(&["-t/tmp/log"]).unwrap();
        assert_eq!(c.config_test, Some(Some("/tmp/log".into())));
        let c = p(&["--config-test=/tmp/log"]).unwrap();
        assert_eq!(c.config_test, Some(Some("/tmp/log".into())));
        let c = p(&["-g"]).unwrap();
        assert_eq!(c.log_file, Some(None));
        let c = p(&["--log-file=/tmp/k.log"]).unwrap();
        assert_eq!(c.log_file, Some(Some("/tmp/k.log".into())));
    }

    #[test]
    fn errors_use_keepalived_wording() {
        assert_eq!(p(&["-Z"]).unwrap_err().to_string(), "Unknown option -Z");
        assert_eq!(
            p(&["--bogus"]).unwrap_err().to_string(),
            "Unknown option --bogus"
        );
        assert_eq!(
            p(&["-f"]).unwrap_err().to_string(),
            "Missing parameter for option -f"
        );
        assert_eq!(
            p(&["--use-file"]).unwrap_err().to_string(),
            "Missing parameter for option --use-file"
        );
        // Ambiguous prefix.
        assert!(matches!(p(&["--dont-rel"]), Err(CliError::Unknown(_))));
    }

    #[test]
    fn facility_values() {
        assert_eq!(parse_facility("0"), Some(Facility::Local(0)));
        assert_eq!(parse_facility("local5"), Some(Facility::Local(5)));
        assert_eq!(parse_facility("user"), Some(Facility::User));
        assert_eq!(parse_facility("daemon"), Some(Facility::Daemon));
        assert_eq!(parse_facility("8"), None);
        assert_eq!(parse_facility("local8"), None);
        let c = p(&["-S", "9"]).unwrap();
        assert_eq!(c.facility, Facility::Daemon);
        assert_eq!(c.notes, vec!["Invalid log facility '9'".to_string()]);
    }

    #[test]
    fn hidden_arguments_are_not_passed_on() {
        let c = p(&[
            "-n",
            "--ka-role",
            "vrrp",
            "--ka-ipc-server=x",
            "--ka-parent-pid",
            "12",
            "--ka-liveness-fd",
            "7",
            "--ka-liveness-interval=0.5",
            "--ka-liveness-timeout=5",
            "-D",
        ])
        .unwrap();
        assert_eq!(c.liveness_fd, Some(7));
        assert_eq!(c.liveness_interval, Some(Duration::from_millis(500)));
        assert_eq!(c.liveness_timeout, Some(Duration::from_secs(5)));
        assert_eq!(c.role.as_deref(), Some("vrrp"));
        assert_eq!(c.ipc_server.as_deref(), Some("x"));
        assert_eq!(c.parent_pid, Some(12));
        assert_eq!(
            c.user_args,
            vec![OsString::from("-n"), OsString::from("-D")]
        );
    }

    #[test]
    fn operands_and_signum() {
        let c = p(&["extra", "-n"]).unwrap();
        assert_eq!(c.operands, vec!["extra".to_string()]);
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("FOO"), None);
    }

    #[test]
    fn ipvs_backend_knob() {
        assert!(p(&["--ipvs-backend=memory"]).unwrap().ipvs_memory);
        assert!(!p(&["--ipvs-backend", "kernel"]).unwrap().ipvs_memory);
        assert!(p(&["--ipvs-backend=foo"]).is_err());
        // Passed on to the children with the other user arguments.
        assert_eq!(p(&["--ipvs-backend=memory"]).unwrap().user_args.len(), 1);
    }

    #[test]
    fn heartbeat_knobs() {
        let c = p(&[
            "--child-heartbeat-timeout=2.5",
            "--child-heartbeat-interval",
            "0.2",
        ])
        .unwrap();
        assert_eq!(c.heartbeat_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(c.heartbeat_interval, Some(Duration::from_millis(200)));
        assert!(p(&["--child-heartbeat-timeout=-1"]).is_err());
    }
}
