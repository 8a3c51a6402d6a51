//! SMTP_CHECK dialogue (keepalived `check/check_smtp.c`): wait for the `220`
//! banner, send `HELO <helo_name>`, expect `250`, send `QUIT`, read the reply.
//!
//! Replies are parsed per RFC 5321 §4.2.1, including multi-line replies
//! (`250-...` continuation lines). keepalived only looks at the first line and
//! so fails a multi-line banner; we accept it (see notes/check.md).

use std::fmt;

use crate::service::AddrPair;

/// Default `helo_name` (`include/check_smtp.h:45`).
pub const DEFAULT_HELO_NAME: &str = "smtpchecker.keepalived.org";

/// Longest reply line accepted, CRLF included (RFC 5321 §4.5.3.1.5: 512).
pub const MAX_LINE_BYTES: usize = 512;

/// Most lines accepted in one multi-line reply.
pub const MAX_REPLY_LINES: usize = 64;

/// A complete SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The 3-digit reply code.
    pub code: u16,
    /// Number of lines the reply had.
    pub lines: usize,
}

/// Malformed reply data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line longer than [`MAX_LINE_BYTES`].
    LineTooLong,
    /// More than [`MAX_REPLY_LINES`] lines.
    TooManyLines,
    /// A line not starting with 3 digits followed by space, `-` or EOL.
    Malformed,
    /// Continuation lines with different codes.
    CodeMismatch,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplyError::LineTooLong => "reply line too long",
            ReplyError::TooManyLines => "too many reply lines",
            ReplyError::Malformed => "malformed reply",
            ReplyError::CodeMismatch => "reply lines with different codes",
        })
    }
}

impl std::error::Error for ReplyError {}

/// Incremental, bounded reader of SMTP replies.
#[derive(Debug, Default)]
pub struct ReplyReader {
    line: Vec<u8>,
    code: Option<u16>,
    lines: usize,
}

impl ReplyReader {
    /// An empty reader.
    pub fn new() -> ReplyReader {
        ReplyReader::default()
    }

    /// Consumes bytes from `data` until one complete reply is read.
    /// Returns the reply (if complete) and how many bytes were consumed.
    pub fn feed(&mut self, data: &[u8]) -> Result<(Option<Reply>, usize), ReplyError> {
        for (i, &b) in data.iter().enumerate() {
            if b != b'\n' {
                if self.line.len() + 1 >= MAX_LINE_BYTES {
                    return Err(ReplyError::LineTooLong);
                }
                self.line.push(b);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
                return Err(ReplyError::Malformed);
            }
            let code = line[..3]
                .iter()
                .fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
            if self.code.is_some_and(|c| c != code) {
                return Err(ReplyError::CodeMismatch);
            }
            self.code = Some(code);
            self.lines += 1;
            if self.lines > MAX_REPLY_LINES {
                return Err(ReplyError::TooManyLines);
            }
            match line.get(3) {
                Some(b'-') => continue,
                None | Some(b' ') => {
                    let reply = Reply {
                        code,
                        lines: self.lines,
                    };
                    self.code = None;
                    self.lines = 0;
                    return Ok((Some(reply), i + 1));
                }
                Some(_) => return Err(ReplyError::Malformed),
            }
        }
        Ok((None, data.len()))
    }
}

/// Why an SMTP_CHECK failed. [`SmtpFailure::message`] gives keepalived's
/// wording (logged with the `SMTP_CHECK ` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpFailure {
    /// First reply not 220.
    BadBanner,
    /// HELO reply not 250.
    BadHelo,
    /// EOF or read error before the dialogue finished.
    ReadFailure,
    /// No data within connect_timeout.
    ReadTimeout,
    /// The reply could not be parsed.
    BadReply(ReplyError),
}

impl SmtpFailure {
    /// The message after `SMTP_CHECK `, e.g.
    /// `Bad greeting banner from server [192.0.2.1]:25`.
    pub fn message(&self, server: AddrPair) -> String {
        match self {
            SmtpFailure::BadBanner => format!("Bad greeting banner from server {server}"),
            SmtpFailure::BadHelo => format!("Bad HELO response from server {server}"),
            SmtpFailure::ReadFailure => format!("Read failure from server {server}"),
            SmtpFailure::ReadTimeout => format!("Read timeout from server {server}"),
            SmtpFailure::BadReply(e) => format!("Bad reply ({e}) from server {server}"),
        }
    }
}

impl fmt::Display for SmtpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpFailure::BadBanner => f.write_str("bad greeting banner"),
            SmtpFailure::BadHelo => f.write_str("bad HELO response"),
            SmtpFailure::ReadFailure => f.write_str("read failure"),
            SmtpFailure::ReadTimeout => f.write_str("read timeout"),
            SmtpFailure::BadReply(e) => write!(f, "bad reply: {e}"),
        }
    }
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpStep {
    /// Read more data.
    NeedMore,
    /// Write these bytes, then keep reading.
    Send(Vec<u8>),
    /// The dialogue succeeded; close the connection.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Banner,
    Helo,
    Quit,
    Done,
}

