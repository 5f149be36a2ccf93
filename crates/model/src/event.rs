//! Messages on the streams. Each carries its own deterministic id, so a
//! consumer that sees it twice can tell.

use crate::{Category, EventId, OfficeId, ReportSubmitted, TicketId};
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
    /// The report that opened it, whole.
    pub report: ReportSubmitted,
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
