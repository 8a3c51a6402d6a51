//! SMTP alerts (`core/smtp.c` in keepalived).
//!
//! keepalived mails `notification_email` recipients through `smtp_server`
//! when an instance with `smtp_alert` changes state, and when a checker
//! changes a real server's state. The dialogue is plain SMTP without
//! authentication or TLS: `HELO <smtp_helo_name|localhost>`, `MAIL FROM`,
//! one `RCPT TO` per recipient, `DATA` with the headers `Date`, `From`,
//! `Subject`, `X-Mailer: Keepalived`, `To`, the body, `.`, `QUIT`.
//!
//! [`send_alert`] is a small blocking client bounded by
//! `smtp_connect_timeout` on the connect and on every reply;
//! [`SmtpSender`] runs it on a worker thread so the daemon's loop only
//! enqueues. Deviation: the `Date:` header is in UTC (`+0000`), where
//! keepalived uses local time (the daemon has no time-zone database access
//! without `unsafe`; the instant is the same).

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::notify::NotifyState;

/// Mail settings from `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// `smtp_server` (port 25 unless given).
    pub server: SocketAddr,
    /// `smtp_helo_name` (keepalived defaults to `localhost` when unset).
    pub helo_name: String,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email` recipients.
    pub to: Vec<String>,
    /// `smtp_connect_timeout` (keepalived's default: 30 s). Bounds the connect
    /// and each reply.
    pub timeout: Duration,
}

/// One mail: subject and body (headers are added by the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `Subject:` header.
    pub subject: String,
    /// Body text (one line in keepalived's alerts).
    pub body: String,
}

fn prefixed(router_id: Option<&str>, rest: String) -> String {
    match router_id {
        Some(r) => format!("[{r}] {rest}"),
        None => rest,
    }
}

/// The alert for a VRRP instance state change, or `None` for events that
/// keepalived does not mail. Subject `[router_id] VRRP Instance VI_1 -
/// Entering MASTER state`, body `=> VRRP Instance is now owning VRRP VIPs <=`.
pub fn vrrp_instance_alert(router_id: &str, instance: &str, state: NotifyState) -> Option<Alert> {
    let (what, body) = match state {
        NotifyState::Master => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        NotifyState::Backup => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        NotifyState::Fault => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        NotifyState::Stop => ("Stopping", "=> VRRP Instance stopping <="),
        NotifyState::Deleted => ("Deleted", "=> VRRP Deleted at reload <="),
        _ => return None,
    };
    Some(Alert {
        subject: format!("[{router_id}] VRRP Instance {instance} - {what}"),
        body: body.to_string(),
    })
}

/// The alert for a sync group state change (`[router_id] VRRP Group G -
/// Entering MASTER state`, `=> All VRRP group instances are now in MASTER state <=`).
pub fn vrrp_group_alert(router_id: &str, group: &str, state: NotifyState) -> Option<Alert> {
    let (what, body) = match state {
        NotifyState::Master => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        NotifyState::Backup => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        NotifyState::Fault => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        NotifyState::Stop => (
            "Stopping",
            "=> All VRRP group instances are now stopping <=",
        ),
        _ => return None,
    };
    Some(Alert {
        subject: format!("[{router_id}] VRRP Group {group} - {what}"),
        body: body.to_string(),
    })
}

/// A checker alert for a real server: subject `[router_id] Realserver
/// [10.0.0.1]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - UP`. `rs` and
/// `vs` are already formatted by the caller as keepalived's `FMT_RS`/`FMT_VS`;
/// `body` is the checker's text (e.g. `=> TCP CHECK succeed on service <=`).
pub fn realserver_alert(router_id: &str, rs: &str, vs: &str, up: bool, body: &str) -> Alert {
    Alert {
        subject: format!(
            "[{router_id}] Realserver {rs} of virtual server {vs} - {}",
            if up { "UP" } else { "DOWN" }
        ),
        body: body.to_string(),
    }
}

/// A virtual server alert (quorum up/down): `[router_id] Virtualserver VS - SUBJECT`.
pub fn virtual_server_alert(router_id: &str, vs: &str, subject: &str, body: &str) -> Alert {
    Alert {
        subject: format!("[{router_id}] Virtualserver {vs} - {subject}"),
        body: body.to_string(),
    }
}