/// The SMTP_CHECK dialogue as a sans-IO state machine.
#[derive(Debug)]
pub struct SmtpDialogue {
    helo_name: String,
    stage: Stage,
    reader: ReplyReader,
}

impl SmtpDialogue {
    /// Starts a dialogue on a freshly connected socket.
    pub fn new(helo_name: &str) -> SmtpDialogue {
        SmtpDialogue {
            helo_name: helo_name.to_string(),
            stage: Stage::Banner,
            reader: ReplyReader::new(),
        }
    }

    /// Feeds bytes read from the server.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<SmtpStep, SmtpFailure> {
        let mut out: Option<SmtpStep> = None;
        while !data.is_empty() && self.stage != Stage::Done {
            let (reply, used) = self.reader.feed(data).map_err(SmtpFailure::BadReply)?;
            data = &data[used..];
            let Some(reply) = reply else { break };
            match self.stage {
                Stage::Banner if reply.code == 220 => {
                    self.stage = Stage::Helo;
                    out = Some(SmtpStep::Send(
                        format!("HELO {}\r\n", self.helo_name).into_bytes(),
                    ));
                }
                Stage::Banner => return Err(SmtpFailure::BadBanner),
                Stage::Helo if reply.code == 250 => {
                    self.stage = Stage::Quit;
                    out = Some(SmtpStep::Send(b"QUIT\r\n".to_vec()));
                }
                Stage::Helo => return Err(SmtpFailure::BadHelo),
                Stage::Quit | Stage::Done => {
                    self.stage = Stage::Done;
                    out = Some(SmtpStep::Done);
                }
            }
            // One command per reply: later bytes are for the next reply, but
            // the caller must send first, so stop and keep nothing.
            if matches!(out, Some(SmtpStep::Send(_))) {
                break;
            }
        }
        Ok(out.unwrap_or(if self.stage == Stage::Done {
            SmtpStep::Done
        } else {
            SmtpStep::NeedMore
        }))
    }

    /// The connection reached EOF (or a read error).
    pub fn eof(&self) -> Result<(), SmtpFailure> {
        if self.stage == Stage::Done {
            Ok(())
        } else {
            Err(SmtpFailure::ReadFailure)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_dialogue() {
        let mut d = SmtpDialogue::new(DEFAULT_HELO_NAME);
        assert_eq!(d.feed(b"220 mx.example ESMTP").unwrap(), SmtpStep::NeedMore);
        assert_eq!(
            d.feed(b"\r\n").unwrap(),
            SmtpStep::Send(b"HELO smtpchecker.keepalived.org\r\n".to_vec())
        );
        assert_eq!(
            d.feed(b"250 mx.example\r\n").unwrap(),
            SmtpStep::Send(b"QUIT\r\n".to_vec())
        );
        assert!(d.eof().is_err());
        assert_eq!(d.feed(b"221 bye\r\n").unwrap(), SmtpStep::Done);
        assert!(d.eof().is_ok());
    }

    #[test]
    fn multi_line_replies() {
        let mut d = SmtpDialogue::new("lb1");
        assert_eq!(
            d.feed(b"220-mx.example ESMTP\r\n220-second\r\n220 last\r\n")
                .unwrap(),
            SmtpStep::Send(b"HELO lb1\r\n".to_vec())
        );
        assert_eq!(
            d.feed(b"250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                .unwrap(),
            SmtpStep::Send(b"QUIT\r\n".to_vec())
        );
    }

    #[test]
    fn bad_codes() {
        let mut d = SmtpDialogue::new("x");
        assert_eq!(d.feed(b"554 no service\r\n"), Err(SmtpFailure::BadBanner));
        let mut d = SmtpDialogue::new("x");
        d.feed(b"220 ok\r\n").unwrap();
        assert_eq!(d.feed(b"501 what\r\n"), Err(SmtpFailure::BadHelo));
        assert_eq!(
            SmtpFailure::BadBanner.message(AddrPair("192.0.2.1:25".parse().unwrap())),
            "Bad greeting banner from server [192.0.2.1]:25"
        );
    }

    #[test]
    fn hostile_replies() {
        let mut r = ReplyReader::new();
        assert_eq!(r.feed(&[b'2'; 600]), Err(ReplyError::LineTooLong));
        let mut r = ReplyReader::new();
        assert_eq!(r.feed(b"22\r\n"), Err(ReplyError::Malformed));
        let mut r = ReplyReader::new();
        assert_eq!(r.feed(b"220x\r\n"), Err(ReplyError::Malformed));
        let mut r = ReplyReader::new();
        assert_eq!(r.feed(b"220-a\r\n250 b\r\n"), Err(ReplyError::CodeMismatch));
        let mut r = ReplyReader::new();
        let many = b"220-x\r\n".repeat(100);
        assert_eq!(r.feed(&many), Err(ReplyError::TooManyLines));
        let mut r = ReplyReader::new();
        assert_eq!(r.feed(b"\xff\xfe\x00\n"), Err(ReplyError::Malformed));
        let mut r = ReplyReader::new();
        assert_eq!(
            r.feed(b"220\n").unwrap(),
            (
                Some(Reply {
                    code: 220,
                    lines: 1
                }),
                4
            )
        );
    }
}
