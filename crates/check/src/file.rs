//! FILE_CHECK: a real server's state and weight from the integer in a
//! `track_file` (keepalived `check/check_file.c`, `trackers/track_file.c`:
//! `process_track_file`, `update_track_file_status`,
//! `process_update_checker_track_file_status`, `set_track_file_weights`,
//! `set_track_file_checkers_down`).
//!
//! Rules (2.2.7):
//! * the file holds a number in text, read as C `strtol(buf, NULL, 0)` of its
//!   first 127 bytes (leading blanks, sign, `0x` hex, leading-`0` octal,
//!   anything after the number ignored); an empty, unreadable, missing or
//!   deleted file is 0; a value outside `[-2^31, 2^31]` (or an overflow of
//!   `long`) is logged `Invalid number N read from PATH - ignoring` and the
//!   previous value is kept;
//! * checker weight `w` (FILE_CHECK `weight`, else the track_file's), `m` =
//!   -1 with `reverse`, else 1;
//! * `w == 0`: a non-zero value is a FAULT (checker down), 0 is OK (with
//!   `reverse` the other way round), no weight change;
//! * `w != 0`: `value * w * m` (clamped to the `int` range) is added to the
//!   real server's weight; the checker is in FAULT only when that product
//!   is `<= INT_MIN` (keepalived's `IPVS_WEIGHT_FAULT`); the IPVS weight is
//!   the real server's effective weight clamped to `0..=INT32_MAX`, so a
//!   negative sum leaves the server in the table with weight 0.
//!
//! The daemon reads and watches the file; this module only computes.

use crate::log::LogLine;

/// keepalived's `IPVS_WEIGHT_FAULT` (`-INT32_MAX - 1`).
pub const WEIGHT_FAULT: i64 = i32::MIN as i64;

/// keepalived reads at most this many bytes of the file (`char buf[128]`).
pub const READ_LIMIT: usize = 127;

/// What a file value means for one FILE_CHECK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// The checker is down (keepalived: "FAULT state").
    Fault,
    /// The checker is up and adds this to the real server's weight.
    Weight(i64),
}

/// The status a value gives a checker with weight `weight` (`reverse`: the
/// weight is negated) — `update_track_file_status`.
pub fn status(value: i64, weight: i32, reverse: bool) -> FileStatus {
    if weight == 0 {
        // `!new_status != (multiplier == 1)`: non-zero fails, reversed
        // zero fails.
        if (value != 0) != reverse {
            FileStatus::Fault
        } else {
            FileStatus::Weight(0)
        }
    } else {
        let m: i64 = if reverse { -1 } else { 1 };
        let p = value
            .saturating_mul(i64::from(weight))
            .saturating_mul(m)
            .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        if p <= WEIGHT_FAULT {
            FileStatus::Fault
        } else {
            FileStatus::Weight(p)
        }
    }
}

/// Why a file's content was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidNumber(pub i64);

/// Parses the file content as keepalived does (`strtol(buf, NULL, 0)` on at
/// most [`READ_LIMIT`] bytes, then the `[INT32_MIN, INT32_MAX + 1]` range
/// check). `Err` carries the value keepalived prints in its log line.
pub fn parse_value(content: &[u8]) -> Result<i64, InvalidNumber> {
    let buf = &content[..content.len().min(READ_LIMIT)];
    // A NUL ends the C string.
    let buf = buf.split(|b| *b == 0).next().unwrap_or(&[]);
    let mut i = 0;
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < buf.len() && (buf[i] == b'+' || buf[i] == b'-') {
        neg = buf[i] == b'-';
        i += 1;
    }
    let hex_digit = |b: u8| (b as char).to_digit(16);
    let radix: u32 = if buf.get(i) == Some(&b'0')
        && matches!(buf.get(i + 1), Some(b'x' | b'X'))
        && buf.get(i + 2).and_then(|b| hex_digit(*b)).is_some()
    {
        i += 2;
        16
    } else if buf.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    // Accumulate as a negative number so that LONG_MIN fits.
    let mut acc: i64 = 0;
    let mut overflow = false;
    while let Some(d) = buf.get(i).and_then(|b| (*b as char).to_digit(radix)) {
        match acc
            .checked_mul(i64::from(radix))
            .and_then(|a| a.checked_sub(i64::from(d)))
        {
            Some(a) => acc = a,
            None => overflow = true,
        }
        i += 1;
    }
    let value = if overflow {
        if neg {
            i64::MIN
        } else {
            i64::MAX
        }
    } else if neg {
        acc
    } else {
        match acc.checked_neg() {
            Some(v) => v,
            None => {
                overflow = true;
                i64::MAX
            }
        }
    };
    if overflow || value < i64::from(i32::MIN) || value > i64::from(i32::MAX) + 1 {
        return Err(InvalidNumber(value));
    }
    Ok(value)
}