/// A generic alert (`[router_id] subject`, or just `subject` without a router id).
pub fn generic_alert(router_id: Option<&str>, subject: &str, body: &str) -> Alert {
    Alert {
        subject: prefixed(router_id, subject.to_string()),
        body: body.to_string(),
    }
}

/// Why a mail was not sent. Display strings are keepalived's log lines.
#[derive(Debug)]
pub enum SmtpError {
    /// No recipient configured: nothing to send.
    NoRecipients,
    /// Connect timed out: `Timeout connecting SMTP server [a]:p.`
    ConnectTimeout(SocketAddr),
    /// Connect failed: `SMTP connection ERROR to [a]:p.`
    Connect(SocketAddr, io::Error),
    /// A reply did not come in time: `Timeout reading data to remote SMTP server [a]:p.`
    ReadTimeout(SocketAddr),
    /// The server closed: `Remote SMTP server [a]:p has closed the connection.`
    Closed(SocketAddr),
    /// Send failed: `Cannot send data to remote SMTP server [a]:p.`
    Send(SocketAddr, io::Error),
    /// Unexpected reply code: `Error processing CMD cmd on SMTP server [a]:p. SMTP status code = N`
    Status {
        /// Server.
        server: SocketAddr,
        /// Command name (`(E)SMTP`, `HELO`, `MAIL`, `RCPT`, `DATA`, `BODY`, `QUIT`).
        cmd: &'static str,
        /// The code received (0 if unparsable).
        code: u16,
    },
}

/// keepalived's `inet_sockaddrtopair`: `[addr]:port`.
fn pair(a: &SocketAddr) -> String {
    format!("[{}]:{}", a.ip(), a.port())
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpError::NoRecipients => f.write_str("no notification_email recipient"),
            SmtpError::ConnectTimeout(a) => {
                write!(f, "Timeout connecting SMTP server {}.", pair(a))
            }
            SmtpError::Connect(a, _) => write!(f, "SMTP connection ERROR to {}.", pair(a)),
            SmtpError::ReadTimeout(a) => {
                write!(f, "Timeout reading data to remote SMTP server {}.", pair(a))
            }
            SmtpError::Closed(a) => {
                write!(
                    f,
                    "Remote SMTP server {} has closed the connection.",
                    pair(a)
                )
            }
            SmtpError::Send(a, _) => {
                write!(f, "Cannot send data to remote SMTP server {}.", pair(a))
            }
            SmtpError::Status { server, cmd, code } => write!(
                f,
                "Error processing {cmd} cmd on SMTP server {}. SMTP status code = {code}",
                pair(server)
            ),
        }
    }
}

impl std::error::Error for SmtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SmtpError::Connect(_, e) | SmtpError::Send(_, e) => Some(e),
            _ => None,
        }
    }
}

/// RFC 5322 date in UTC, e.g. `Sun, 22 Nov 2026 20:08:22 +0000`.
pub fn rfc822_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), H. Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        WD[days.rem_euclid(7) as usize],
        d,
        MO[(m - 1) as usize],
        y,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

struct Session {
    server: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    fn reply(&mut self, cmd: &'static str, expect: u16) -> Result<(), SmtpError> {
        // Multi-line replies: "250-..." continue, "250 ..." ends.
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err(SmtpError::Closed(self.server)),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(SmtpError::ReadTimeout(self.server))
                }
                Err(_) => return Err(SmtpError::Closed(self.server)),
            }
            if line.len() > 3 && line.as_bytes()[3] == b'-' {
                continue;
            }
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .unwrap_or(0);
            if code != expect {
                return Err(SmtpError::Status {
                    server: self.server,
                    cmd,
                    code,
                });
            }
            return Ok(());
        }
    }

    fn send(&mut self, data: &str) -> Result<(), SmtpError> {
        self.writer
            .write_all(data.as_bytes())
            .map_err(|e| SmtpError::Send(self.server, e))
    }
}

