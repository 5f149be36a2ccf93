//! Service-level deadlines, all counted from `received_at` (the ingest
//! clock), never from the device's clock.
//!
//! The policy is pure data so that both the router (which opens tickets)
//! and the tracker (which re-triages them, routes unrouted reports by hand
//! and tightens deadlines for urgent duplicates) compute deadlines the same
//! way. Reading the policy file is the router's (`civicprobe_router::sla`).

use crate::{Category, Deadlines};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// How long an office has for each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepDurations {
    /// From receipt to acknowledgement.
    pub acknowledge: Duration,
    /// From receipt to the place being made safe.
    pub make_safe: Duration,
    /// From receipt to resolution.
    pub resolve: Duration,
}

/// The deadline policy: one set of durations for urgent reports and one for
/// the rest, optionally overridden per category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaPolicy {
    /// Life-safety now: 15 min / 2 h / 24 h by default.
    pub urgent: StepDurations,
    /// Everything else: 4 h / 24 h / 7 days by default.
    pub routine: StepDurations,
    /// Per-category overrides as `(urgent, routine)`; empty by default.
    pub by_category: BTreeMap<Category, (StepDurations, StepDurations)>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            urgent: StepDurations {
                acknowledge: Duration::minutes(15),
                make_safe: Duration::hours(2),
                resolve: Duration::hours(24),
            },
            routine: StepDurations {
                acknowledge: Duration::hours(4),
                make_safe: Duration::hours(24),
                resolve: Duration::days(7),
            },
            by_category: BTreeMap::new(),
        }
    }
}

impl SlaPolicy {
    /// Overrides the durations of one category.
    pub fn with_category(
        mut self,
        category: Category,
        urgent: StepDurations,
        routine: StepDurations,
    ) -> Self {
        self.by_category.insert(category, (urgent, routine));
        self
    }

    /// The durations that apply to a report.
    pub fn steps(&self, category: Category, urgent: bool) -> StepDurations {
        let (u, r) = self
            .by_category
            .get(&category)
            .copied()
            .unwrap_or((self.urgent, self.routine));
        if urgent {
            u
        } else {
            r
        }
    }

    /// When each step is due for a report received at `received_at`.
    /// Saturates at the end of the representable calendar instead of
    /// overflowing.
    pub fn deadlines(
        &self,
        category: Category,
        urgent: bool,
        received_at: OffsetDateTime,
    ) -> Deadlines {
        let steps = self.steps(category, urgent);
        let due = |d: Duration| {
            received_at
                .checked_add(d)
                .unwrap_or_else(|| PrimitiveDateTime::MAX.assume_utc())
        };
        Deadlines {
            acknowledge_by: due(steps.acknowledge),
            make_safe_by: due(steps.make_safe),
            resolve_by: due(steps.resolve),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn urgent_and_routine_defaults() {
        let received = datetime!(2025-03-01 23:50 +08:00);
        let policy = SlaPolicy::default();
        let urgent = policy.deadlines(Category::ElectricalBox, true, received);
        assert_eq!(urgent.acknowledge_by, datetime!(2025-03-02 00:05 +08:00));
        assert_eq!(urgent.make_safe_by, datetime!(2025-03-02 01:50 +08:00));
        assert_eq!(urgent.resolve_by, datetime!(2025-03-02 23:50 +08:00));
        let routine = policy.deadlines(Category::Manhole, false, received);
        assert_eq!(routine.acknowledge_by, datetime!(2025-03-02 03:50 +08:00));
        assert_eq!(routine.make_safe_by, datetime!(2025-03-02 23:50 +08:00));
        assert_eq!(routine.resolve_by, datetime!(2025-03-08 23:50 +08:00));
    }

    #[test]
    fn category_overrides_apply_to_that_category_only() {
        let fast = StepDurations {
            acknowledge: Duration::minutes(5),
            make_safe: Duration::minutes(30),
            resolve: Duration::hours(6),
        };
        let policy = SlaPolicy::default().with_category(Category::Elevator, fast, fast);
        let received = datetime!(2025-03-01 12:00 UTC);
        let elevator = policy.deadlines(Category::Elevator, false, received);
        assert_eq!(elevator.acknowledge_by, datetime!(2025-03-01 12:05 UTC));
        let manhole = policy.deadlines(Category::Manhole, false, received);
        assert_eq!(manhole.acknowledge_by, datetime!(2025-03-01 16:00 UTC));
    }

    #[test]
    fn the_end_of_the_calendar_saturates_instead_of_panicking() {
        let received = datetime!(9999-12-31 12:00 UTC);
        let d = SlaPolicy::default().deadlines(Category::Other, false, received);
        assert_eq!(d.acknowledge_by, datetime!(9999-12-31 16:00 UTC));
        assert_eq!(d.resolve_by, PrimitiveDateTime::MAX.assume_utc());
    }
}
