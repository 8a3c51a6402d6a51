//! HTTP_GET / SSL_GET protocol logic: the request keepalived 2.2.7 sends, a
//! bounded incremental response parser that digests the body with MD5, and
//! the status-code / digest verdict.
//!
//! Upstream: `check/check_http.c` (request template lines 122-132, request
//! building 1590-1625, verdict `http_handle_response` 1289-1380, body
//! streaming `http_process_response` 1408-1460) and `lib/html.c`.

use std::fmt;
use std::net::SocketAddr;

use md5::{Digest, Md5};

use crate::service::host_for_url;

/// keepalived's `MAX_BUFFER_LENGTH` (`include/check_http.h:132`): the whole
/// status line and header block must arrive within this many bytes minus one.
pub const MAX_HEADER_BYTES: usize = 4095;

/// Default cap on the body bytes read before the response is rejected.
/// keepalived has no cap (it reads to EOF); we bound the work per probe.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// Lowest and highest status codes accepted by `status_code`
/// (`include/check_http.h:50-51`).
pub const STATUS_CODE_MIN: u16 = 100;
/// See [`STATUS_CODE_MIN`].
pub const STATUS_CODE_MAX: u16 = 599;

/// `http_protocol` of an HTTP_GET / SSL_GET checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpProtocol {
    /// `1.0` (default): HTTP/1.0 without `Connection: close`.
    #[default]
    V1_0,
    /// `1.0C`: HTTP/1.0 with `Connection: close`.
    V1_0C,
    /// `1.1`: HTTP/1.1 with `Connection: close`.
    V1_1,
}

impl HttpProtocol {
    /// Parses `1.0`, `1.0C`/`1.0c` or `1.1` (as keepalived and genhash accept).
    pub fn parse(s: &str) -> Option<HttpProtocol> {
        match s {
            "1.0" => Some(HttpProtocol::V1_0),
            "1.0C" | "1.0c" => Some(HttpProtocol::V1_0C),
            "1.1" => Some(HttpProtocol::V1_1),
            _ => None,
        }
    }
}

/// The `Host:` header source: a configured virtualhost or the address probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestHost<'a> {
    /// A virtualhost (url → checker → real_server → virtual_server
    /// precedence is the caller's job); sent without a port.
    VirtualHost(&'a str),
    /// No virtualhost: `ip:port` of the connect address, IPv6 in brackets.
    Addr(SocketAddr),
}

/// Builds the GET request exactly as keepalived 2.2.7 does:
///
/// ```text
/// GET <path> HTTP/1.<0|1>\r\n
/// User-Agent: KeepAliveClient\r\n
/// [Connection: close\r\n]
/// Host: <virtualhost | ip:port | [ipv6]:port>\r\n\r\n
/// ```
pub fn build_request(path: &str, protocol: HttpProtocol, host: &RequestHost<'_>) -> Vec<u8> {
    let minor = if protocol == HttpProtocol::V1_1 { 1 } else { 0 };
    let conn = match protocol {
        HttpProtocol::V1_0 => "",
        HttpProtocol::V1_0C | HttpProtocol::V1_1 => "Connection: close\r\n",
    };
    let host = match host {
        RequestHost::VirtualHost(v) => (*v).to_string(),
        RequestHost::Addr(a) => format!("{}:{}", host_for_url(a.ip()), a.port()),
    };
    format!(
        "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{conn}Host: {host}\r\n\r\n"
    )
    .into_bytes()
}

/// Set of accepted status codes (`status_code 200 301-302 ...`), 100..=599.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StatusCodes {
    bits: [u64; 8],
}

impl fmt::Debug for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries((STATUS_CODE_MIN..=STATUS_CODE_MAX).filter(|c| self.contains(*c)))
            .finish()
    }
}

/// An invalid `status_code` item (keepalived: `Invalid HTTP_GET status code '%s'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadStatusCode(pub String);

impl fmt::Display for BadStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid HTTP_GET status code '{}'", self.0)
    }
}

impl std::error::Error for BadStatusCode {}

