//! Messages on the streams. Each carries its own deterministic id, so a
//! consumer that sees it twice can tell.

use crate::{Category, EventId, EventKind, OfficeId, ReportSubmitted, TicketId, TicketState};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// When each step of a ticket is due; all derived from `received_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// Acknowledge by.
    #[serde(with = "time::serde::rfc3339")]
    pub acknowledge_by: OffsetDateTime,
    /// Make the place safe by.
    #[serde(with = "time::serde::rfc3339")]
    pub make_safe_by: OffsetDateTime,
    /// Resolve by.
    #[serde(with = "time::serde::rfc3339")]
    pub resolve_by: OffsetDateTime,
}

/// Published by the router on `civic.ticket.<office>.<category>.opened`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketOpened {
    /// `EventId::derived(ticket_id, "opened")`.
    pub event_id: EventId,
    /// `TicketId::for_report(report.report_id)`.
    pub ticket_id: TicketId,
    /// The office whose area holds the point.
    pub office_id: OfficeId,
    /// The office's display name.
    pub office_name: String,
    /// The category the router settled on.
    pub category: Category,
    /// Life-safety now: short deadlines.
    pub urgent: bool,
    /// When the router opened it.
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// SLA deadlines.
    pub deadlines: Deadlines,
    /// The classifier's confidence in `category`, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Neither text nor hint settled the category: a supervisor should look.
    #[serde(default)]
    pub needs_triage: bool,
    /// The point lay in no office's area but within the boundary band
    /// around the district; the office is the nearest one.
    #[serde(default)]
    pub boundary: bool,
    /// The classifier model that decided category and urgency (its
    /// version, `m-<hash>`); absent in messages from before issue 17.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// The report that opened it, whole.
    pub report: ReportSubmitted,
}

/// Why a report was merged into an existing ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum MergeReason {
    /// Same category, close in space and time.
    Nearby {
        /// Distance to the ticket's point, metres.
        distance_m: f64,
    },
    /// The same picture (perceptual hash).
    SamePhoto {
        /// Hamming distance, bits.
        distance_bits: u32,
    },
}

/// Published by the router on `civic.ticket.<office>.<category>.merged`
/// when a report duplicates an open ticket: its evidence and reporter are
/// attached to that ticket instead of opening a new one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketMerged {
    /// `EventId::derived(report_id, "merged")`.
    pub event_id: EventId,
    /// The open ticket the report joins.
    pub ticket_id: TicketId,
    /// That ticket's office.
    pub office_id: OfficeId,
    /// That ticket's category.
    pub category: Category,
    /// When the router merged it.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why.
    pub reason: MergeReason,
    /// The router classified the duplicate itself as urgent: the ticket
    /// becomes urgent (its deadlines tighten) if it was not.
    #[serde(default)]
    pub urgent: bool,
    /// The duplicate report, whole.
    pub report: ReportSubmitted,
}

/// A step the tracker records and publishes (through its outbox) on
/// `civic.ticket.<office>.<category>.<kind>`: acknowledged, made_safe,
/// started, resolved, rejected, reopened, closed, escalated, rerouted,
/// triaged, dispute_upheld.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketChanged {
    /// The event's own id (the tracker's event row).
    pub event_id: EventId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The office responsible after this step.
    pub office_id: OfficeId,
    /// The ticket's category (after this step).
    pub category: Category,
    /// Whether the ticket is urgent (after this step).
    #[serde(default)]
    pub urgent: bool,
    /// What happened.
    pub kind: EventKind,
    /// The ticket's state after this step.
    pub state: TicketState,
    /// Who did it, e.g. `office:wenquan` or `system:sla`.
    pub actor: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A reject reason, an escalation's breached step, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free text (resolution note, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For `rerouted`: the office it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_office: Option<OfficeId>,
    /// For `triaged`: the category before, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_category: Option<Category>,
    /// The deadlines after this step, when it changed them (`triaged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<Deadlines>,
}

/// Published by the router on `civic.unrouted.<category>` for a point that
/// lies in no office's area; supervisors route it by hand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportUnrouted {
    /// `EventId::derived(report_id, "unrouted")`.
    pub event_id: EventId,
    /// The category the router settled on.
    pub category: Category,
    /// Life-safety now.
    pub urgent: bool,
    /// When the router gave up on it.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The report, whole.
    pub report: ReportSubmitted,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `TicketOpened` from before issue 17 has no `model_version`: it
    /// still parses (a replayed stream holds such messages), and a message
    /// without one does not write the key.
    #[test]
    fn a_ticket_opened_without_model_version_still_parses() {
        let report = serde_json::json!({
            "report_id": "0190b4a0-0000-7000-8000-000000000001",
            "courier_id": "0190b4a0-0000-7000-8000-000000000002",
            "location": {"lat": 29.84, "lon": 114.32},
            "accuracy_m": null,
            "category_hint": null,
            "text": "井盖没了",
            "reported_at": null,
            "received_at": "2025-03-01T10:00:00+08:00",
            "photos": []
        });
        let old = serde_json::json!({
            "event_id": "0190b4a0-0000-7000-8000-000000000003",
            "ticket_id": "0190b4a0-0000-7000-8000-000000000004",
            "office_id": "wenquan",
            "office_name": "温泉街道",
            "category": "manhole",
            "urgent": true,
            "opened_at": "2025-03-01T10:00:01+08:00",
            "deadlines": {
                "acknowledge_by": "2025-03-01T10:15:00+08:00",
                "make_safe_by": "2025-03-01T12:00:00+08:00",
                "resolve_by": "2025-03-02T10:00:00+08:00"
            },
            "report": report
        });
        let mut t: TicketOpened = serde_json::from_value(old).unwrap();
        assert_eq!(t.model_version, None);
        assert!(serde_json::to_value(&t)
            .unwrap()
            .get("model_version")
            .is_none());
        t.model_version = Some("m-0123456789abcdef".into());
        let again: TicketOpened =
            serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(again.model_version.as_deref(), Some("m-0123456789abcdef"));
    }
}
