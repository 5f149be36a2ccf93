//! A ticket as one of its reporting couriers sees it: where it stands
//! (state, office, deadlines, the steps taken) and their own report. The
//! types here have no field that could carry another reporter's id, text
//! or photos: a courier whose duplicate was merged onto someone else's
//! ticket learns nothing about the first courier.

use crate::store::Store;
use crate::tickets::rows::{parsed, Ticket, TicketEvent};
use crate::time_ms::from_ms;
use crate::verification::status::VerificationStatus;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{
    Category, CourierId, Deadlines, OfficeId, PhotoRef, ReportId, TicketId, TicketState,
};
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

/// A ticket as one of its reporters sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CourierTicket {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The courier's own report on it.
    pub report_id: ReportId,
    /// Whether that report opened the ticket: only then may the courier
    /// reopen or close it.
    pub opened_it: bool,
    /// The office handling it.
    pub office_id: OfficeId,
    /// The office's display name.
    pub office_name: String,
    /// The category the router settled on.
    pub category: Category,
    /// Life-safety now.
    pub urgent: bool,
    /// Where the ticket stands.
    pub state: TicketState,
    /// The courier's own text (`None` for a duplicate merged before the
    /// tracker kept reporters' texts).
    pub text: Option<String>,
    /// The courier's own photos, by reference.
    pub photos: Vec<PhotoRef>,
    /// When ingest received the courier's report.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The ticket's SLA deadlines.
    pub deadlines: Deadlines,
    /// First acknowledgement.
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// First time made safe.
    #[serde(with = "time::serde::rfc3339::option")]
    pub made_safe_at: Option<OffsetDateTime>,
    /// Latest resolution.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// When it was closed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// The ticket's newest step.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// How often it was reopened as not fixed.
    pub reopen_count: i64,
    /// The steps, without who took them.
    pub events: Vec<CourierEvent>,
    /// Where it stands in verification, and whether this courier may
    /// verify it now.
    pub verification: VerificationStatus,
}

/// One step of a ticket, as a reporter sees it: what happened and when.
/// The actor is named only when it is staff (an office, a supervisor) or
/// the system, never when it is a courier (another reporter's id); notes
/// are shown only when staff wrote them (a courier's note may be another
/// reporter's words; a system note names reports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CourierEvent {
    /// 1 for `opened`, then one more per step.
    pub seq: i64,
    /// What happened: `opened`, `acknowledged`, `merged`, `resolved` …
    pub kind: EventKind,
    /// `office`, `supervisor`, `courier` or `system`.
    pub role: String,
    /// `office:<id>`, `supervisor:<name>`, `router` …; left out for a
    /// courier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The recorded reason (`not_fixed`, `duplicate`, `nearby` …).
    pub reason: Option<String>,
    /// An office's or supervisor's note.
    pub note: Option<String>,
    /// The office responsible after this step.
    pub office_id: Option<OfficeId>,
}

impl From<&TicketEvent> for CourierEvent {
    fn from(e: &TicketEvent) -> Self {
        let staff = matches!(e.role.as_str(), "office" | "supervisor");
        let courier = e.role == "courier" || e.actor.starts_with("courier:");
        CourierEvent {
            seq: e.seq,
            kind: e.kind,
            role: e.role.clone(),
            actor: (!courier).then(|| e.actor.clone()),
            at: e.at,
            reason: e.reason.clone(),
            note: e.note.clone().filter(|_| staff),
            office_id: e.office_id.clone(),
        }
    }
}

/// The courier's own report on a ticket.
struct OwnReport {
    report_id: ReportId,
    text: Option<String>,
    photos: Vec<PhotoRef>,
    received_at: OffsetDateTime,
}

impl Store {
    /// `ticket` as `courier` sees it, or `None` when they reported no part
    /// of it. When they sent several reports, the one that opened it (else
    /// their first) is shown.
    pub async fn courier_ticket(
        &self,
        ticket: &Ticket,
        courier: CourierId,
    ) -> Result<Option<CourierTicket>, Error> {
        let Some(own) = self.own_report(ticket, courier).await? else {
            return Ok(None);
        };
        let events = self.ticket_events(ticket.ticket_id).await?;
        let opened_it = own.report_id == ticket.report_id;
        let verification = VerificationStatus {
            can_verify: self.reporter_may_verify(ticket, courier, opened_it).await?,
            ..ticket.verification.clone()
        };
        Ok(Some(CourierTicket {
            ticket_id: ticket.ticket_id,
            report_id: own.report_id,
            opened_it,
            office_id: ticket.office_id.clone(),
            office_name: ticket.office_name.clone(),
            category: ticket.category,
            urgent: ticket.urgent,
            state: ticket.state,
            text: own.text,
            photos: own.photos,
            received_at: own.received_at,
            deadlines: ticket.deadlines,
            acknowledged_at: ticket.acknowledged_at,
            made_safe_at: ticket.made_safe_at,
            resolved_at: ticket.resolved_at,
            closed_at: ticket.closed_at,
            updated_at: ticket.updated_at,
            reopen_count: ticket.reopen_count,
            events: events.iter().map(CourierEvent::from).collect(),
            verification,
        }))
    }

    async fn own_report(
        &self,
        ticket: &Ticket,
        courier: CourierId,
    ) -> Result<Option<OwnReport>, Error> {
        let row = sqlx::query(
            "SELECT report_id, text, photos_json, received_at FROM ticket_reporters \
             WHERE ticket_id = $1 AND courier_id = $2 \
             ORDER BY CASE WHEN report_id = $3 THEN 0 ELSE 1 END, received_at LIMIT 1",
        )
        .bind(ticket.ticket_id.to_string())
        .bind(courier.to_string())
        .bind(ticket.report_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let photos: Option<String> = row.try_get("photos_json")?;
        Ok(Some(OwnReport {
            report_id: parsed(&row, "report_id")?,
            text: row.try_get("text")?,
            photos: photos
                .map(|p| serde_json::from_str(&p))
                .transpose()?
                .unwrap_or_default(),
            received_at: from_ms(row.try_get("received_at")?)?,
        }))
    }
}
