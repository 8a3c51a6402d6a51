//! Per-process CPU and memory from `/proc`: CPU from `/proc/PID/schedstat`
//! (nanoseconds on CPU, no 10 ms tick rounding as in utime/stime), PSS from
//! `/proc/PID/smaps_rollup` (the fair share of pages shared with the
//! parent), RSS from `/proc/PID/status`.

use std::fs;

/// Nanoseconds on CPU so far, summed over the process's threads
/// (`/proc/PID/task/*/schedstat`; `/proc/PID/schedstat` alone is the main
/// thread only).
pub fn cpu_ns(pid: i32) -> Option<u64> {
    let first = |p: String| -> Option<u64> {
        fs::read_to_string(p)
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0;
    let mut any = false;
    for t in tasks.flatten() {
        if let Some(ns) = first(format!("{}/schedstat", t.path().display())) {
            sum += ns;
            any = true;
        }
    }
    any.then_some(sum)
}

/// Number of threads.
pub fn threads(pid: i32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/task")).ok()?.count())
}

fn field_kb(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Proportional set size, kB.
pub fn pss_kb(pid: i32) -> Option<u64> {
    field_kb(
        &fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?,
        "Pss:",
    )
}

/// Resident set size, kB.
pub fn rss_kb(pid: i32) -> Option<u64> {
    field_kb(
        &fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS:",
    )
}

/// The system load average over 1, 5 and 15 minutes.
pub fn loadavg() -> Option<(f64, f64, f64)> {
    let s = fs::read_to_string("/proc/loadavg").ok()?;
    let mut w = s.split_whitespace().map(|x| x.parse::<f64>().ok());
    Some((w.next()??, w.next()??, w.next()??))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_cpu_and_memory() {
        let me = std::process::id() as i32;
        assert!(cpu_ns(me).is_some_and(|n| n > 0));
        assert!(rss_kb(me).is_some_and(|k| k > 0));
        assert!(field_kb("Rss: 10 kB\nPss:   7 kB\n", "Pss:") == Some(7));
        assert!(loadavg().is_some());
    }
}