impl StatusCodes {
    /// The empty set.
    pub fn empty() -> StatusCodes {
        StatusCodes { bits: [0; 8] }
    }

    /// keepalived's default when no `status_code` is given: 200-299
    /// (`include/check_http.h:52-53`).
    pub fn default_success() -> StatusCodes {
        let mut s = StatusCodes::empty();
        s.insert_range(200, 299);
        s
    }

    fn insert_range(&mut self, min: u16, max: u16) {
        for c in min..=max {
            let i = usize::from(c - STATUS_CODE_MIN);
            self.bits[i / 64] |= 1 << (i % 64);
        }
    }

    /// Adds one item: `N` or `N-M`, each in 100..=599 and N <= M.
    pub fn add(&mut self, item: &str) -> Result<(), BadStatusCode> {
        let bad = || BadStatusCode(item.to_string());
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (a, b),
            None => (item, item),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return Err(bad());
        }
        let min: u16 = a.parse().map_err(|_| bad())?;
        let max: u16 = b.parse().map_err(|_| bad())?;
        let ok = |c: u16| (STATUS_CODE_MIN..=STATUS_CODE_MAX).contains(&c);
        if !ok(min) || !ok(max) || min > max {
            return Err(bad());
        }
        self.insert_range(min, max);
        Ok(())
    }

    /// Builds a set from the `status_code` arguments; an empty list gives the
    /// default 200-299, as keepalived does in `url_check()`.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<StatusCodes, BadStatusCode> {
        if items.is_empty() {
            return Ok(StatusCodes::default_success());
        }
        let mut s = StatusCodes::empty();
        for i in items {
            s.add(i.as_ref())?;
        }
        Ok(s)
    }

    /// Whether `code` is accepted.
    pub fn contains(&self, code: u16) -> bool {
        if !(STATUS_CODE_MIN..=STATUS_CODE_MAX).contains(&code) {
            return false;
        }
        let i = usize::from(code - STATUS_CODE_MIN);
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }
}

impl Default for StatusCodes {
    fn default() -> Self {
        StatusCodes::default_success()
    }
}

/// A `digest` value that is not 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDigest(pub String);

impl fmt::Display for BadDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "digest '{}' should be 32 hex digits", self.0)
    }
}

impl std::error::Error for BadDigest {}

/// Parses a `digest` keyword value (32 hex digits, either case).
pub fn parse_digest(hex: &str) -> Result<[u8; 16], BadDigest> {
    let b = hex.as_bytes();
    if b.len() != 32 {
        return Err(BadDigest(hex.to_string()));
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = nib(b[2 * i]).ok_or_else(|| BadDigest(hex.to_string()))?;
        let lo = nib(b[2 * i + 1]).ok_or_else(|| BadDigest(hex.to_string()))?;
        *o = hi << 4 | lo;
    }
    Ok(out)
}

/// Lower-case hex of a digest, as genhash prints it and `digest` expects.
pub fn digest_hex(d: &[u8; 16]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpParseError {
    /// The connection closed before the end of the header block
    /// (keepalived: `Read, no data received from`).
    NoData,
    /// The header block exceeds [`MAX_HEADER_BYTES`].
    HeaderTooLarge,
    /// The body exceeds the configured maximum.
    BodyTooLarge,
    /// Data was fed after [`ResponseParser::finish`] or after an error.
    Finished,
}

impl fmt::Display for HttpParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpParseError::NoData => f.write_str("no data received"),
            HttpParseError::HeaderTooLarge => {
                write!(f, "HTTP header larger than {MAX_HEADER_BYTES} bytes")
            }
            HttpParseError::BodyTooLarge => f.write_str("HTTP body larger than the limit"),
            HttpParseError::Finished => f.write_str("response already complete"),
        }
    }
}

impl std::error::Error for HttpParseError {}

/// A fully read response (the connection reached EOF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code, 0 when the status line is malformed (as keepalived's
    /// `extract_status_code`).
    pub status: u16,
    /// `Content-Length`, when present and numeric.
    pub content_length: Option<u64>,
    /// Body bytes received after the header block.
    pub body_len: u64,
    /// MD5 of the body (at most `Content-Length` bytes of it), when digesting.
    pub digest: Option<[u8; 16]>,
    /// The raw header block including the final CRLFCRLF (for genhash -v).
    pub header: Vec<u8>,
}

