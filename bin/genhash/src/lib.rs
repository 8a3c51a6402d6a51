//! genhash, keepalived's digest tool (`check/check_genhash.c`): fetch a URL
//! exactly as the HTTP_GET / SSL_GET checker does and print the MD5 of the
//! body, to paste into a `digest` keyword.
//!
//! The request and the digest come from the check crate, so the digest is the
//! one the checker computes (raw body bytes after the header block, at most
//! Content-Length of them). The connection is plain `std::net` plus rustls.
//! `run` is also what `keepalived --genhash` calls.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use check::http::{self, HttpParseError, HttpProtocol, RequestHost, ResponseParser};
use clap::Parser;

/// Command line, with keepalived 2.2.7's option names.
#[derive(Debug, Parser)]
#[command(
    name = "genhash",
    disable_help_flag = true,
    disable_version_flag = true
)]
struct Args {
    /// Use SSL connection to remote server.
    #[arg(short = 'S', long = "use-ssl")]
    use_ssl: bool,
    /// Use SNI during SSL handshake (uses the virtualhost, see -V).
    #[arg(short = 'I', long = "use-sni")]
    use_sni: bool,
    /// Remote server address (an IP address).
    #[arg(short = 's', long = "server")]
    server: Option<String>,
    /// Remote server port.
    #[arg(short = 'p', long = "port")]
    port: Option<String>,
    /// URL path to fetch.
    #[arg(short = 'u', long = "url")]
    url: Option<String>,
    /// Virtualhost for the Host header.
    #[arg(short = 'V', long = "use-virtualhost")]
    virtualhost: Option<String>,
    /// Verbose output.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Display the usage.
    #[arg(short = 'h', long = "help")]
    help: bool,
    /// Firewall mark for the connection (accepted, not applied).
    #[arg(short = 'm', long = "fwmark")]
    fwmark: Option<String>,
    /// HTTP protocol: 1.0, 1.0c (with Connection: close) or 1.1.
    #[arg(short = 'P', long = "protocol")]
    protocol: Option<String>,
    /// Timeout in seconds.
    #[arg(short = 't', long = "timeout")]
    timeout: Option<String>,
}

fn usage(prog: &str) -> String {
    format!(
        "Usage: {prog} COMMAND [OPTIONS]\n\
Commands:\n   -s server-address -p port -u url\n   -S -s server-address -p port -u url\n   -h\n\n\
Options:\n\
Either long or short options are allowed.\n\
   --use-ssl         -S       Use SSL connection to remote server.\n\
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).\n\
   --server          -s       Use the specified remote server address.\n\
   --port            -p       Use the specified remote server port.\n\
   --url             -u       Use the specified remote server url.\n\
   --use-virtualhost -V       Use the specified virtualhost in GET query.\n\
   --verbose         -v       Use verbose mode output.\n\
   --help            -h       Display this short inlined help screen.\n\
   --fwmark          -m       Use the specified FW mark.\n\
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.\n\
                                1.0c means 1.0 with 'Connection: close'\n\
   --timeout         -t       Timeout in seconds\n"
    )
}

/// A validated request.
#[derive(Debug)]
struct Job {
    addr: SocketAddr,
    path: String,
    ssl: bool,
    sni: bool,
    vhost: Option<String>,
    protocol: HttpProtocol,
    timeout: Option<Duration>,
    verbose: bool,
}

fn validate(a: Args, err: &mut dyn Write) -> Option<Job> {
    if a.help {
        return None;
    }
    let (Some(server), Some(port), Some(url)) = (a.server, a.port, a.url) else {
        return None;
    };
    let Ok(ip) = server.parse::<IpAddr>() else {
        let _ = writeln!(err, "server should be an IP, not {server}");
        return None;
    };
    let port: u16 = match port.parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            let _ = writeln!(err, "invalid port number '{port}'");
            return None;
        }
    };
    if let Some(m) = &a.fwmark {
        if m.trim().parse::<u32>().is_err() {
            let _ = writeln!(err, "invalid fwmark '{m}'");
            return None;
        }
    }
    let protocol = match a.protocol.as_deref() {
        None => HttpProtocol::V1_0,
        Some(p) => match HttpProtocol::parse(p) {
            Some(p) => p,
            None => {
                let _ = writeln!(err, "invalid HTTP protocol version '{p}'");
                return None;
            }
        },
    };
    let timeout = match a.timeout.as_deref() {
        None => None,
        Some(t) => match t.trim().parse::<u64>() {
            Ok(s) => Some(Duration::from_secs(s)),
            Err(_) => {
                let _ = writeln!(err, "invalid timeout '{t}'");
                return None;
            }
        },
    };
    Some(Job {
        addr: SocketAddr::new(ip, port),
        path: url,
        ssl: a.use_ssl,
        sni: a.use_sni,
        vhost: a.virtualhost,
        protocol,
        timeout,
        verbose: a.verbose,
    })
}

