//! Urgency as a calibrated probability, and the threshold that a stated
//! cost of a miss against a false alarm implies.
//!
//! The urgency model's raw margin (score urgent − score not) is mapped to a
//! probability by Platt scaling, `p = σ(a·margin + b)`, fitted on the
//! validation split (never on the training split, whose margins are
//! over-confident, and never on the test split). The threshold is then the
//! one that minimises `cost_ratio × misses + false alarms` on the same
//! split: a missed life-safety hazard is the worst error the system can
//! make, a flood of false alarms the second worst.

use serde::{Deserialize, Serialize};

/// How many false alarms one missed urgent report is worth.
pub const COST_RATIO: f64 = 10.0;

/// `p = σ(a·margin + b)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope.
    pub a: f64,
    /// Offset.
    pub b: f64,
}

impl Default for Platt {
    /// The uncalibrated softmax of two classes: σ(margin).
    fn default() -> Self {
        Self { a: 1.0, b: 0.0 }
    }
}

impl Platt {
    /// The calibrated probability of a margin.
    pub fn probability(&self, margin: f64) -> f64 {
        sigmoid(self.a * margin + self.b)
    }

    /// Fits `a`, `b` by Newton's method on `(margin, truly urgent)` with
    /// Platt's smoothed targets (so that a separable split does not drive
    /// the slope to infinity). Deterministic; the default for an empty or
    /// one-class set.
    pub fn fit(samples: &[(f64, bool)]) -> Self {
        let positives = samples.iter().filter(|(_, y)| *y).count() as f64;
        let negatives = samples.len() as f64 - positives;
        if positives == 0.0 || negatives == 0.0 {
            return Self::default();
        }
        let hi = (positives + 1.0) / (positives + 2.0);
        let lo = 1.0 / (negatives + 2.0);
        let (mut a, mut b) = (1.0, 0.0);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
            for &(m, y) in samples {
                let t = if y { hi } else { lo };
                let p = sigmoid(a * m + b);
                let d = p - t;
                let w = p * (1.0 - p);
                ga += d * m;
                gb += d;
                haa += w * m * m;
                hab += w * m;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-12 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            a -= da;
            b -= db;
            if da.abs() + db.abs() < 1e-10 {
                break;
            }
        }
        Self { a, b }
    }
}

/// The threshold on a calibrated probability `p` of urgency that
/// minimises the expected cost when a miss costs `cost_ratio` false
/// alarms: flag when `p · cost_ratio ≥ (1 − p)`, i.e. `p ≥ 1 / (1 +
/// cost_ratio)`. Chosen from the ratio alone, not by searching the
/// validation split, so a retrain with one more example does not move it.
pub fn bayes_threshold(cost_ratio: f64) -> f64 {
    1.0 / (1.0 + cost_ratio)
}

/// The logistic function.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_orders_and_calibrates() {
        let samples: Vec<(f64, bool)> = (0..100)
            .map(|i| (f64::from(i) / 10.0 - 5.0, i % 10 < i / 10))
            .collect();
        let p = Platt::fit(&samples);
        assert!(p.a > 0.0, "{p:?}");
        assert!(
            p.probability(4.5) > 0.8 && p.probability(-4.5) < 0.2,
            "{p:?}"
        );
        assert_eq!(Platt::fit(&[(1.0, true)]), Platt::default());
    }

    #[test]
    fn the_threshold_follows_the_cost_ratio() {
        assert!((bayes_threshold(1.0) - 0.5).abs() < 1e-12);
        assert!((bayes_threshold(COST_RATIO) - 1.0 / (1.0 + COST_RATIO)).abs() < 1e-12);
        assert!(bayes_threshold(20.0) < bayes_threshold(5.0));
    }
}