impl HttpResponse {
    /// keepalived logs a length mismatch once; true when one exists.
    pub fn content_length_mismatch(&self) -> bool {
        matches!(self.content_length, Some(cl) if cl != self.body_len)
    }
}

/// Incremental, bounded parser for an HTTP response read to EOF.
///
/// Feed every chunk read from the socket with [`feed`](Self::feed), then call
/// [`finish`](Self::finish) at EOF. Memory use is bounded by
/// [`MAX_HEADER_BYTES`]; the body is streamed into MD5 and only counted.
pub struct ResponseParser {
    header: Vec<u8>,
    in_body: bool,
    status: u16,
    content_length: Option<u64>,
    body_len: u64,
    max_body: u64,
    md5: Option<Md5>,
    failed: bool,
}

impl fmt::Debug for ResponseParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseParser")
            .field("header_len", &self.header.len())
            .field("in_body", &self.in_body)
            .field("status", &self.status)
            .field("content_length", &self.content_length)
            .field("body_len", &self.body_len)
            .finish()
    }
}

impl ResponseParser {
    /// A parser; `digest` says whether to MD5 the body, `max_body` caps it.
    pub fn new(digest: bool, max_body: u64) -> ResponseParser {
        ResponseParser {
            header: Vec::new(),
            in_body: false,
            status: 0,
            content_length: None,
            body_len: 0,
            max_body,
            md5: digest.then(Md5::new),
            failed: false,
        }
    }

    /// Whether the header block is complete.
    pub fn header_complete(&self) -> bool {
        self.in_body
    }

    /// The status code once the header block is complete.
    pub fn status(&self) -> Option<u16> {
        self.in_body.then_some(self.status)
    }

    /// Consumes one chunk of the response.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), HttpParseError> {
        if self.failed {
            return Err(HttpParseError::Finished);
        }
        if !self.in_body {
            // Look for CRLFCRLF, allowing it to straddle chunks: rescan from 3
            // bytes before the old end.
            let old = self.header.len();
            let room = MAX_HEADER_BYTES - old;
            let take = data.len().min(room);
            self.header.extend_from_slice(&data[..take]);
            let from = old.saturating_sub(3);
            match find_crlfcrlf(&self.header[from..]) {
                Some(pos) => {
                    let end = from + pos + 4;
                    let consumed_from_data = end - old;
                    self.header.truncate(end);
                    data = &data[consumed_from_data..];
                    self.in_body = true;
                    self.status = extract_status_code(&self.header);
                    self.content_length = extract_content_length(&self.header);
                }
                None => {
                    if self.header.len() >= MAX_HEADER_BYTES {
                        self.failed = true;
                        return Err(HttpParseError::HeaderTooLarge);
                    }
                    return Ok(());
                }
            }
        }
        self.body(data)
    }

    fn body(&mut self, data: &[u8]) -> Result<(), HttpParseError> {
        if data.is_empty() {
            return Ok(());
        }
        let n = data.len() as u64;
        let new_len = self.body_len.saturating_add(n);
        if new_len > self.max_body {
            self.failed = true;
            return Err(HttpParseError::BodyTooLarge);
        }
        if let Some(md5) = self.md5.as_mut() {
            // Digest at most Content-Length bytes (http_process_response).
            let take = match self.content_length {
                Some(cl) if cl <= self.body_len => 0,
                Some(cl) => (cl - self.body_len).min(n),
                None => n,
            };
            // `take` <= n = data.len(), so the conversion and slice are in range.
            md5.update(&data[..usize::try_from(take).unwrap_or(data.len())]);
        }
        self.body_len = new_len;
        Ok(())
    }

    /// Ends the response at EOF.
    pub fn finish(self) -> Result<HttpResponse, HttpParseError> {
        if self.failed {
            return Err(HttpParseError::Finished);
        }
        if !self.in_body {
            return Err(HttpParseError::NoData);
        }
        Ok(HttpResponse {
            status: self.status,
            content_length: self.content_length,
            body_len: self.body_len,
            digest: self.md5.map(|m| m.finalize().into()),
            header: self.header,
        })
    }
}