/// Why a fetch stopped; the text is what keepalived's genhash prints.
#[derive(Debug)]
enum FetchError {
    Connect(io::Error),
    Tls(String),
    Send,
    Read,
    Parse(HttpParseError),
}

fn fetch(job: &Job) -> Result<http::HttpResponse, FetchError> {
    let tcp = match job.timeout {
        Some(t) => TcpStream::connect_timeout(&job.addr, t),
        None => TcpStream::connect(job.addr),
    }
    .map_err(FetchError::Connect)?;
    let _ = tcp.set_read_timeout(job.timeout);
    let _ = tcp.set_write_timeout(job.timeout);
    let host = match &job.vhost {
        Some(v) => RequestHost::VirtualHost(v),
        None => RequestHost::Addr(job.addr),
    };
    let request = http::build_request(&job.path, job.protocol, &host);
    let mut parser = ResponseParser::new(true, u64::MAX);
    if job.ssl {
        let cfg = check::tls::client_config().map_err(|e| FetchError::Tls(e.to_string()))?;
        let name = check::tls::server_name(
            job.addr.ip(),
            job.sni.then_some(()).and(job.vhost.as_deref()),
        );
        let conn =
            rustls::ClientConnection::new(cfg, name).map_err(|e| FetchError::Tls(e.to_string()))?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        s.write_all(&request).map_err(|_| FetchError::Send)?;
        read_all(&mut s, &mut parser, true)?;
    } else {
        let mut s = tcp;
        s.write_all(&request).map_err(|_| FetchError::Send)?;
        read_all(&mut s, &mut parser, false)?;
    }
    parser.finish().map_err(FetchError::Parse)
}

fn read_all(s: &mut dyn Read, parser: &mut ResponseParser, tls: bool) -> Result<(), FetchError> {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => parser.feed(&buf[..n]).map_err(FetchError::Parse)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Many servers close TLS without close_notify; keepalived treats
            // the end of the stream as the end of the page.
            Err(e) if tls && e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(_) => return Err(FetchError::Read),
        }
    }
}

const DELIM_BEGIN: &str = "-----------------------[";
const DELIM_END: &str = "]-----------------------";

/// Runs genhash with `args` (args[0] is the program name); returns the exit
/// status. Output goes to stdout / stderr like keepalived's genhash.
pub fn run(args: Vec<OsString>) -> i32 {
    run_with(args, &mut io::stdout(), &mut io::stderr())
}

/// [`run`] with explicit output streams (for tests).
pub fn run_with(args: Vec<OsString>, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let prog = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "genhash".into());
    let job = match Args::try_parse_from(&args) {
        Ok(a) => validate(a, err),
        Err(e) => {
            let _ = write!(err, "{}", e.render());
            None
        }
    };
    let Some(job) = job else {
        let _ = write!(err, "{}", usage(&prog));
        return 1;
    };
    let started = Instant::now();
    match fetch(&job) {
        Ok(resp) => {
            if job.verbose {
                let _ = writeln!(out, "{DELIM_BEGIN} HTTP Header Ascii Buffer {DELIM_END}");
                let _ = writeln!(out, "{}", String::from_utf8_lossy(&resp.header));
                let _ = writeln!(out, "{DELIM_BEGIN}    HTML hash resulting    {DELIM_END}");
            }
            if let Some(d) = resp.digest {
                let _ = writeln!(out, "{}", http::digest_hex(&d));
            }
            if job.verbose {
                let _ = writeln!(
                    out,
                    "\nGlobal response time for [{}] = {} usecs",
                    job.path,
                    started.elapsed().as_micros()
                );
            }
        }
        Err(FetchError::Parse(HttpParseError::NoData)) => {
            let _ = writeln!(err, "no data received from remote webserver");
        }
        // keepalived prints its timeout_epilog message and exits 0.
        Err(FetchError::Connect(e)) if e.kind() == io::ErrorKind::TimedOut => {
            let _ = writeln!(out, "Timeout connecting");
        }
        Err(FetchError::Connect(_)) => {
            let _ = writeln!(out, "Connection failed");
        }
        Err(FetchError::Tls(e)) => {
            let _ = writeln!(out, "Error connecting ({e})");
        }
        Err(FetchError::Send) => {
            let _ = writeln!(out, "Cannot send get request to");
        }
        Err(FetchError::Read) => {
            let _ = writeln!(out, "Read error with");
        }
        Err(FetchError::Parse(e)) => {
            let _ = writeln!(out, "Read error with ({e})");
        }
    }
    0
}
