//! Small statistics over samples.

use serde_json::{json, Value};

/// Summary of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Smallest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    /// Summary of `v` (`None` when empty; NaN values are ignored).
    pub fn of(v: &[f64]) -> Option<Summary> {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if s.is_empty() {
            return None;
        }
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Some(Summary {
            n,
            min: s[0],
            median,
            max: s[n - 1],
        })
    }

    /// As JSON.
    pub fn json(&self) -> Value {
        json!({"n": self.n, "min": self.min, "median": self.median, "max": self.max})
    }
}

/// `a / b` when both are meaningful.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (a.is_finite() && b.is_finite() && b.abs() > f64::EPSILON).then(|| a / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let s = Summary::of(&[3.0, 1.0, 2.0, f64::NAN]).unwrap_or(Summary {
            n: 0,
            min: 0.0,
            median: 0.0,
            max: 0.0,
        });
        assert_eq!((s.n, s.min, s.median, s.max), (3, 1.0, 2.0, 3.0));
        assert_eq!(Summary::of(&[1.0, 2.0]).map(|s| s.median), Some(1.5));
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(1.0, 2.0), Some(0.5));
    }
}
