//! Response-time audit: how long offices take to acknowledge, make safe and
//! resolve, measured from `received_at` (the ingest clock, the start of
//! every SLA), grouped by any combination of office, category, urgency and
//! ISO week (UTC) of receipt.
//!
//! Per group and step: count, median and p90 (nearest rank, which is
//! PostgreSQL's `percentile_disc`), max, and the share done by the
//! deadline. A step done before `received_at`, or a make-safe or
//! resolution without an acknowledgement, is a data error: counted, never
//! included. Steps not yet done have no duration. Reopened tickets are
//! counted per group.
//!
//! Verification (核查): the time from the latest resolution to the
//! verification that closed the ticket (same figures, no deadline; a
//! close before the resolution is a data error), and the share of fixes
//! that failed verification: each reopen as not fixed is a failed fix,
//! each verified (closed) ticket a passed one (`count` failed `of` judged).
//!
//! Both backends group in Rust and take percentiles by selection
//! ([`percentiles`], O(n) per group and step). SQLite reads one [`Sample`]
//! per ticket ([`sql`]); PostgreSQL streams only the few integers each
//! ticket contributes through `COPY … (FORMAT binary)`, in parallel over
//! block ranges of one snapshot ([`copy`]), because its ordered-set
//! aggregates (`percentile_disc`) sort every group three times. Tests hold
//! both paths to the same figures.

pub mod binary;
pub mod chain;
pub mod chain_figures;
pub mod collect;
pub mod copy;
pub mod export;
pub(crate) mod exports_http;
pub mod kpi;
pub mod kpi_render;
pub(crate) mod monthly_http;
pub mod render;
pub mod sql;
pub(crate) mod supervision_http;

pub use collect::percentiles;
pub(crate) use collect::{assemble, Collected};
use serde::Serialize;
use std::collections::BTreeMap;

/// One way to split tickets into groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The street office.
    Office,
    /// The category.
    Category,
    /// `urgent` or `not_urgent`.
    Urgent,
    /// ISO week of `received_at` (UTC), e.g. `2025-W22`.
    Week,
    /// Calendar month of `received_at` (UTC), e.g. `2025-06`.
    Month,
}

impl Dimension {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Office => "office",
            Dimension::Category => "category",
            Dimension::Urgent => "urgent",
            Dimension::Week => "week",
            Dimension::Month => "month",
        }
    }

    /// Parses `office,category,…`: at least one, no repeats.
    pub fn parse_list(raw: &str) -> Result<Vec<Dimension>, String> {
        let mut dims = Vec::new();
        for name in raw.split(',').map(str::trim) {
            let dim = match name {
                "office" => Dimension::Office,
                "category" => Dimension::Category,
                "urgent" => Dimension::Urgent,
                "week" => Dimension::Week,
                "month" => Dimension::Month,
                other => {
                    return Err(format!(
                        "group_by takes office, category, urgent, week and month, comma-separated; got {other:?}"
                    ))
                }
            };
            if dims.contains(&dim) {
                return Err(format!("group_by names {name} twice"));
            }
            dims.push(dim);
        }
        Ok(dims)
    }
}

/// One ticket's times as stored (unix ms).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// The office id.
    pub office: String,
    /// The category name.
    pub category: String,
    /// Life-safety now.
    pub urgent: bool,
    /// Start of the SLA.
    pub received_ms: i64,
    /// First acknowledgement.
    pub acknowledged_ms: Option<i64>,
    /// First make-safe.
    pub made_safe_ms: Option<i64>,
    /// Latest resolution.
    pub resolved_ms: Option<i64>,
    /// The deadlines, in step order.
    pub due_ms: [i64; 3],
    /// Times reopened as not fixed (each a fix that failed verification).
    pub reopens: i64,
    /// Verified (closed), unix ms.
    pub closed_ms: Option<i64>,
}

impl Sample {
    /// This sample's value of `dim`.
    fn value(&self, dim: Dimension) -> String {
        match dim {
            Dimension::Office => self.office.clone(),
            Dimension::Category => self.category.clone(),
            Dimension::Urgent => urgency(self.urgent).to_owned(),
            Dimension::Week => iso_week(self.received_ms),
            Dimension::Month => month_label(month_key(self.received_ms)),
        }
    }
}

/// The `urgent` dimension's values.
pub(crate) fn urgency(urgent: bool) -> &'static str {
    if urgent {
        "urgent"
    } else {
        "not_urgent"
    }
}

/// `2025-W22`: the ISO week of a unix-ms time, UTC.
pub fn iso_week(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (year, week, _) = t.date().to_iso_week_date();
    format!("{year:04}-W{week:02}")
}

/// The calendar month (UTC) of a unix-ms time as `year · 12 + month − 1`.
pub fn month_key(ms: i64) -> i64 {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1
}

/// `2025-06` for a [`month_key`].
pub fn month_label(key: i64) -> String {
    format!("{:04}-{:02}", key.div_euclid(12), key.rem_euclid(12) + 1)
}

