//! Verification before points (核查): a resolved ticket waits until someone
//! checks the fix, and its reporters are paid only then.
//!
//! | who | fixed | not fixed |
//! |---|---|---|
//! | the courier whose report opened it | `verified` (`verified_by_reporter`), closed, paid | `reopened` (`not_fixed`), back to the office |
//! | a supervisor | `verified` (`verified_by_supervisor`), settles disputes | `reopened` (`not_fixed`) |
//! | a courier merged onto it | `report_verified` (`fixed`) | `report_verified` (`not_fixed`): a dispute |
//! | a courier nearby, with a fresh photo | `verified` (`verified_by_courier`), closed, paid, +[`POINTS_PER_VERIFICATION`] to them | `verification_disputed` (`not_fixed`): a dispute, +[`POINTS_PER_VERIFICATION`] |
//! | nobody for N days, no open dispute | `verified` (`auto_verified`, actor `system:auto_verify`) | |
//!
//! Each check is a `verifications` row of the ticket's latest resolution
//! (its `resolved_at`), at most one per courier and resolution, and a
//! chained event, in one transaction with the ticket and the ledger.

use crate::points::ledger as points;
use crate::store::Store;
use crate::tickets::lifecycle::{self, Step};
use crate::tickets::opened::SYSTEM_ROLE;
use crate::tickets::rows::Ticket;
use crate::time_ms::to_ms;
use crate::verification::status::open_dispute;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{
    CourierId, EventId, IllegalTransition, Location, Role, TicketAction, TicketId, TicketState,
};
use sqlx::{Any, Row, Transaction};
use time::{Duration, OffsetDateTime};

/// Points a nearby courier earns for checking a fix (either verdict).
pub const POINTS_PER_VERIFICATION: i64 = 2;
/// The reason of an automatic verification.
pub const AUTO_VERIFIED: &str = "auto_verified";
/// Who verifies automatically.
pub const AUTO_VERIFY_ACTOR: &str = "system:auto_verify";
/// The reason of a not-fixed verdict (also a reopen's).
pub use crate::tickets::lifecycle::NOT_FIXED;
/// The reason of a merged reporter's fixed verdict.
pub const FIXED: &str = "fixed";
/// Tickets examined per auto-verify sweep.
const SWEEP_LIMIT: i64 = 1000;

/// How the checking person relates to the ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verifier {
    /// The courier whose report opened it.
    Reporter,
    /// A courier whose report was merged onto it: checks their own report.
    Merged,
    /// Any other courier, near the spot with a fresh photo.
    Courier,
    /// A supervisor.
    Supervisor,
}

impl Verifier {
    /// The `verifications.by_role` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Verifier::Reporter => "reporter",
            Verifier::Merged => "merged",
            Verifier::Courier => "courier",
            Verifier::Supervisor => "supervisor",
        }
    }

    /// Whether a not-fixed verdict of theirs is a dispute (they may not
    /// reopen) rather than a reopen.
    fn disputes(self) -> bool {
        matches!(self, Verifier::Merged | Verifier::Courier)
    }
}

/// One check of a resolved ticket, as validated by the HTTP layer.
#[derive(Clone, Debug)]
pub struct Verification {
    /// How the checking person relates to the ticket.
    pub by: Verifier,
    /// Their `Principal::actor()`.
    pub actor: String,
    /// Their role, for the event row.
    pub role: Role,
    /// The courier checking, for the three courier kinds (the ledger and
    /// the once-per-resolution rule need it).
    pub courier_id: Option<CourierId>,
    /// The verdict.
    pub fixed: bool,
    /// What they saw.
    pub note: Option<String>,
    /// A nearby courier's fresh photo (checked against its evidence).
    pub photo_sha256: Option<civicprobe_model::Sha256>,
    /// A nearby courier's position when checking.
    pub position: Option<Location>,
}

/// The reason a person's verify records, by their role.
pub(crate) fn reason_of(role: Role) -> &'static str {
    match role {
        Role::Supervisor => "verified_by_supervisor",
        Role::Courier => "verified_by_reporter",
        _ => "verified_by_office",
    }
}