/// `Invalid number N read from PATH - ignoring`.
pub fn invalid_number_line(v: InvalidNumber, path: &str) -> LogLine {
    LogLine(format!(
        "Invalid number {} read from {path} - ignoring",
        v.0
    ))
}

/// How a new value changed one checker (what the engine must do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// Up → FAULT: the checker goes down; its weight is withdrawn silently.
    ToFault,
    /// FAULT → up with this weight, added silently before the checker goes up.
    FromFault(i64),
    /// Up, the weight changes from `.0` to `.1` (`update_svr_wgt`, logged).
    Weight(i64, i64),
}

/// The change from `old` to `new`, if any.
pub fn change(old: FileStatus, new: FileStatus) -> Option<FileChange> {
    match (old, new) {
        (a, b) if a == b => None,
        (_, FileStatus::Fault) => Some(FileChange::ToFault),
        (FileStatus::Fault, FileStatus::Weight(w)) => Some(FileChange::FromFault(w)),
        (FileStatus::Weight(a), FileStatus::Weight(b)) => Some(FileChange::Weight(a, b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_parsing() {
        assert_eq!(parse_value(b""), Ok(0));
        assert_eq!(parse_value(b"5\n"), Ok(5));
        assert_eq!(parse_value(b"  -12 apples"), Ok(-12));
        assert_eq!(parse_value(b"+7"), Ok(7));
        assert_eq!(parse_value(b"0x1F"), Ok(31));
        assert_eq!(parse_value(b"0X1f"), Ok(31));
        assert_eq!(parse_value(b"010"), Ok(8));
        assert_eq!(parse_value(b"09"), Ok(0)); // octal stops at 9
        assert_eq!(parse_value(b"0x"), Ok(0));
        assert_eq!(parse_value(b"abc"), Ok(0));
        assert_eq!(parse_value(b"-"), Ok(0));
        assert_eq!(parse_value(b"12\x0034"), Ok(12));
        assert_eq!(parse_value(b"2147483648"), Ok(2_147_483_648));
        assert_eq!(parse_value(b"-2147483648"), Ok(-2_147_483_648));
        assert_eq!(
            parse_value(b"2147483649"),
            Err(InvalidNumber(2_147_483_649))
        );
        assert_eq!(
            parse_value(b"-2147483649"),
            Err(InvalidNumber(-2_147_483_649))
        );
        assert_eq!(
            parse_value(b"99999999999999999999"),
            Err(InvalidNumber(i64::MAX))
        );
        assert_eq!(
            parse_value(b"-99999999999999999999"),
            Err(InvalidNumber(i64::MIN))
        );
        // Only the first 127 bytes are read.
        let mut long = vec![b' '; 126];
        long.extend_from_slice(b"42");
        assert_eq!(parse_value(&long), Ok(4));
    }

    #[test]
    fn status_rules() {
        // weight 0: non-zero fails.
        assert_eq!(status(0, 0, false), FileStatus::Weight(0));
        assert_eq!(status(3, 0, false), FileStatus::Fault);
        assert_eq!(status(-1, 0, false), FileStatus::Fault);
        assert_eq!(status(0, 0, true), FileStatus::Fault);
        assert_eq!(status(3, 0, true), FileStatus::Weight(0));
        // weight != 0: value * weight added.
        assert_eq!(status(0, 1, false), FileStatus::Weight(0));
        assert_eq!(status(5, 1, false), FileStatus::Weight(5));
        assert_eq!(status(5, 10, false), FileStatus::Weight(50));
        assert_eq!(status(5, 10, true), FileStatus::Weight(-50));
        assert_eq!(status(-3, 2, false), FileStatus::Weight(-6));
        // FAULT only at INT_MIN or below.
        assert_eq!(
            status(-2_147_483_647, 1, false),
            FileStatus::Weight(-2_147_483_647)
        );
        assert_eq!(status(-2_147_483_648, 1, false), FileStatus::Fault);
        assert_eq!(status(-1_073_741_824, 2, false), FileStatus::Fault);
        assert_eq!(status(2_147_483_648, 1, true), FileStatus::Fault);
        assert_eq!(
            status(2_147_483_648, 1, false),
            FileStatus::Weight(2_147_483_647)
        );
    }

    #[test]
    fn changes() {
        use FileStatus::*;
        assert_eq!(change(Weight(0), Weight(0)), None);
        assert_eq!(change(Weight(0), Fault), Some(FileChange::ToFault));
        assert_eq!(change(Fault, Weight(4)), Some(FileChange::FromFault(4)));
        assert_eq!(change(Weight(1), Weight(4)), Some(FileChange::Weight(1, 4)));
        assert_eq!(change(Fault, Fault), None);
    }

    #[test]
    fn invalid_line() {
        assert_eq!(
            invalid_number_line(InvalidNumber(2_147_483_649), "/run/x").0,
            "Invalid number 2147483649 read from /run/x - ignoring"
        );
    }
}
