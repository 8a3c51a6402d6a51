//! VRRP timer arithmetic, exactly as keepalived 2.2.7 computes it
//! (`include/vrrp.h` `VRRP_TIMER_SKEW_CALC`, `VRRP_MS_DOWN_TIMER`).
//!
//! All values are microseconds with unsigned integer division (truncation):
//!
//! * v2: `Skew_Time = (256 − prio) × 1 000 000 / 256` — RFC 3768 §6.1: the
//!   skew does **not** scale with the advert interval in v2.
//! * v3: `Skew_Time = (256 − prio) × (Master_Adver_Interval in cs) × 625 / 16`
//!   — that is `((256 − prio) × Master_Adver_Interval) / 256` from
//!   RFC 5798 §6.1 with 1 cs = 10 000 µs, and 10 000 / 256 = 625 / 16.
//! * `Master_Down_Interval = down_timer_adverts (3) × Master_Adver_Interval + Skew_Time`.
//!
//! Literal examples (tests below): priority 90, advert 1 s → skew
//! 648 437 µs (RFC: 0.648 s), master-down 3 648 437 µs (3.648 s); v3 with
//! advert 0.1 s → skew 64 843 µs (0.0648 s), master-down 364 843 µs.

use crate::time::Centis;
use crate::wire::Version;

/// `Skew_Time` in µs for `priority` (the effective priority, or 255 for the
/// owner) and the master's advert interval (v3 only; v2 ignores it).
pub fn skew_us(version: Version, priority: u8, master_adver_int: Centis) -> u32 {
    skew_calc(version, 256 - u64::from(priority), master_adver_int)
}

/// keepalived's `VRRP_TIMER_SKEW_MIN`: the skew for a priority of 255.
pub fn skew_min_us(version: Version, master_adver_int: Centis) -> u32 {
    skew_calc(version, 1, master_adver_int)
}

/// Computed in u64 and saturated, so that out-of-range configurations
/// (keepalived's u32 arithmetic would wrap) cannot panic.
fn skew_calc(version: Version, pri_val: u64, master_adver_int: Centis) -> u32 {
    let us = match version {
        Version::V3 => pri_val * u64::from(master_adver_int.0) * 625 / 16,
        Version::V2 => pri_val * 1_000_000 / 256,
    };
    u32::try_from(us).unwrap_or(u32::MAX)
}

/// `Master_Down_Interval` in µs.
pub fn master_down_us(
    version: Version,
    priority: u8,
    master_adver_int: Centis,
    down_timer_adverts: u8,
) -> u32 {
    let us = u64::from(down_timer_adverts) * u64::from(master_adver_int.as_micros())
        + u64::from(skew_us(version, priority, master_adver_int));
    u32::try_from(us).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_numbers_v2_priority_90_advert_1s() {
        // RFC 3768: skew = (256-90)/256 s = 0.6484375 s; keepalived truncates to µs.
        assert_eq!(skew_us(Version::V2, 90, Centis(100)), 648_437);
        assert_eq!(master_down_us(Version::V2, 90, Centis(100), 3), 3_648_437);
    }

    #[test]
    fn rfc_numbers_v3_priority_90() {
        assert_eq!(skew_us(Version::V3, 90, Centis(100)), 648_437);
        assert_eq!(master_down_us(Version::V3, 90, Centis(100), 3), 3_648_437);
        // advert 0.1 s: skew 0.06484375 s -> 64 843 µs; master-down 0.364843 s.
        assert_eq!(skew_us(Version::V3, 90, Centis(10)), 64_843);
        assert_eq!(master_down_us(Version::V3, 90, Centis(10), 3), 364_843);
    }

    #[test]
    fn v2_skew_independent_of_interval() {
        // Priority 100, advert 3 s: RFC 3768 skew is still (256-100)/256 s.
        assert_eq!(skew_us(Version::V2, 100, Centis(300)), 609_375);
        assert_eq!(master_down_us(Version::V2, 100, Centis(300), 3), 9_609_375);
        // v3 scales it: (156 * 3 s)/256 = 1.828125 s.
        assert_eq!(skew_us(Version::V3, 100, Centis(300)), 1_828_125);
    }

    #[test]
    fn extremes() {
        assert_eq!(skew_us(Version::V2, 255, Centis(100)), 3_906);
        assert_eq!(skew_us(Version::V2, 1, Centis(100)), 996_093);
        assert_eq!(skew_min_us(Version::V3, Centis(100)), 3_906);
        // v3 max interval 40.95 s, priority 1: no overflow in u32.
        assert_eq!(skew_us(Version::V3, 1, Centis(4095)), 40_790_039);
        assert_eq!(
            master_down_us(Version::V3, 1, Centis(4095), 100),
            4_135_790_039
        );
    }
}