fn find_crlfcrlf(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The status code of the status line: the 3 digits after the first space,
/// followed by a space (or, unlike keepalived, the end of the line). 0 when
/// malformed.
pub fn extract_status_code(header: &[u8]) -> u16 {
    let line_end = header
        .iter()
        .position(|&c| c == b'\r' || c == b'\n')
        .unwrap_or(header.len());
    let line = &header[..line_end];
    let Some(sp) = line.iter().position(|&c| c == b' ') else {
        return 0;
    };
    let rest = &line[sp + 1..];
    if rest.len() < 3 || !rest[..3].iter().all(u8::is_ascii_digit) {
        return 0;
    }
    if rest.len() > 3 && rest[3] != b' ' {
        return 0;
    }
    rest[..3]
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'))
}

/// `Content-Length` from a header block (name case-insensitive), `None` if
/// absent or not a plain decimal number.
pub fn extract_content_length(header: &[u8]) -> Option<u64> {
    for line in header.split(|&c| c == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        let v = line[colon + 1..].trim_ascii();
        if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
            return None;
        }
        return v.iter().try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
    }
    None
}

/// One `url { }` block of an HTTP_GET / SSL_GET checker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlCheck {
    /// `path`.
    pub path: String,
    /// `status_code` set (default 200-299).
    pub status_codes: StatusCodes,
    /// `digest`, when set.
    pub digest: Option<[u8; 16]>,
    /// `virtualhost` of this url block.
    pub virtualhost: Option<String>,
}

/// What a successful url check verified, naming keepalived's message
/// (`"%s success to %s url(%s)"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSuccess {
    /// Only the status code was checked: `HTTP status code`.
    StatusCode,
    /// The digest matched too: `MD5 digest`.
    Digest,
}

impl UrlSuccess {
    /// The message prefix keepalived logs.
    pub fn as_str(self) -> &'static str {
        match self {
            UrlSuccess::StatusCode => "HTTP status code",
            UrlSuccess::Digest => "MD5 digest",
        }
    }
}

/// Why an HTTP probe failed; `Display` gives keepalived's `timeout_epilog`
/// wording (logged as `"<msg> server <rs>."` with `log_all_failures`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// Response ended before the header block.
    NoData,
    /// Status code not in the accepted set.
    StatusCode(u16),
    /// Body digest differs.
    Digest,
    /// Oversized header or body.
    TooLarge,
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpFailure::NoData => f.write_str("Read, no data received from "),
            HttpFailure::StatusCode(_) => f.write_str("HTTP status code error to"),
            HttpFailure::Digest => f.write_str("MD5 digest error to"),
            HttpFailure::TooLarge => f.write_str("Response too large from"),
        }
    }
}

/// Verdict on a parsed (or failed) response for one url, in keepalived's
/// order: data present, status code, then digest.
pub fn evaluate(
    url: &UrlCheck,
    response: Result<&HttpResponse, &HttpParseError>,
) -> Result<UrlSuccess, HttpFailure> {
    judge(&url.status_codes, url.digest, response)
}

fn judge(
    status_codes: &StatusCodes,
    digest: Option<[u8; 16]>,
    response: Result<&HttpResponse, &HttpParseError>,
) -> Result<UrlSuccess, HttpFailure> {
    let resp = match response {
        Ok(r) => r,
        Err(HttpParseError::NoData) | Err(HttpParseError::Finished) => {
            return Err(HttpFailure::NoData)
        }
        Err(_) => return Err(HttpFailure::TooLarge),
    };
    if !status_codes.contains(resp.status) {
        return Err(HttpFailure::StatusCode(resp.status));
    }
    match digest {
        None => Ok(UrlSuccess::StatusCode),
        Some(want) if resp.digest == Some(want) => Ok(UrlSuccess::Digest),
        Some(_) => Err(HttpFailure::Digest),
    }
}

