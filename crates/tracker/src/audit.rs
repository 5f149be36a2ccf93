//! Response-time audit: how long offices take to acknowledge and resolve,
//! measured from `received_at` (the ingest clock, the start of every SLA).
//!
//! Negative durations, and a resolution without an acknowledgement, are
//! data errors: counted, never averaged in. Tickets not yet acknowledged or
//! resolved simply have no duration for that step. Percentiles use the
//! nearest-rank method over the whole set (computed here in Rust; a later
//! step can push this into SQL for very large tables).

use serde::Serialize;
use std::collections::BTreeMap;

/// How to group the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One group per street office.
    Office,
    /// One group per category.
    Category,
}

impl std::str::FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "office" => Ok(GroupBy::Office),
            "category" => Ok(GroupBy::Category),
            other => Err(format!(
                "group_by must be office or category, got {other:?}"
            )),
        }
    }
}

/// One ticket's times, as read from the store (unix ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The office id or category name.
    pub group: String,
    /// Start of the SLA.
    pub received_ms: i64,
    /// First acknowledgement, if any.
    pub acknowledged_ms: Option<i64>,
    /// Resolution, if any.
    pub resolved_ms: Option<i64>,
}

/// Figures for one step (acknowledge or resolve) of one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepTimes {
    /// How many valid durations.
    pub count: usize,
    /// Median in seconds (nearest rank); `None` without durations.
    pub median_s: Option<f64>,
    /// 90th percentile in seconds (nearest rank); `None` without durations.
    pub p90_s: Option<f64>,
}

/// Figures for one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupTimes {
    /// The office id or category name.
    pub group: String,
    /// Tickets in the group.
    pub count: usize,
    /// Received → acknowledged.
    pub acknowledge: StepTimes,
    /// Received → resolved.
    pub resolve: StepTimes,
    /// Durations left out: negative, or a resolution with no acknowledgement.
    pub data_errors: usize,
}

/// The whole answer of `GET /v1/audit/response-times`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResponseTimes {
    /// How the groups were formed.
    pub group_by: GroupBy,
    /// One entry per group, by name.
    pub groups: Vec<GroupTimes>,
}

/// The `p`-th percentile of sorted values by nearest rank:
/// the value at rank ⌈p/100 · n⌉ (1-based).
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (usize::try_from(p).unwrap_or(100) * n)
        .div_ceil(100)
        .clamp(1, n);
    sorted.get(rank - 1).copied()
}

fn step_times(mut durations_ms: Vec<i64>) -> StepTimes {
    durations_ms.sort_unstable();
    let seconds = |ms: i64| ms as f64 / 1000.0;
    StepTimes {
        count: durations_ms.len(),
        median_s: nearest_rank(&durations_ms, 50).map(seconds),
        p90_s: nearest_rank(&durations_ms, 90).map(seconds),
    }
}

/// Durations of one group's samples, and how many were data errors.
#[derive(Default)]
struct Collected {
    count: usize,
    acknowledge: Vec<i64>,
    resolve: Vec<i64>,
    data_errors: usize,
}

impl Collected {
    fn add(&mut self, s: &Sample) {
        self.count += 1;
        if let Some(ack) = s.acknowledged_ms {
            self.keep(ack - s.received_ms, true);
        }
        match (s.resolved_ms, s.acknowledged_ms) {
            (Some(_), None) => self.data_errors += 1,
            (Some(res), Some(_)) => self.keep(res - s.received_ms, false),
            (None, _) => {}
        }
    }

    fn keep(&mut self, duration_ms: i64, acknowledge: bool) {
        if duration_ms < 0 {
            self.data_errors += 1;
        } else if acknowledge {
            self.acknowledge.push(duration_ms);
        } else {
            self.resolve.push(duration_ms);
        }
    }
}

/// Groups the samples and computes each group's figures.
pub fn response_times(group_by: GroupBy, samples: &[Sample]) -> ResponseTimes {
    let mut groups: BTreeMap<&str, Collected> = BTreeMap::new();
    for s in samples {
        groups.entry(s.group.as_str()).or_default().add(s);
    }
    let groups = groups
        .into_iter()
        .map(|(group, c)| GroupTimes {
            group: group.to_owned(),
            count: c.count,
            acknowledge: step_times(c.acknowledge),
            resolve: step_times(c.resolve),
            data_errors: c.data_errors,
        })
        .collect();
    ResponseTimes { group_by, groups }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_the_textbook() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), Some(5));
        assert_eq!(nearest_rank(&v, 90), Some(9));
        assert_eq!(nearest_rank(&v, 100), Some(10));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[15, 20, 35, 40, 50], 30), Some(20));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn negative_and_missing_durations_are_data_errors() {
        let s = |ack: Option<i64>, res: Option<i64>| Sample {
            group: "g".into(),
            received_ms: 10_000,
            acknowledged_ms: ack,
            resolved_ms: res,
        };
        let out = response_times(
            GroupBy::Office,
            &[
                s(Some(70_000), Some(130_000)),
                s(Some(5_000), None),
                s(None, Some(20_000)),
                s(None, None),
            ],
        );
        let g = &out.groups[0];
        assert_eq!((g.count, g.data_errors), (4, 2));
        assert_eq!(g.acknowledge.count, 1);
        assert_eq!(g.acknowledge.median_s, Some(60.0));
        assert_eq!(g.resolve.p90_s, Some(120.0));
    }
}
