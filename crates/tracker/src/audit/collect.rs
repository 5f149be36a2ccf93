//! One group's durations as they are collected, and its figures: exact
//! nearest-rank percentiles by selection, O(n) per group and step.

use super::{
    dims_label, Dimension, FailedVerification, GroupTimes, ResponseTimes, Sample, StepTimes,
};
use std::collections::BTreeMap;

/// `(p50, p90, max)` of unsorted durations by nearest rank, in O(n):
/// two selections instead of a sort (the same values as sorting and
/// reading [`super::nearest_rank`]).
pub fn percentiles(values: &mut [i64]) -> (Option<i64>, Option<i64>, Option<i64>) {
    let n = values.len();
    if n == 0 {
        return (None, None, None);
    }
    let rank = |p: usize| (p * n).div_ceil(100).clamp(1, n) - 1;
    let (r50, r90) = (rank(50), rank(90));
    let (below, p90, above) = values.select_nth_unstable(r90);
    let p90 = *p90;
    let max = above.iter().copied().max().unwrap_or(p90).max(p90);
    let p50 = if r50 == r90 {
        p90
    } else {
        *below.select_nth_unstable(r50).1
    };
    (Some(p50), Some(p90), Some(max))
}

/// One group's collected durations (both backends collect into this, so
/// that the figures come from one piece of code).
#[derive(Default)]
pub(crate) struct Collected {
    /// Tickets in the group.
    count: u64,
    /// Of those, reopened at least once.
    reopened: u64,
    /// Steps left out as data errors.
    data_errors: u64,
    /// Per step: valid durations (ms) and how many were within deadline.
    steps: [(Vec<i64>, u64); 3],
    /// Resolved → verified durations (ms).
    verify: Vec<i64>,
    /// Fixes found not fixed (reopens).
    failed: u64,
    /// Fixes judged (failed ones and verified tickets).
    judged: u64,
}

impl Collected {
    /// Adds one ticket read in full (the portable path).
    pub(crate) fn add(&mut self, s: &Sample) {
        self.ticket(s.reopens, s.closed_ms.is_some());
        match (s.resolved_ms, s.closed_ms) {
            (Some(resolved), Some(closed)) if closed >= resolved => {
                self.verified(closed - resolved)
            }
            (_, Some(_)) => self.data_error(),
            _ => {}
        }
        let done = [s.acknowledged_ms, s.made_safe_ms, s.resolved_ms];
        for (i, at) in done.into_iter().enumerate() {
            let Some(at) = at else { continue };
            let needs_ack = i > 0 && s.acknowledged_ms.is_none();
            if needs_ack || at < s.received_ms {
                self.data_error();
            } else {
                self.step(i, at - s.received_ms, at <= s.due_ms[i]);
            }
        }
    }

    /// Counts one ticket, reopened `reopens` times and verified or not.
    fn ticket(&mut self, reopens: i64, verified: bool) {
        let reopens = u64::try_from(reopens).unwrap_or(0);
        self.count += 1;
        self.reopened += u64::from(reopens > 0);
        self.failed += reopens;
        self.judged += reopens + u64::from(verified);
    }

    /// Records a valid resolved → verified duration (ms).
    fn verified(&mut self, duration_ms: i64) {
        self.verify.push(duration_ms);
    }

    /// Counts one step left out as a data error.
    fn data_error(&mut self) {
        self.data_errors += 1;
    }

    /// Records a valid duration (ms) of step `i` (0 acknowledge, 1 make
    /// safe, 2 resolve); steps out of range are ignored.
    fn step(&mut self, i: usize, duration_ms: i64, within: bool) {
        if let Some((durations, n_within)) = self.steps.get_mut(i) {
            durations.push(duration_ms);
            *n_within += u64::from(within);
        }
    }

    /// Adds another part of the same group (e.g. another partition's).
    pub(crate) fn merge(&mut self, other: Collected) {
        self.count += other.count;
        self.reopened += other.reopened;
        self.data_errors += other.data_errors;
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.0.extend(theirs.0);
            mine.1 += theirs.1;
        }
        self.verify.extend(other.verify);
        self.failed += other.failed;
        self.judged += other.judged;
    }

    /// The group's figures; `group` pairs each dimension with its value.
    fn finish(self, group: Vec<(Dimension, String)>) -> GroupTimes {
        let [ack, safe, res] = self.steps.map(|(mut d, within)| {
            let (p50, p90, max) = percentiles(&mut d);
            StepTimes::new(d.len() as u64, p50, p90, max, within)
        });
        let mut verify = self.verify;
        let (p50, p90, max) = percentiles(&mut verify);
        let verify = StepTimes {
            within_deadline: None,
            ..StepTimes::new(verify.len() as u64, p50, p90, max, 0)
        };
        let failed_verification = FailedVerification {
            count: self.failed,
            of: self.judged,
            share: (self.judged > 0).then(|| self.failed as f64 / self.judged as f64),
        };
        GroupTimes {
            group: group
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join("/"),
            key: group.into_iter().map(|(d, v)| (d.as_str(), v)).collect(),
            count: self.count,
            reopened: self.reopened,
            data_errors: self.data_errors,
            acknowledge: ack,
            make_safe: safe,
            resolve: res,
            verify,
            failed_verification,
        }
    }
}

/// The report from groups keyed by their values (in `dims` order); a
/// `BTreeMap` orders them by key, byte-wise, on every backend.
pub(crate) fn assemble(
    dims: &[Dimension],
    groups: BTreeMap<Vec<String>, Collected>,
) -> ResponseTimes {
    let groups = groups
        .into_iter()
        .map(|(key, c)| c.finish(dims.iter().copied().zip(key).collect()))
        .collect();
    ResponseTimes {
        group_by: dims_label(dims),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::nearest_rank;

    #[test]
    fn selection_gives_the_sorted_nearest_ranks() {
        let mut seed = 7_u64;
        for n in [1_usize, 2, 3, 9, 10, 11, 99, 1000] {
            let values: Vec<i64> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 40) as i64 % 500
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let want = (
                nearest_rank(&sorted, 50),
                nearest_rank(&sorted, 90),
                sorted.last().copied(),
            );
            assert_eq!(percentiles(&mut values.clone()), want, "n = {n}");
        }
        assert_eq!(percentiles(&mut []), (None, None, None));
    }
}
