//! What happened to a ticket: the `kind` of an event row, of a
//! [`crate::TicketChanged`], and the last token of a ticket subject.
//!
//! Serialised as the snake_case past-tense names stored rows and messages
//! have always carried (`acknowledged`, `made_safe`, …), so nothing stored
//! changes meaning.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One kind of ticket event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The router opened the ticket ([`crate::TicketOpened`]).
    Opened,
    /// The router merged a duplicate report into it ([`crate::TicketMerged`]).
    Merged,
    /// Its office acknowledged it.
    Acknowledged,
    /// Its office made the place safe.
    MadeSafe,
    /// Its office started the repair.
    Started,
    /// Its office resolved it (with an optional proof photo).
    Resolved,
    /// Its office rejected it (with a [`crate::RejectReason`]).
    Rejected,
    /// The reporter or a supervisor found it not fixed.
    Reopened,
    /// Verified fixed (核查): by a person, or automatically.
    Verified,
    /// The SLA clock found a step past its deadline.
    Escalated,
    /// A supervisor moved it to another office (or routed an unrouted
    /// report).
    Rerouted,
    /// Its category or urgency was corrected: by an office's or a
    /// supervisor's re-triage, or by an urgent duplicate report.
    Triaged,
    /// A supervisor upheld an office's `not_our_area` rejection: the
    /// dispute is settled and the ticket stays rejected.
    DisputeUpheld,
    /// A courier whose report was merged onto the ticket checked the fix
    /// of their own report (reason `fixed` or `not_fixed`); the ticket's
    /// state does not change. A `not_fixed` one is a verification dispute.
    ReportVerified,
    /// A courier passing by found a resolved ticket not fixed: a
    /// verification dispute; the ticket stays resolved until a supervisor
    /// settles it.
    VerificationDisputed,
    /// A resident's update posted through Open311 (FixMyStreet's
    /// `servicerequestupdates`): a note for the office, whose `reason` may
    /// say the resident reported it fixed or not fixed; the ticket's state
    /// does not change.
    ResidentNote,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 16] = [
        EventKind::Opened,
        EventKind::Merged,
        EventKind::Acknowledged,
        EventKind::MadeSafe,
        EventKind::Started,
        EventKind::Resolved,
        EventKind::Rejected,
        EventKind::Reopened,
        EventKind::Verified,
        EventKind::Escalated,
        EventKind::Rerouted,
        EventKind::Triaged,
        EventKind::DisputeUpheld,
        EventKind::ReportVerified,
        EventKind::VerificationDisputed,
        EventKind::ResidentNote,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Merged => "merged",
            EventKind::Acknowledged => "acknowledged",
            EventKind::MadeSafe => "made_safe",
            EventKind::Started => "started",
            EventKind::Resolved => "resolved",
            EventKind::Rejected => "rejected",
            EventKind::Reopened => "reopened",
            EventKind::Verified => "verified",
            EventKind::Escalated => "escalated",
            EventKind::Rerouted => "rerouted",
            EventKind::Triaged => "triaged",
            EventKind::DisputeUpheld => "dispute_upheld",
            EventKind::ReportVerified => "report_verified",
            EventKind::VerificationDisputed => "verification_disputed",
            EventKind::ResidentNote => "resident_note",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`EventKind`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a ticket event kind")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<EventKind, UnknownEventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

impl PartialEq<EventKind> for &str {
    fn eq(&self, other: &EventKind) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serde_form_is_the_stored_name() {
        for kind in EventKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
        }
    }

    #[test]
    fn names_are_unique_and_unknown_ones_refused() {
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
        assert_eq!(
            "closed".parse::<EventKind>(),
            Err(UnknownEventKind("closed".into()))
        );
        assert!(serde_json::from_str::<EventKind>("\"Opened\"").is_err());
    }

    #[test]
    fn every_action_records_its_kind() {
        use crate::TicketAction::*;
        let pairs = [
            (Acknowledge, "acknowledged"),
            (MakeSafe, "made_safe"),
            (Start, "started"),
            (Resolve, "resolved"),
            (Reject, "rejected"),
            (Reopen, "reopened"),
            (Verify, "verified"),
        ];
        for (action, name) in pairs {
            assert_eq!(action.event_kind().as_str(), name);
        }
    }
}
