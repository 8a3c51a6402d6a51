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
}
