//! One step of a ticket, recorded once: its hash-chained event row and
//! the [`TicketChanged`] queued in the outbox are built from the same
//! facts, so the history and what other services hear cannot disagree.
//! Every step of an existing ticket (an actor's transition, a reroute, a
//! re-triage, an escalation, an upheld dispute, a verification) goes
//! through [`record_changed`]; only `opened` and `merged`, which carry
//! other messages, build their rows themselves.

use crate::audit::chain::{self, ChainRow};
use crate::outbox;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{Sha256, TicketChanged};
use sqlx::{Any, Transaction};

/// Appends `changed` to the chain, as taken by someone in `role` (with a
/// proof photo for a resolve), and queues it in the outbox, inside `tx`.
pub(crate) async fn record_changed(
    tx: &mut Transaction<'static, Any>,
    changed: &TicketChanged,
    role: &str,
    proof_photo_sha256: Option<Sha256>,
) -> Result<(), Error> {
    chain::append(tx, chain_row(changed, role, proof_photo_sha256)).await?;
    outbox::enqueue(tx, changed).await
}

/// The event row of `changed`: the chain's columns, before [`chain::append`]
/// numbers and hashes it.
fn chain_row(changed: &TicketChanged, role: &str, proof_photo_sha256: Option<Sha256>) -> ChainRow {
    let id = (changed.event_id, changed.ticket_id, changed.kind);
    ChainRow {
        reason: changed.reason.clone(),
        note: changed.note.clone(),
        office_id: Some(changed.office_id.clone()),
        from_office: changed.from_office.clone(),
        proof_photo_sha256,
        terms: changed
            .deadlines
            .as_ref()
            .map(|d| chain::terms(changed.category, changed.urgent, d)),
        ..ChainRow::event(id, &changed.actor, role, to_ms(changed.at))
    }
}
