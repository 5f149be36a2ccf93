//! Supervisors moving work between offices: a ticket to another office
//! ([`Store::reroute`]), or an unrouted report into a new ticket of an
//! office ([`Store::route_unrouted`]). Each records a `rerouted` event and
//! queues it in the outbox, in one transaction.

use crate::disputes::settle::{self as disputes, Outcome, Settlement};
use crate::store::Store;
use crate::tickets::opened::{insert_reporter, insert_ticket};
use crate::tickets::rows::Ticket;
use crate::tickets::step_record;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{
    EventId, OfficeId, ReportId, ReportUnrouted, TicketChanged, TicketId, TicketOpened, TicketState,
};
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

impl Store {
    /// Moves a ticket to office `to` (a supervisor's decision): allowed
    /// while it is active or after a rejection; it becomes `open` in the new
    /// office, whose acknowledge and make-safe times start afresh (the SLA
    /// still counts from `received_at`). A supervisor has looked at it, so
    /// it no longer `needs_triage`, and its open dispute, if any, is settled
    /// as `rerouted` in the same transaction.
    pub async fn reroute(
        &self,
        current: &Ticket,
        to: &OfficeId,
        actor: &str,
        note: Option<String>,
    ) -> Result<Ticket, Error> {
        if !(current.state.is_active() || current.state == TicketState::Rejected) {
            return Err(Error::NotReroutable(current.state));
        }
        if &current.office_id == to {
            return Err(Error::SameOffice(to.clone()));
        }
        let at = self.now();
        let ticket_id = current.ticket_id;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE tickets SET office_id = $1, \
             office_name = COALESCE((SELECT name FROM offices WHERE office_id = $1), $1), \
             state = 'open', acknowledged_at = NULL, made_safe_at = NULL, needs_triage = 0, boundary = 0, \
             version = $2 \
             WHERE ticket_id = $3 AND version = $4",
        )
        .bind(to.as_str())
        .bind(current.version + 1)
        .bind(ticket_id.to_string())
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::ConcurrentUpdate(ticket_id));
        }
        let event = Rerouted {
            event_id: EventId::new(),
            ticket_id,
            to,
            from: Some(&current.office_id),
            category: current.category,
            urgent: current.urgent,
            actor,
            at,
            reason: None,
            note,
            deadlines: None,
        };
        record_rerouted(&mut tx, &event).await?;
        let settlement = Settlement {
            ticket_id,
            outcome: Outcome::Rerouted,
            actor,
            event_id: event.event_id,
            at,
            note: event.note.as_deref(),
        };
        disputes::settle(&mut tx, &settlement).await?;
        tx.commit().await?;
        self.outbox_ready().notify_one();
        self.ticket(ticket_id)
            .await?
            .ok_or(Error::TicketNotFound(ticket_id))
    }

    /// Opens a ticket in office `to` for an unrouted report (a supervisor's
    /// decision), with the policy's deadlines ([`Store::with_policy`]),
    /// counted from its receipt. The ticket id is the one the
    /// router would have given it. Errors: [`Error::UnroutedNotFound`],
    /// [`Error::AlreadyRouted`].
    pub async fn route_unrouted(
        &self,
        report_id: ReportId,
        to: &OfficeId,
        actor: &str,
        note: Option<String>,
    ) -> Result<Ticket, Error> {
        let at = self.now();
        let ticket_id = TicketId::for_report(report_id);
        let mut tx = self.pool.begin().await?;
        let lost = match claim_unrouted(&mut tx, report_id, ticket_id).await {
            Ok(lost) => lost,
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        let office_name = office_name(&mut tx, to).await?;
        let event_id = EventId::derived(ticket_id.0, EventKind::Rerouted.as_str());
        let opened = TicketOpened {
            event_id,
            ticket_id,
            office_id: to.clone(),
            office_name,
            category: lost.category,
            urgent: lost.urgent,
            opened_at: at,
            deadlines: self
                .policy()
                .deadlines(lost.category, lost.urgent, lost.report.received_at),
            confidence: None,
            needs_triage: false,
            boundary: false,
            model_version: None,
            report: lost.report,
        };
        if !insert_ticket(&mut tx, &opened).await? {
            tx.rollback().await?;
            return Err(Error::AlreadyRouted(report_id));
        }
        insert_reporter(&mut tx, ticket_id, &opened.report, at, None).await?;
        let event = Rerouted {
            event_id,
            ticket_id,
            to,
            from: None,
            category: opened.category,
            urgent: opened.urgent,
            actor,
            at,
            reason: Some("unrouted".into()),
            note,
            deadlines: Some(opened.deadlines),
        };
        record_rerouted(&mut tx, &event).await?;
        tx.commit().await?;
        self.outbox_ready().notify_one();
        self.ticket(ticket_id)
            .await?
            .ok_or(Error::TicketNotFound(ticket_id))
    }
}

/// Marks the unrouted report routed to `ticket_id` and returns it.
async fn claim_unrouted(
    tx: &mut Transaction<'static, Any>,
    report_id: ReportId,
    ticket_id: TicketId,
) -> Result<ReportUnrouted, Error> {
    let claimed = sqlx::query(
        "UPDATE unrouted SET routed_ticket_id = $1 WHERE report_id = $2 AND routed_ticket_id IS NULL",
    )
    .bind(ticket_id.to_string())
    .bind(report_id.to_string())
    .execute(&mut **tx)
    .await?;
    let payload = sqlx::query("SELECT payload_json FROM unrouted WHERE report_id = $1")
        .bind(report_id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::UnroutedNotFound(report_id))?;
    if claimed.rows_affected() == 0 {
        return Err(Error::AlreadyRouted(report_id));
    }
    Ok(serde_json::from_str(&payload.try_get::<String, _>(0)?)?)
}

/// An office's display name, or its id when it has none yet.
async fn office_name(
    tx: &mut Transaction<'static, Any>,
    office: &OfficeId,
) -> Result<String, Error> {
    Ok(sqlx::query("SELECT name FROM offices WHERE office_id = $1")
        .bind(office.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| row.try_get::<String, _>(0))
        .transpose()?
        .unwrap_or_else(|| office.to_string()))
}

/// What a reroute records.
struct Rerouted<'a> {
    event_id: EventId,
    ticket_id: TicketId,
    to: &'a OfficeId,
    from: Option<&'a OfficeId>,
    category: civicprobe_model::Category,
    urgent: bool,
    actor: &'a str,
    at: OffsetDateTime,
    reason: Option<String>,
    note: Option<String>,
    /// The deadlines it sets: a report routed from unrouted opens its
    /// ticket with them; an office's reroute keeps the ticket's.
    deadlines: Option<civicprobe_model::Deadlines>,
}

/// Appends the `rerouted` event and queues it in the outbox.
async fn record_rerouted(
    tx: &mut Transaction<'static, Any>,
    ev: &Rerouted<'_>,
) -> Result<(), Error> {
    let changed = TicketChanged {
        event_id: ev.event_id,
        ticket_id: ev.ticket_id,
        office_id: ev.to.clone(),
        category: ev.category,
        urgent: ev.urgent,
        kind: EventKind::Rerouted,
        state: TicketState::Open,
        actor: ev.actor.to_owned(),
        at: ev.at,
        reason: ev.reason.clone(),
        note: ev.note.clone(),
        from_office: ev.from.cloned(),
        from_category: None,
        deadlines: ev.deadlines,
    };
    step_record::record_changed(tx, &changed, "supervisor", None).await
}
