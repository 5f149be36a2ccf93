//! Disputes: a `not_our_area` rejection that a supervisor must settle.
//!
//! Without them such a ticket left every queue: not unrouted, not overdue,
//! nobody's. Now the rejection opens a dispute in its own transaction
//! ([`open`], called by the life cycle), the ticket waits in the
//! supervisors' queue (`crate::disputes::queue`) and stays on the SLA clock
//! (`overdue_where!` in [`crate::sla::breaches`]) until a supervisor either reroutes
//! it (settled `rerouted` in the reroute's transaction, `settle`) or
//! upholds the rejection ([`Store::uphold_dispute`]: a `dispute_upheld`
//! event in the hash chain and a [`TicketChanged`] in the outbox). One
//! dispute per rejection event: a ticket rejected again after a reroute is
//! disputed anew.

use crate::store::Store;
use crate::tickets::rows::{ticket_columns, Ticket};
use crate::tickets::step_record;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{EventId, RejectReason, TicketChanged, TicketId};
use sqlx::{Any, Transaction};
use time::OffsetDateTime;

pub use crate::disputes::queue::{Dispute, DisputeFilter, DisputeMark};

/// The rejection reason that opens a dispute.
pub const DISPUTED_REASON: RejectReason = RejectReason::NotOurArea;

/// How a dispute was settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A supervisor moved the ticket to another office.
    Rerouted,
    /// A supervisor agreed it is nobody's here.
    Upheld,
}

impl Outcome {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Rerouted => "rerouted",
            Outcome::Upheld => "upheld",
        }
    }
}

/// Opens a dispute for the `not_our_area` rejection `event_id`, inside the
/// rejection's transaction.
pub(crate) async fn open(
    tx: &mut Transaction<'static, Any>,
    current: &Ticket,
    event_id: EventId,
    actor: &str,
    at: OffsetDateTime,
    note: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO disputes (event_id, ticket_id, office_id, raised_by, raised_at, note) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event_id.to_string())
    .bind(current.ticket_id.to_string())
    .bind(current.office_id.as_str())
    .bind(actor)
    .bind(to_ms(at))
    .bind(note)
    .execute(&mut **tx)
    .await?;
    metrics::counter!("civicprobe_tracker_disputes_total", "step" => "opened").increment(1);
    tracing::info!(ticket_id = %current.ticket_id, office_id = %current.office_id, "dispute opened");
    Ok(())
}

/// A supervisor's settlement.
pub(crate) struct Settlement<'a> {
    /// The disputed ticket.
    pub ticket_id: TicketId,
    /// How.
    pub outcome: Outcome,
    /// `Principal::actor` of the supervisor.
    pub actor: &'a str,
    /// The event that settles it (the reroute, the `dispute_upheld`).
    pub event_id: EventId,
    /// When.
    pub at: OffsetDateTime,
    /// Why, for the record.
    pub note: Option<&'a str>,
}

/// Settles the ticket's open dispute, if it has one; `false` when it has
/// none (never disputed, or settled already).
pub(crate) async fn settle(
    tx: &mut Transaction<'static, Any>,
    s: &Settlement<'_>,
) -> Result<bool, Error> {
    let settled = sqlx::query(
        "UPDATE disputes SET settled_at = $1, settled_by = $2, outcome = $3, \
         settled_event_id = $4, settled_note = $5 WHERE ticket_id = $6 AND settled_at IS NULL",
    )
    .bind(to_ms(s.at))
    .bind(s.actor)
    .bind(s.outcome.as_str())
    .bind(s.event_id.to_string())
    .bind(s.note)
    .bind(s.ticket_id.to_string())
    .execute(&mut **tx)
    .await?;
    let done = settled.rows_affected() == 1;
    if done {
        metrics::counter!("civicprobe_tracker_disputes_total", "step" => s.outcome.as_str())
            .increment(1);
        tracing::info!(ticket_id = %s.ticket_id, outcome = s.outcome.as_str(), "dispute settled");
    }
    Ok(done)
}

impl Store {
    /// A supervisor upholds the ticket's open dispute: the ticket stays
    /// rejected and leaves the clock; a `dispute_upheld` event goes into
    /// the chain and the outbox, in one transaction. Returns the ticket.
    ///
    /// Errors: [`Error::NotDisputed`] for a ticket never disputed (or
    /// unknown), [`Error::DisputeSettled`] when it was settled already.
    pub async fn uphold_dispute(
        &self,
        ticket_id: TicketId,
        actor: &str,
        note: &str,
    ) -> Result<Ticket, Error> {
        let at = self.now();
        let event_id = EventId::new();
        let settlement = Settlement {
            ticket_id,
            outcome: Outcome::Upheld,
            actor,
            event_id,
            at,
            note: Some(note),
        };
        let mut tx = self.pool.begin().await?;
        // The ticket row first, as a reroute does: the two then lock in the
        // same order (no deadlock on PostgreSQL), and SQLite takes its write
        // lock before anything is read.
        let current = bump_version(&mut tx, ticket_id).await?;
        let Some(current) = current else {
            tx.rollback().await?;
            return Err(Error::NotDisputed(ticket_id));
        };
        if !settle(&mut tx, &settlement).await? {
            tx.rollback().await?;
            return Err(self.why_not_open(ticket_id).await?);
        }
        let changed = upheld(&current, &settlement);
        step_record::record_changed(&mut tx, &changed, "supervisor", None).await?;
        tx.commit().await?;
        self.outbox_ready().notify_one();
        self.ticket(ticket_id)
            .await?
            .ok_or(Error::TicketNotFound(ticket_id))
    }

    /// Why a ticket has no open dispute: settled already, or never disputed.
    async fn why_not_open(&self, ticket_id: TicketId) -> Result<Error, Error> {
        let any = sqlx::query("SELECT 1 FROM disputes WHERE ticket_id = $1")
            .bind(ticket_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match any {
            Some(_) => Error::DisputeSettled(ticket_id),
            None => Error::NotDisputed(ticket_id),
        })
    }
}

/// Bumps the ticket's version (a stale reroute or action then loses) and
/// reads it inside the transaction; `None` for an unknown ticket.
pub(crate) async fn bump_version(
    tx: &mut Transaction<'static, Any>,
    ticket_id: TicketId,
) -> Result<Option<Ticket>, Error> {
    sqlx::query("UPDATE tickets SET version = version + 1 WHERE ticket_id = $1")
        .bind(ticket_id.to_string())
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE ticket_id = $1"
    ))
    .bind(ticket_id.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(Ticket::from_row).transpose()
}

/// The event row and the outbox message of an upheld dispute.
fn upheld(t: &Ticket, s: &Settlement<'_>) -> TicketChanged {
    let reason = Some(DISPUTED_REASON.as_str().to_owned());
    let note = s.note.map(str::to_owned);
    TicketChanged {
        event_id: s.event_id,
        ticket_id: t.ticket_id,
        office_id: t.office_id.clone(),
        category: t.category,
        urgent: t.urgent,
        kind: EventKind::DisputeUpheld,
        state: t.state,
        actor: s.actor.to_owned(),
        at: s.at,
        reason,
        note,
        from_office: None,
        from_category: None,
        deadlines: None,
    }
}
