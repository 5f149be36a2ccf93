//! Moving a ticket along: an actor's transition (acknowledge, make safe,
//! start, resolve, reject, reopen, verify) or a system step (auto-verify).
//!
//! Each is one transaction: the ticket row (optimistic version check), the
//! hash-chained event, the outbox row for [`TicketChanged`], for verify
//! and reopen the points ledger, and for a `not_our_area` rejection a
//! dispute ([`crate::disputes::settle`]).

use crate::disputes::settle::{self as disputes, DISPUTED_REASON};
use crate::points::ledger as points;
use crate::store::Store;
use crate::tickets::rows::{Ticket, Transition};
use crate::tickets::step_record;
use crate::time_ms::to_ms;
use crate::verification::verdicts as verification;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{EventId, TicketAction, TicketChanged, TicketState};
use sqlx::{Any, Transaction};
use time::OffsetDateTime;

/// The reason recorded with every reopen.
pub const NOT_FIXED: &str = "not_fixed";

/// One step to record, by anyone (person or system).
#[derive(Clone, Debug)]
pub(crate) struct Step {
    /// What is done.
    pub action: TicketAction,
    /// `office:wenquan`, `system:auto_verify`, …
    pub actor: String,
    /// `office`, `supervisor`, `courier`, `system`.
    pub role: String,
    /// When.
    pub at: OffsetDateTime,
    /// Stored reason (reject reason, `not_fixed`, `verified_by_reporter`, …).
    pub reason: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// Proof photo for a resolve.
    pub proof_photo_sha256: Option<civicprobe_model::Sha256>,
}

impl Step {
    /// The step an actor's [`Transition`] records.
    fn of(change: &Transition) -> Step {
        let reason = match change.action {
            TicketAction::Reject => change.reason.map(|r| r.as_str().to_owned()),
            TicketAction::Reopen => Some(NOT_FIXED.to_owned()),
            TicketAction::Verify => Some(verification::reason_of(change.role).to_owned()),
            _ => None,
        };
        Step {
            action: change.action,
            actor: change.actor.clone(),
            role: change.role.as_str().to_owned(),
            at: change.at,
            reason,
            note: change.note.clone(),
            proof_photo_sha256: change.proof_photo_sha256,
        }
    }
}

impl Store {
    /// Applies an actor's `change` to the ticket as it was read (`current`):
    /// checks the state machine, then updates the ticket only if its version
    /// is still `current.version`, appends the event, queues it in the
    /// outbox and books points, in one transaction. Returns the ticket now.
    ///
    /// Errors: [`Error::IllegalTransition`] when the state forbids it,
    /// [`Error::ConcurrentUpdate`] when someone else changed it first.
    pub async fn apply(&self, current: &Ticket, change: &Transition) -> Result<Ticket, Error> {
        self.apply_step(current, Step::of(change)).await
    }

    /// [`Store::apply`] for any actor, system ones included.
    pub(crate) async fn apply_step(&self, current: &Ticket, step: Step) -> Result<Ticket, Error> {
        let ticket_id = current.ticket_id;
        let mut tx = self.pool.begin().await?;
        record_step(&mut tx, current, &step).await?;
        tx.commit().await?;
        self.outbox_ready().notify_one();
        self.ticket(ticket_id)
            .await?
            .ok_or(Error::TicketNotFound(ticket_id))
    }
}

/// [`Store::apply_step`] inside the caller's transaction (rolled back by
/// dropping it on error). Returns the event's id.
pub(crate) async fn record_step(
    tx: &mut Transaction<'static, Any>,
    current: &Ticket,
    step: &Step,
) -> Result<EventId, Error> {
    let next = current.state.apply(step.action)?;
    // The write comes first so that SQLite takes its write lock before
    // reading anything in this transaction.
    if !update_ticket(tx, current, next, step).await? {
        return Err(Error::ConcurrentUpdate(current.ticket_id));
    }
    let event_id = EventId::new();
    record_event(tx, current, step.action.event_kind(), next, step, event_id).await?;
    follow_up(tx, current, step, event_id).await?;
    Ok(event_id)
}

/// Appends the event `kind` of `step` to the chain and queues it in the
/// outbox; `state` is the ticket's state after it.
pub(crate) async fn record_event(
    tx: &mut Transaction<'static, Any>,
    current: &Ticket,
    kind: EventKind,
    state: TicketState,
    step: &Step,
    event_id: EventId,
) -> Result<(), Error> {
    let changed = TicketChanged {
        event_id,
        ticket_id: current.ticket_id,
        office_id: current.office_id.clone(),
        category: current.category,
        urgent: current.urgent,
        kind,
        state,
        actor: step.actor.clone(),
        at: step.at,
        reason: step.reason.clone(),
        note: step.note.clone(),
        from_office: None,
        from_category: None,
        deadlines: None,
    };
    let proof = step.proof_photo_sha256;
    step_record::record_changed(tx, &changed, &step.role, proof).await
}

/// What a step brings along in its transaction: points and who verified
/// for a verify, the reversal of points paid for a reopen (only tickets
/// resolved before verification existed were paid on resolve), a dispute
/// for a `not_our_area` rejection.
async fn follow_up(
    tx: &mut Transaction<'static, Any>,
    current: &Ticket,
    step: &Step,
    event_id: EventId,
) -> Result<(), Error> {
    let ticket_id = current.ticket_id;
    match step.action {
        TicketAction::Verify => {
            verification::mark_verified(tx, ticket_id, step.reason.as_deref()).await?;
            points::award(tx, ticket_id, event_id, step.at).await
        }
        TicketAction::Reopen => points::reverse(tx, ticket_id, event_id, step.at).await,
        TicketAction::Reject if step.reason.as_deref() == Some(DISPUTED_REASON.as_str()) => {
            let note = step.note.as_deref();
            disputes::open(tx, current, event_id, &step.actor, step.at, note).await
        }
        _ => Ok(()),
    }
}

/// Updates state, version and the step's timestamp, only if the version is
/// still `current.version`; `false` when it was not. First acknowledgement
/// and first make-safe are kept (they measure response); resolve and close
/// record the latest; reopen counts.
async fn update_ticket(
    tx: &mut Transaction<'static, Any>,
    current: &Ticket,
    next: TicketState,
    step: &Step,
) -> Result<bool, Error> {
    macro_rules! update {
        ($set:literal) => {
            concat!(
                "UPDATE tickets SET state = $1, version = $2",
                $set,
                " WHERE ticket_id = $3 AND version = $4 AND CAST($5 AS BIGINT) IS NOT NULL"
            )
        };
    }
    let sql = match step.action {
        TicketAction::Acknowledge => update!(", acknowledged_at = COALESCE(acknowledged_at, $5)"),
        TicketAction::MakeSafe => update!(", made_safe_at = COALESCE(made_safe_at, $5)"),
        TicketAction::Resolve => update!(", resolved_at = $5"),
        TicketAction::Verify => update!(", closed_at = $5"),
        TicketAction::Reopen => update!(", reopen_count = reopen_count + 1"),
        TicketAction::Start | TicketAction::Reject => update!(""),
    };
    let updated = sqlx::query(sql)
        .bind(next.as_str())
        .bind(current.version + 1)
        .bind(current.ticket_id.to_string())
        .bind(current.version)
        .bind(to_ms(step.at))
        .execute(&mut **tx)
        .await?;
    Ok(updated.rows_affected() == 1)
}