/// Picks the virtualhost with keepalived's precedence: url, checker,
/// real_server, virtual_server (`check/check_http.c:1598-1607`).
pub fn choose_virtualhost<'a>(
    url: Option<&'a str>,
    checker: Option<&'a str>,
    real_server: Option<&'a str>,
    virtual_server: Option<&'a str>,
) -> Option<&'a str> {
    url.or(checker).or(real_server).or(virtual_server)
}

/// One url fetch as a sans-IO machine: the daemon writes
/// [`HttpProbe::pending`] bytes, reports what it wrote, feeds what it reads,
/// and calls [`HttpProbe::eof`] when the server closes. Over TLS the same
/// bytes go through rustls.
#[derive(Debug)]
pub struct HttpProbe {
    request: Vec<u8>,
    written: usize,
    parser: ResponseParser,
    status_codes: StatusCodes,
    digest: Option<[u8; 16]>,
    failed: Option<HttpFailure>,
}

impl HttpProbe {
    /// Prepares the request for `url`; `host` is the chosen virtualhost or
    /// the connect address.
    pub fn new(
        url: &UrlCheck,
        protocol: HttpProtocol,
        host: &RequestHost<'_>,
        max_body: u64,
    ) -> HttpProbe {
        HttpProbe {
            request: build_request(&url.path, protocol, host),
            written: 0,
            parser: ResponseParser::new(url.digest.is_some(), max_body),
            status_codes: url.status_codes.clone(),
            digest: url.digest,
            failed: None,
        }
    }

    /// Request bytes still to write.
    pub fn pending(&self) -> &[u8] {
        self.request.get(self.written..).unwrap_or_default()
    }

    /// `n` more request bytes were written.
    pub fn wrote(&mut self, n: usize) {
        self.written = self.written.saturating_add(n).min(self.request.len());
    }

    /// Bytes read from the server. Returns a verdict early only when the
    /// response is already known to fail (oversized); otherwise `None`:
    /// keep reading until EOF, as keepalived does.
    pub fn received(&mut self, data: &[u8]) -> Option<HttpFailure> {
        if let Some(f) = &self.failed {
            return Some(f.clone());
        }
        if self.parser.feed(data).is_err() {
            self.failed = Some(HttpFailure::TooLarge);
            return self.failed.clone();
        }
        None
    }

