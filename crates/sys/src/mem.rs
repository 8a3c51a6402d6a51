//! Heap housekeeping.

/// Gives the free memory of the C heap back to the kernel (glibc
/// `malloc_trim(0)`: free pages inside the heap are `madvise`d away, the
/// top is shrunk). A long-lived process calls it after a burst of
/// short-lived allocations (a configuration received and mapped) so that
/// its resident size reflects what it keeps. Returns whether memory was
/// released; a no-op (false) on C libraries without it.
pub fn trim_heap() -> bool {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: malloc_trim takes an integer and only walks the
        // allocator's own free lists under its lock; no pointer is passed.
        unsafe { libc::malloc_trim(0) != 0 }
    }
    #[cfg(not(target_env = "gnu"))]
    {
        false
    }
}

/// Fixes the C heap's mmap threshold: blocks of at least `bytes` get a
/// mapping of their own, given back to the kernel as soon as they are freed,
/// so large short-lived buffers (a configuration being decoded) never leave
/// holes in the heap between long-lived allocations. A fixed value also
/// stops glibc from raising the threshold (and the trim threshold with it)
/// after such a block is freed. Returns whether it was applied (false on C
/// libraries without `mallopt`).
pub fn set_mmap_threshold(bytes: usize) -> bool {
    #[cfg(target_env = "gnu")]
    {
        let Ok(v) = libc::c_int::try_from(bytes) else {
            return false;
        };
        // SAFETY: mallopt takes two integers and only changes the
        // allocator's parameters under its lock; no pointer is passed.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, v) == 1 }
    }
    #[cfg(not(target_env = "gnu"))]
    {
        let _ = bytes;
        false
    }
}

/// A field of this process's `/proc/self/smaps_rollup` (`"Pss:"`,
/// `"Anonymous:"` …) in kB; 0 when unreadable. For memory profiles.
pub fn self_rollup_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// RSS in kB of this process's `[heap]` mapping (glibc's main arena); 0
/// when unreadable. For memory profiles.
pub fn self_heap_rss_kb() -> u64 {
    heap_rss_in(&std::fs::read_to_string("/proc/self/smaps").unwrap_or_default())
}

/// The `Rss:` of the `[heap]` mapping in an `smaps` text.
fn heap_rss_in(smaps: &str) -> u64 {
    let mut in_heap = false;
    for l in smaps.lines() {
        let first = l.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            in_heap = l.ends_with("[heap]");
        } else if in_heap && l.starts_with("Rss:") {
            return l
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

#[cfg(test)]
mod tests {
    #[test]
    fn trim_after_a_burst_does_not_break_the_heap() {
        let v: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 4096]).collect();
        drop(v);
        let _ = super::trim_heap();
        let w = vec![7u8; 1 << 20];
        assert_eq!(w[12345], 7);
    }

    #[test]
    fn mmap_threshold_is_accepted_and_large_blocks_still_work() {
        #[cfg(target_env = "gnu")]
        assert!(super::set_mmap_threshold(64 * 1024));
        assert!(!super::set_mmap_threshold(usize::MAX));
        let big = vec![3u8; 256 * 1024];
        assert_eq!(big[200_000], 3);
        drop(big);
        let small: Vec<u32> = (0..1000).collect();
        assert_eq!(small[999], 999);
    }

    #[test]
    fn heap_rss_is_read_from_the_heap_mapping_only() {
        let smaps = "\
55d0c0a00000-55d0c0a21000 r--p 00000000 08:01 123 /usr/sbin/keepalived
Rss:                 132 kB
55d0c1e6e000-55d0c1f0f000 rw-p 00000000 00:00 0                          [heap]
Size:                644 kB
Rss:                 388 kB
7f0c2c000000-7f0c2c021000 rw-p 00000000 00:00 0
Rss:                 132 kB
";
        assert_eq!(super::heap_rss_in(smaps), 388);
        assert_eq!(super::heap_rss_in("no heap here\nRss: 5 kB\n"), 0);
        // This process has resident memory.
        assert!(super::self_rollup_kb("Rss:") > 0);
    }
}