/// `tickets.verified_by` for a verify's reason: `reporter`, `courier`,
/// `supervisor`, `auto`.
pub(crate) fn verified_by(reason: Option<&str>) -> Option<&'static str> {
    match reason? {
        "verified_by_reporter" => Some("reporter"),
        "verified_by_courier" => Some("courier"),
        "verified_by_supervisor" => Some("supervisor"),
        AUTO_VERIFIED => Some("auto"),
        _ => None,
    }
}

/// Records who verified, inside the verify's transaction.
pub(crate) async fn mark_verified(
    tx: &mut Transaction<'static, Any>,
    ticket_id: TicketId,
    reason: Option<&str>,
) -> Result<(), Error> {
    sqlx::query("UPDATE tickets SET verified_by = $1 WHERE ticket_id = $2")
        .bind(verified_by(reason))
        .bind(ticket_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The id of `actor`'s check of the resolution at `resolved_ms`: the same
/// for a retry, so the row and its points are booked once.
fn verification_id(ticket_id: TicketId, resolved_ms: i64, actor: &str) -> EventId {
    EventId::derived(ticket_id.0, &format!("verification:{resolved_ms}:{actor}"))
}

impl Store {
    /// Records `check` of `current` (which must be resolved), with what it
    /// causes (see the module's table), in one transaction. Returns the
    /// ticket now.
    ///
    /// Errors: [`Error::IllegalTransition`] for a ticket not resolved,
    /// [`Error::AlreadyVerified`] for a courier's second check of the
    /// same resolution, [`Error::ConcurrentUpdate`] when someone changed
    /// the ticket first.
    pub async fn verify(&self, current: &Ticket, check: &Verification) -> Result<Ticket, Error> {
        let action = match check.fixed {
            true => TicketAction::Verify,
            false => TicketAction::Reopen,
        };
        let resolved_at = match (current.state, current.resolved_at) {
            (TicketState::Resolved, Some(at)) => at,
            (from, _) => return Err(IllegalTransition { from, action }.into()),
        };
        let step = self.step_of(check, action);
        let mut tx = self.pool.begin().await?;
        let event_id = record_verdict(&mut tx, current, check, &step).await?;
        if check.by == Verifier::Supervisor {
            settle_disputes(&mut tx, current.ticket_id, step.at).await?;
        }
        let id = verification_id(current.ticket_id, to_ms(resolved_at), &check.actor);
        let times = (resolved_at, step.at);
        if !insert_verification(&mut tx, current, check, (id, event_id), times).await? {
            tx.rollback().await?;
            return Err(Error::AlreadyVerified(current.ticket_id));
        }
        if let (Verifier::Courier, Some(courier)) = (check.by, check.courier_id) {
            let entry = (courier, POINTS_PER_VERIFICATION);
            points::pay_verification(&mut tx, current.ticket_id, entry, (id, event_id), step.at)
                .await?;
        }
        tx.commit().await?;
        self.outbox_ready().notify_one();
        metrics::counter!("civicprobe_tracker_verifications_total",
            "by" => check.by.as_str(), "fixed" => if check.fixed { "true" } else { "false" })
        .increment(1);
        tracing::info!(ticket_id = %current.ticket_id, by = check.by.as_str(), fixed = check.fixed, "verified");
        self.ticket(current.ticket_id)
            .await?
            .ok_or(Error::TicketNotFound(current.ticket_id))
    }

    /// The step a check records: a verify or reopen for those who may
    /// steer the ticket, an event of the verdict for the others.
    fn step_of(&self, check: &Verification, action: TicketAction) -> Step {
        let reason = match (check.by, check.fixed) {
            (Verifier::Courier, true) => "verified_by_courier",
            (Verifier::Merged, true) => FIXED,
            (Verifier::Reporter | Verifier::Supervisor, true) => reason_of(check.role),
            (_, false) => NOT_FIXED,
        };
        Step {
            action,
            actor: check.actor.clone(),
            role: check.role.as_str().to_owned(),
            at: self.now(),
            reason: Some(reason.to_owned()),
            note: check.note.clone(),
            proof_photo_sha256: None,
        }
    }

    /// Verifies tickets resolved more than `after` ago without an open
    /// verification dispute: event `verified`, reason `auto_verified`,
    /// points paid. Returns how many.
    pub async fn auto_verify(&self, after: Duration) -> Result<usize, Error> {
        let now = self.now();
        let ids: Vec<String> = sqlx::query(concat!(
            "SELECT ticket_id FROM tickets WHERE state = 'resolved' AND resolved_at < $1 \
             AND NOT EXISTS (",
            open_dispute!("tickets"),
            ") LIMIT $2"
        ))
        .bind(to_ms(now - after))
        .bind(SWEEP_LIMIT)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut verified = 0;
        for id in ids {
            let ticket_id: TicketId = id.parse().map_err(|e| Error::Corrupt(format!("{e}")))?;
            let Some(current) = self.ticket(ticket_id).await? else {
                continue;
            };
            let step = Step {
                action: TicketAction::Verify,
                actor: AUTO_VERIFY_ACTOR.to_owned(),
                role: SYSTEM_ROLE.to_owned(),
                at: now,
                reason: Some(AUTO_VERIFIED.to_owned()),
                note: None,
                proof_photo_sha256: None,
            };
            match self.apply_step(&current, step).await {
                Ok(_) => verified += 1,
                Err(Error::ConcurrentUpdate(_) | Error::IllegalTransition(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if verified > 0 {
            metrics::counter!("civicprobe_tracker_verifications_total",
                "by" => "auto", "fixed" => "true")
            .increment(verified as u64);
        }
        Ok(verified)
    }
}

/// The ticket's side of a verdict: a verify or reopen (with points) for
/// the reporter, a supervisor and a nearby courier's fixed; otherwise a
/// `report_verified` or `verification_disputed` event, the ticket staying
/// resolved (its version bumped, so a concurrent step loses).
async fn record_verdict(
    tx: &mut Transaction<'static, Any>,
    current: &Ticket,
    check: &Verification,
    step: &Step,
) -> Result<EventId, Error> {
    let kind = match (check.by, check.fixed) {
        (Verifier::Reporter | Verifier::Supervisor, _) | (Verifier::Courier, true) => {
            return lifecycle::record_step(tx, current, step).await;
        }
        (Verifier::Merged, _) => EventKind::ReportVerified,
        (Verifier::Courier, false) => EventKind::VerificationDisputed,
    };
    let bumped = sqlx::query(
        "UPDATE tickets SET version = version + 1 WHERE ticket_id = $1 AND version = $2",
    )
    .bind(current.ticket_id.to_string())
    .bind(current.version)
    .execute(&mut **tx)
    .await?;
    if bumped.rows_affected() != 1 {
        return Err(Error::ConcurrentUpdate(current.ticket_id));
    }
    let event_id = EventId::new();
    lifecycle::record_event(tx, current, kind, current.state, step, event_id).await?;
    Ok(event_id)
}

/// Inserts the check's row; `false` when this actor checked this
/// resolution already.
async fn insert_verification(
    tx: &mut Transaction<'static, Any>,
    current: &Ticket,
    check: &Verification,
    (id, event_id): (EventId, EventId),
    (resolved_at, at): (OffsetDateTime, OffsetDateTime),
) -> Result<bool, Error> {
    let disputed = check.by.disputes() && !check.fixed;
    let inserted = sqlx::query(
        "INSERT INTO verifications (verification_id, ticket_id, resolved_at, actor, courier_id, \
         by_role, fixed, note, photo_sha256, event_id, at, disputed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
    )
    .bind(id.to_string())
    .bind(current.ticket_id.to_string())
    .bind(to_ms(resolved_at))
    .bind(&check.actor)
    .bind(check.courier_id.map(|c| c.to_string()))
    .bind(check.by.as_str())
    .bind(i64::from(check.fixed))
    .bind(check.note.clone())
    .bind(check.photo_sha256.map(|s| s.to_string()))
    .bind(event_id.to_string())
    .bind(to_ms(at))
    .bind(i64::from(disputed))
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Ok(false);
    }
    // Only a present position is bound: sqlx's `Any` declares a NULL f64
    // as float4 on PostgreSQL, which breaks the cached statement for the
    // next real f64.
    if let Some(p) = check.position {
        sqlx::query("UPDATE verifications SET lat = $1, lon = $2 WHERE verification_id = $3")
            .bind(p.lat())
            .bind(p.lon())
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}

/// A supervisor's verdict settles the ticket's open verification disputes.
async fn settle_disputes(
    tx: &mut Transaction<'static, Any>,
    ticket_id: TicketId,
    at: OffsetDateTime,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE verifications SET settled_at = $1 \
         WHERE ticket_id = $2 AND disputed = 1 AND settled_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(ticket_id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