    /// The server closed the connection: the verdict.
    pub fn eof(self) -> Result<UrlSuccess, HttpFailure> {
        if let Some(f) = self.failed {
            return Err(f);
        }
        let r = self.parser.finish();
        judge(&self.status_codes, self.digest, r.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]], digest: bool) -> Result<HttpResponse, HttpParseError> {
        let mut p = ResponseParser::new(digest, DEFAULT_MAX_BODY_BYTES);
        for c in chunks {
            p.feed(c)?;
        }
        p.finish()
    }

    #[test]
    fn request_default_is_http10_with_ip_port_host() {
        let r = build_request(
            "/index.html",
            HttpProtocol::V1_0,
            &RequestHost::Addr("192.0.2.1:80".parse().unwrap()),
        );
        assert_eq!(
            r,
            b"GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.0.2.1:80\r\n\r\n"
        );
    }

    #[test]
    fn request_ipv6_and_virtualhost_and_11() {
        let r = build_request(
            "/",
            HttpProtocol::V1_1,
            &RequestHost::Addr("[2001:db8::5]:8080".parse().unwrap()),
        );
        assert_eq!(
            r,
            b"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::5]:8080\r\n\r\n"
        );
        let r = build_request(
            "/health",
            HttpProtocol::V1_0C,
            &RequestHost::VirtualHost("www.example.com"),
        );
        assert_eq!(
            r,
            b"GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"
        );
    }

    #[test]
    fn status_codes_sets() {
        let d = StatusCodes::default();
        assert!(d.contains(200) && d.contains(299));
        assert!(!d.contains(199) && !d.contains(300) && !d.contains(0));
        let s = StatusCodes::parse_list(&["200", "301-302", "404"]).unwrap();
        assert!(s.contains(200) && s.contains(301) && s.contains(302) && s.contains(404));
        assert!(!s.contains(201) && !s.contains(303));
        for bad in [
            "99", "600", "302-301", "2x0", "", "-", "200-", "+200", "65736",
        ] {
            assert!(StatusCodes::parse_list(&[bad]).is_err(), "{bad}");
        }
        assert_eq!(
            StatusCodes::parse_list(&["abc"]).unwrap_err().to_string(),
            "Invalid HTTP_GET status code 'abc'"
        );
        let all = StatusCodes::parse_list(&["100-599"]).unwrap();
        assert!(all.contains(100) && all.contains(599) && !all.contains(600));
    }

    #[test]
    fn digest_parse_and_hex() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e (RFC 1321 test suite).
        let d = parse_digest("D41D8CD98F00B204E9800998ECF8427E").unwrap();
        assert_eq!(digest_hex(&d), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(parse_digest("d41d8cd98f00b204e9800998ecf8427").is_err());
        assert!(parse_digest("g41d8cd98f00b204e9800998ecf8427e").is_err());
        assert!(parse_digest("é1d8cd98f00b204e9800998ecf8427e").is_err());
    }

    #[test]
    fn parses_split_response_and_digests_body() {
        // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321).
        let r = parse_all(
            &[b"HTTP/1.0 200 OK\r", b"\nServer: x\r\n\r", b"\na", b"bc"],
            true,
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body_len, 3);
        assert_eq!(
            digest_hex(&r.digest.unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(r.header, b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n");
    }

    #[test]
    fn digest_stops_at_content_length() {
        let r = parse_all(
            &[b"HTTP/1.1 200 OK\r\ncontent-LENGTH: 3\r\n\r\nabcdef"],
            true,
        )
        .unwrap();
        assert_eq!(r.content_length, Some(3));
        assert_eq!(r.body_len, 6);
        assert!(r.content_length_mismatch());
        assert_eq!(
            digest_hex(&r.digest.unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    #[test]
    fn status_line_variants() {
        assert_eq!(extract_status_code(b"HTTP/1.1 404 Not Found\r\n"), 404);
        assert_eq!(extract_status_code(b"HTTP/1.1 204\r\n"), 204);
        assert_eq!(extract_status_code(b"HTTP/1.1 2000 x\r\n"), 0);
        assert_eq!(extract_status_code(b"HTTP/1.1  200 x\r\n"), 0);
        assert_eq!(extract_status_code(b"HTTP/1.1 20\r\n"), 0);
        assert_eq!(extract_status_code(b"garbage\r\n 200 \r\n"), 0);
        assert_eq!(extract_status_code(b""), 0);
    }

    #[test]
    fn content_length_variants() {
        assert_eq!(
            extract_content_length(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n"),
            Some(12)
        );
        assert_eq!(
            extract_content_length(b"HTTP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\n"),
            None
        );
        assert_eq!(
            extract_content_length(
                b"HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"
            ),
            None
        );
        assert_eq!(extract_content_length(b"Content-Length: 5\r\n\r\n"), None);
    }

    #[test]
    fn truncated_and_empty_responses() {
        assert_eq!(parse_all(&[], false), Err(HttpParseError::NoData));
        assert_eq!(
            parse_all(&[b"HTTP/1.0 200 OK\r\nA: b\r\n"], false),
            Err(HttpParseError::NoData)
        );
        let r = parse_all(&[b"HTTP/1.0 200 OK\r\n\r\n"], true).unwrap();
        assert_eq!(
            digest_hex(&r.digest.unwrap()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    #[test]
    fn huge_header_is_rejected_with_bounded_memory() {
        let mut p = ResponseParser::new(true, DEFAULT_MAX_BODY_BYTES);
        p.feed(b"HTTP/1.0 200 OK\r\n").unwrap();
        let line = vec![b'a'; 1000];
        let mut err = None;
        for _ in 0..10 {
            if let Err(e) = p.feed(&line) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(HttpParseError::HeaderTooLarge));
        assert!(p.header.len() <= MAX_HEADER_BYTES);
        assert_eq!(p.feed(b"x"), Err(HttpParseError::Finished));
        // A header of exactly 4095 bytes including CRLFCRLF is accepted.
        let mut h = b"HTTP/1.0 200 OK\r\nX: ".to_vec();
        h.resize(MAX_HEADER_BYTES - 4, b'y');
        h.extend_from_slice(b"\r\n\r\nbody");
        let r = parse_all(&[&h], false).unwrap();
        assert_eq!((r.status, r.body_len), (200, 4));
    }

    #[test]
    fn body_limit() {
        let mut p = ResponseParser::new(true, 10);
        p.feed(b"HTTP/1.0 200 OK\r\n\r\n0123456789").unwrap();
        assert_eq!(p.feed(b"x"), Err(HttpParseError::BodyTooLarge));
    }

    #[test]
    fn binary_garbage_never_panics() {
        let mut seed = 0x1234_5678u32;
        for len in 0..300 {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                buf.push((seed >> 16) as u8 % 16 + b'\n' - 3);
            }
            let mut p = ResponseParser::new(true, 100);
            for c in buf.chunks(7) {
                let _ = p.feed(c);
            }
            let _ = p.finish();
        }
    }

    #[test]
    fn probe_machine() {
        let url = UrlCheck {
            path: "/x".into(),
            status_codes: StatusCodes::default(),
            digest: Some(parse_digest("900150983cd24fb0d6963f7d28e17f72").unwrap()),
            virtualhost: None,
        };
        let vh = choose_virtualhost(None, None, Some("rs.example"), Some("vs.example"));
        assert_eq!(vh, Some("rs.example"));
        let mut p = HttpProbe::new(
            &url,
            HttpProtocol::V1_0,
            &RequestHost::VirtualHost(vh.unwrap()),
            100,
        );
        assert_eq!(
            p.pending(),
            b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: rs.example\r\n\r\n"
        );
        p.wrote(7);
        assert!(p.pending().starts_with(b"HTTP/1.0\r\n"));
        p.wrote(1000);
        assert!(p.pending().is_empty());
        assert_eq!(p.received(b"HTTP/1.0 200 OK\r\n\r\nab"), None);
        assert_eq!(p.received(b"c"), None);
        assert_eq!(p.eof(), Ok(UrlSuccess::Digest));
        let mut p = HttpProbe::new(&url, HttpProtocol::V1_0, &RequestHost::VirtualHost("h"), 2);
        assert_eq!(
            p.received(b"HTTP/1.0 200 OK\r\n\r\nabc"),
            Some(HttpFailure::TooLarge)
        );
        assert_eq!(p.eof(), Err(HttpFailure::TooLarge));
    }

    #[test]
    fn evaluate_order() {
        let url = UrlCheck {
            path: "/".into(),
            status_codes: StatusCodes::default(),
            digest: Some(parse_digest("900150983cd24fb0d6963f7d28e17f72").unwrap()),
            virtualhost: None,
        };
        let ok = parse_all(&[b"HTTP/1.0 200 OK\r\n\r\nabc"], true).unwrap();
        assert_eq!(evaluate(&url, Ok(&ok)), Ok(UrlSuccess::Digest));
        let bad = parse_all(&[b"HTTP/1.0 200 OK\r\n\r\nabd"], true).unwrap();
        assert_eq!(evaluate(&url, Ok(&bad)), Err(HttpFailure::Digest));
        let e500 = parse_all(&[b"HTTP/1.0 500 Oops\r\n\r\nabc"], true).unwrap();
        assert_eq!(evaluate(&url, Ok(&e500)), Err(HttpFailure::StatusCode(500)));
        assert_eq!(
            evaluate(&url, Err(&HttpParseError::NoData)),
            Err(HttpFailure::NoData)
        );
        let plain = UrlCheck {
            digest: None,
            ..url
        };
        assert_eq!(evaluate(&plain, Ok(&bad)), Ok(UrlSuccess::StatusCode));
    }
}