/// Sends one alert, blocking for at most a few multiples of
/// `cfg.timeout`. Logs `Remote SMTP server [a]:p connected.` as keepalived.
pub fn send_alert(cfg: &SmtpConfig, alert: &Alert, date: &str) -> Result<(), SmtpError> {
    if cfg.to.is_empty() {
        return Err(SmtpError::NoRecipients);
    }
    let server = cfg.server;
    let stream = TcpStream::connect_timeout(&server, cfg.timeout).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            SmtpError::ConnectTimeout(server)
        } else {
            SmtpError::Connect(server, e)
        }
    })?;
    let t = Some(cfg.timeout.max(Duration::from_millis(1)));
    let _ = stream.set_read_timeout(t);
    let _ = stream.set_write_timeout(t);
    let writer = stream
        .try_clone()
        .map_err(|e| SmtpError::Connect(server, e))?;
    let mut s = Session {
        server,
        reader: BufReader::new(stream),
        writer,
    };
    s.reply("(E)SMTP", 220)?;
    log::info!("Remote SMTP server {} connected.", pair(&server));
    let helo = if cfg.helo_name.is_empty() {
        "localhost"
    } else {
        &cfg.helo_name
    };
    s.send(&format!("HELO {helo}\r\n"))?;
    s.reply("HELO", 250)?;
    s.send(&format!("MAIL FROM:<{}>\r\n", cfg.from))?;
    s.reply("MAIL", 250)?;
    for rcpt in &cfg.to {
        s.send(&format!("RCPT TO:<{rcpt}>\r\n"))?;
        s.reply("RCPT", 250)?;
    }
    s.send("DATA\r\n")?;
    s.reply("DATA", 354)?;
    // Dot-stuffing (RFC 5321 section 4.5.2), which keepalived omits.
    let body: String = alert
        .body
        .split('\n')
        .map(|l| {
            let l = l.trim_end_matches('\r');
            if l.starts_with('.') {
                format!(".{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    s.send(&format!(
        "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{body}\r\n\r\n.\r\n",
        cfg.from,
        alert.subject,
        cfg.to.join(", ")
    ))?;
    s.reply("BODY", 250)?;
    s.send("QUIT\r\n")?;
    s.reply("QUIT", 221)?;
    Ok(())
}

/// Result of one mail, reported by [`SmtpSender`] through its optional
/// result channel (tests; the daemon just relies on the log lines).
pub type SendResult = Result<(), SmtpError>;

/// A worker thread that sends queued alerts one after the other.
#[derive(Debug)]
pub struct SmtpSender {
    tx: Option<mpsc::Sender<Alert>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SmtpSender {
    /// Starts the worker. Each result is logged (errors with keepalived's
    /// wording) and, if `results` is given, sent there too.
    pub fn spawn(cfg: SmtpConfig, results: Option<mpsc::Sender<SendResult>>) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Alert>();
        let thread = thread::Builder::new()
            .name("smtp-alert".into())
            .spawn(move || {
                for alert in rx {
                    let r = send_alert(&cfg, &alert, &rfc822_date(SystemTime::now()));
                    match &r {
                        Ok(()) => log::debug!("SMTP alert successfully sent."),
                        Err(e) => log::info!("{e}"),
                    }
                    if let Some(res) = &results {
                        let _ = res.send(r);
                    }
                }
            })?;
        Ok(SmtpSender {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues an alert; never blocks. Returns false if the worker is gone.
    pub fn send(&self, alert: Alert) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(alert).is_ok())
    }

    /// Stops accepting alerts and waits for the queued ones to be sent (each
    /// bounded by the timeouts). For shutdown.
    pub fn finish(mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SmtpSender {
    fn drop(&mut self) {
        // Closing the channel ends the worker after its queue; do not wait.
        self.tx.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_format() {
        // 2026-11-22 20:08:22 UTC was a Sunday.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_378_102);
        assert_eq!(rfc822_date(t), "Sun, 22 Nov 2026 20:08:22 +0000");
        assert_eq!(rfc822_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        // Leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc822_date(t), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn subjects() {
        let a = vrrp_instance_alert("LVS_DEVEL", "VI_1", NotifyState::Master).unwrap();
        assert_eq!(
            a.subject,
            "[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(a.body, "=> VRRP Instance is now owning VRRP VIPs <=");
        assert!(vrrp_instance_alert("r", "VI_1", NotifyState::MasterPriority).is_none());
        let g = vrrp_group_alert("r", "G1", NotifyState::Fault).unwrap();
        assert_eq!(g.subject, "[r] VRRP Group G1 - Entering FAULT state");
        assert_eq!(generic_alert(None, "s", "b").subject, "s");
        assert_eq!(
            realserver_alert("r", "[10.0.0.1]:tcp:80", "[192.0.2.1]:tcp:80", false, "x").subject,
            "[r] Realserver [10.0.0.1]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - DOWN"
        );
    }
}