/// Figures for one step of one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepTimes {
    /// Valid durations.
    pub count: u64,
    /// Median, seconds (nearest rank).
    pub median_s: Option<f64>,
    /// 90th percentile, seconds (nearest rank).
    pub p90_s: Option<f64>,
    /// Longest, seconds.
    pub max_s: Option<f64>,
    /// Share of `count` done by the deadline, 0 to 1.
    pub within_deadline: Option<f64>,
}

impl StepTimes {
    /// Figures from raw parts (milliseconds); shared by both backends.
    pub(crate) fn new(
        count: u64,
        p50: Option<i64>,
        p90: Option<i64>,
        max: Option<i64>,
        within: u64,
    ) -> Self {
        let seconds = |ms: i64| ms as f64 / 1000.0;
        StepTimes {
            count,
            median_s: p50.map(seconds),
            p90_s: p90.map(seconds),
            max_s: max.map(seconds),
            within_deadline: (count > 0).then(|| within as f64 / count as f64),
        }
    }
}

/// Figures for one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupTimes {
    /// The group's values joined by `/`, e.g. `wenquan/manhole`.
    pub group: String,
    /// The group's value per dimension.
    pub key: BTreeMap<&'static str, String>,
    /// Tickets in the group.
    pub count: u64,
    /// Of those, reopened at least once.
    pub reopened: u64,
    /// Durations left out as data errors.
    pub data_errors: u64,
    /// Received → acknowledged.
    pub acknowledge: StepTimes,
    /// Received → made safe.
    pub make_safe: StepTimes,
    /// Received → resolved.
    pub resolve: StepTimes,
    /// Resolved (the latest time) → verified; no deadline.
    pub verify: StepTimes,
    /// Fixes that failed verification.
    pub failed_verification: FailedVerification,
}

/// The share of fixes that failed verification in one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailedVerification {
    /// Fixes found not fixed (reopens).
    pub count: u64,
    /// Fixes judged: failed ones and verified tickets.
    pub of: u64,
    /// `count / of`, 0 to 1; `null` with nothing judged.
    pub share: Option<f64>,
}

/// The answer of `GET /v1/audit/response-times`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResponseTimes {
    /// The dimensions, comma-separated (`office`, `office,week`, …).
    pub group_by: String,
    /// One entry per group, ordered by key.
    pub groups: Vec<GroupTimes>,
}

/// `office,week` for a dimension list.
pub(crate) fn dims_label(dims: &[Dimension]) -> String {
    dims.iter()
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The `p`-th percentile of sorted values by nearest rank: the value at
/// rank ⌈p/100 · n⌉ (1-based).
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

/// Groups the samples by `dims` and computes each group's figures.
pub fn response_times(dims: &[Dimension], samples: &[Sample]) -> ResponseTimes {
    let mut groups: BTreeMap<Vec<String>, Collected> = BTreeMap::new();
    for s in samples {
        let key = dims.iter().map(|d| s.value(*d)).collect();
        groups.entry(key).or_default().add(s);
    }
    assemble(dims, groups)
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
        let s = |ack: Option<i64>, safe: Option<i64>, res: Option<i64>| Sample {
            office: "g".into(),
            received_ms: 10_000,
            acknowledged_ms: ack,
            made_safe_ms: safe,
            resolved_ms: res,
            due_ms: [60_000, 100_000, 200_000],
            ..Sample::default()
        };
        let out = response_times(
            &[Dimension::Office],
            &[
                s(Some(70_000), Some(90_000), Some(130_000)),
                s(Some(5_000), None, None),
                s(None, Some(15_000), Some(20_000)),
                s(None, None, None),
            ],
        );
        let g = &out.groups[0];
        assert_eq!((g.count, g.data_errors), (4, 3));
        assert_eq!(g.acknowledge.count, 1);
        assert_eq!(g.acknowledge.median_s, Some(60.0));
        assert_eq!(g.acknowledge.within_deadline, Some(0.0));
        assert_eq!(g.make_safe.within_deadline, Some(1.0));
        assert_eq!(g.resolve.p90_s, Some(120.0));
        assert_eq!(g.resolve.max_s, Some(120.0));
    }

    #[test]
    fn dimensions_parse_in_any_combination_once() {
        assert_eq!(
            Dimension::parse_list("week,office").unwrap(),
            vec![Dimension::Week, Dimension::Office]
        );
        assert!(Dimension::parse_list("office,office").is_err());
        assert!(Dimension::parse_list("weekday").is_err());
        assert!(Dimension::parse_list("").is_err());
        assert_eq!(iso_week(1_748_764_800_000), "2025-W22");
        assert_eq!(
            Dimension::parse_list("month").unwrap(),
            vec![Dimension::Month]
        );
        assert_eq!(month_label(month_key(1_748_764_800_000)), "2025-06");
        assert_eq!(month_label(month_key(1_748_735_999_999)), "2025-05");
    }
}
