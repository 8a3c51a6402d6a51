//! Polling helpers.

use std::time::{Duration, Instant};

/// Poll `cond` every 20 ms until it holds or `timeout` passes; true if it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Poll `f` until it returns `Some` or `timeout` passes.
pub fn wait_for_value<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let mut out = None;
    wait_for(timeout, || {
        out = f();
        out.is_some()
    });
    out
}
