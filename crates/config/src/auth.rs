//! keepalived 2.4 `auth_hmac { }`: key values, defaults and checks.
//!
//! ```text
//! auth_hmac {
//!     key 1 hex:000102...1f          # 32..64 octets: hex:, ASCII, or file:PATH
//!     key 2 file:/etc/keepalived/keys/vrrp51
//!     active_key 1                   # the id used to sign
//!     anti_replay time               # time (default) | monotonic
//!     time_window 5                  # 1..300 s, default max(3 x advert_int, 5)
//!     mode enforce                   # enforce (default) | permissive | receive-only
//! }
//! ```

use crate::diag::{Diags, Loc};
use crate::model::{AuthHmac, Centis, HmacKey, HmacMode};
use std::fmt;
use std::path::Path;

/// Smallest key (octets).
pub const KEY_MIN: usize = 32;
/// Largest key (octets).
pub const KEY_MAX: usize = 64;

/// What the block said, before defaults and checks.
#[derive(Debug, Default)]
pub(crate) struct Block {
    pub keys: Vec<(HmacKey, Loc)>,
    pub active_key: Option<(u8, Loc)>,
    pub mode: Option<(HmacMode, Loc)>,
    pub anti_replay_time: Option<bool>,
    pub time_window: Option<u32>,
}

/// Decode an inline key: `hex:` then hex digits, otherwise the ASCII text.
pub fn decode_key(s: &str) -> Option<Vec<u8>> {
    match s.strip_prefix("hex:") {
        Some(h) => {
            let h: String = h.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            if h.len() % 2 != 0 || h.is_empty() {
                return None;
            }
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect()
        }
        None => Some(s.as_bytes().to_vec()),
    }
}

/// Why a key file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileError {
    /// It cannot be opened/read.
    Unreadable(String),
    /// Mode allows group or others to read it (keepalived's security error).
    TooOpen(u32),
    /// Over 4 KiB.
    TooLarge,
    /// Not 32..64 octets after decoding, or bad hex.
    BadKey(usize),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Unreadable(e) => write!(f, "cannot be opened ({e})"),
            KeyFileError::TooOpen(m) => {
                write!(f, "is readable by group or others (mode {m:o})")
            }
            KeyFileError::TooLarge => f.write_str("is too large"),
            KeyFileError::BadKey(n) => {
                write!(
                    f,
                    "holds a key of {n} octets, not in range [{KEY_MIN}, {KEY_MAX}]"
                )
            }
        }
    }
}

impl std::error::Error for KeyFileError {}

/// Read a `file:` key as keepalived does (one line, `hex:` or ASCII;
/// trailing newline ignored). The daemon calls this at start-up and `-t`
/// reports its errors as `(VI) auth_hmac key file 'PATH' <error>`.
pub fn read_key_file(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let md = std::fs::metadata(path).map_err(|e| KeyFileError::Unreadable(e.to_string()))?;
    let mode = md.permissions().mode() & 0o777;
    if mode & 0o044 != 0 {
        return Err(KeyFileError::TooOpen(mode));
    }
    if md.len() > 4096 {
        return Err(KeyFileError::TooLarge);
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| KeyFileError::Unreadable(e.to_string()))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    let k = decode_key(line).ok_or(KeyFileError::BadKey(0))?;
    if !(KEY_MIN..=KEY_MAX).contains(&k.len()) {
        return Err(KeyFileError::BadKey(k.len()));
    }
    Ok(k)
}

/// Where an `auth_hmac` key file is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFileRef {
    /// Instance name.
    pub instance: String,
    /// Key id.
    pub id: u8,
    /// The file.
    pub path: std::path::PathBuf,
    /// Configuration file naming it.
    pub file: std::path::PathBuf,
    /// Line.
    pub line: u32,
    /// Column of the `file:` value.
    pub col: u32,
}

impl KeyFileRef {
    /// Read the key (as [`read_key_file`]); on failure the located error
    /// `-t` prints: `(VI_1) auth_hmac key file 'PATH' is readable by group
    /// or others (mode 644)` (keepalived's security error), `... cannot be
    /// opened (...)`, `... is too large`, `... holds a key of N octets ...`.
    pub fn check(&self) -> Result<Vec<u8>, crate::Diagnostic> {
        read_key_file(&self.path).map_err(|e| crate::Diagnostic {
            severity: crate::Severity::Error,
            file: self.file.clone(),
            line: self.line,
            col: self.col,
            message: format!(
                "({}) auth_hmac key file '{}' {e}",
                self.instance,
                self.path.display()
            ),
        })
    }
}

/// Apply defaults and keepalived 2.4's checks (`vrrp/vrrp.c:3355-3385`).
/// An `active_key` naming no key is an error here (keepalived disables the
/// extension and runs unauthenticated, which silently lowers security).
pub(crate) fn resolve(
    d: &mut Diags,
    b: Block,
    inst: &str,
    loc: Loc,
    advert: Centis,
    strict: bool,
) -> Option<AuthHmac> {
    let Some((active, aloc)) = b.active_key else {
        d.error(loc, format!("({inst}) auth_hmac needs an active_key"));
        return None;
    };
    if !b.keys.iter().any(|(k, _)| k.id == active) {
        d.error(
            aloc,
            format!("({inst}) auth_hmac active_key {active} is not defined"),
        );
        return None;
    }
    let mut mode = b.mode.map(|m| m.0).unwrap_or(HmacMode::Enforce);
    if strict && mode != HmacMode::Enforce {
        d.warn(
            b.mode.map(|m| m.1).unwrap_or(loc),
            format!("({inst}) strict mode requires auth_hmac mode enforce"),
        );
        mode = HmacMode::Enforce;
    }
    if mode != HmacMode::Enforce {
        d.warn(
            b.mode.map(|m| m.1).unwrap_or(loc),
            format!(
                "({inst}) auth_hmac mode {} accepts unsigned adverts - use it only while migrating",
                match mode {
                    HmacMode::Permissive => "permissive",
                    _ => "receive-only",
                }
            ),
        );
    }
    let anti_replay_time = b.anti_replay_time.unwrap_or(true);
    // keepalived: 3 x whole seconds of advert_int, clamped to 5..300.
    let time_window = b
        .time_window
        .unwrap_or_else(|| (3 * (advert.0 / 100)).clamp(5, 300));
    Some(AuthHmac {
        keys: b.keys.into_iter().map(|(k, _)| k).collect(),
        active_key: active,
        mode,
        anti_replay_time,
        time_window,
    })
}
