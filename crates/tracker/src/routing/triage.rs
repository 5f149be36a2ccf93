//! Correcting what the router decided: a person's re-triage of a ticket's
//! category or urgency ([`Store::triage`]), and an urgent duplicate making
//! its ticket urgent ([`urgent_duplicate`], called by the merge).
//!
//! Each is one transaction: the ticket row (optimistic version check),
//! deadlines recomputed from the policy (still counted from
//! `received_at`), a hash-chained `triaged` event with the actor, the
//! reason and what changed, and its [`TicketChanged`] in the outbox (so
//! the office's alert and live stream see it). A person's re-triage is
//! also kept as a labelled example for the next classifier
//! ([`Store::triage_corrections`]).

use crate::store::Store;
use crate::tickets::opened::{ROUTER_ACTOR, SYSTEM_ROLE};
use crate::tickets::rows::{parsed, Ticket};
use crate::tickets::step_record;
use crate::time_ms::{from_ms, to_ms};
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{Category, Deadlines, EventId, ReportId, Role, TicketChanged, TicketId};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

/// The reason recorded when an urgent duplicate makes its ticket urgent.
pub const URGENT_DUPLICATE: &str = "urgent_duplicate";

/// A person's correction of a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Triage {
    /// The new category, if it changes.
    pub category: Option<Category>,
    /// The new urgency, if it changes.
    pub urgent: Option<bool>,
    /// Why (required; kept with the event and the labelled example).
    pub reason: String,
    /// `Principal::actor()` of who corrects it.
    pub actor: String,
    /// Their role (office or supervisor).
    pub role: Role,
    /// When.
    pub at: OffsetDateTime,
}

/// A re-triage read back as a labelled example for the classifier.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriageCorrection {
    /// The `triaged` event.
    pub event_id: EventId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The ticket's text (its opening report's).
    pub text: Option<String>,
    /// The category before.
    pub from_category: Category,
    /// The category after.
    pub to_category: Category,
    /// The urgency before.
    pub from_urgent: bool,
    /// The urgency after.
    pub to_urgent: bool,
    /// The reason the person gave.
    pub reason: String,
    /// Who corrected it.
    pub actor: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One recorded `triaged` step, before it is written.
struct Triaged<'a> {
    /// Its event id.
    event_id: EventId,
    /// The ticket as it was read.
    before: &'a Ticket,
    /// Category after.
    category: Category,
    /// Urgency after.
    urgent: bool,
    /// Deadlines after.
    deadlines: Deadlines,
    /// Who.
    actor: &'a str,
    /// `office`, `supervisor` or `system`.
    role: &'a str,
    /// When.
    at: OffsetDateTime,
    /// Why.
    reason: &'a str,
    /// What changed, and for a duplicate which report.
    note: String,
    /// A person looked at it: `needs_triage` is cleared (an urgent
    /// duplicate leaves it as it was).
    by_person: bool,
}

/// `category manhole→elevator; urgent false→true`: what changed.
pub fn change_note(before: &Ticket, category: Category, urgent: bool) -> String {
    let mut parts = Vec::new();
    if category != before.category {
        parts.push(format!("category {}→{}", before.category, category));
    }
    if urgent != before.urgent {
        parts.push(format!("urgent {}→{}", before.urgent, urgent));
    }
    parts.join("; ")
}

impl Store {
    /// Applies a person's re-triage to the ticket as it was read
    /// (`current`). Errors: [`Error::NotActive`] for a resolved, closed or
    /// rejected ticket, [`Error::NothingToChange`] when the category and
    /// urgency are what they are, [`Error::ConcurrentUpdate`] when someone
    /// else changed the ticket first.
    pub async fn triage(&self, current: &Ticket, t: &Triage) -> Result<Ticket, Error> {
        if !current.state.is_active() {
            return Err(Error::NotActive(current.state));
        }
        let category = t.category.unwrap_or(current.category);
        let urgent = t.urgent.unwrap_or(current.urgent);
        if category == current.category && urgent == current.urgent {
            return Err(Error::NothingToChange);
        }
        let step = Triaged {
            event_id: EventId::new(),
            before: current,
            category,
            urgent,
            deadlines: self
                .policy()
                .deadlines(category, urgent, current.received_at),
            actor: &t.actor,
            role: t.role.as_str(),
            at: t.at,
            reason: &t.reason,
            note: change_note(current, category, urgent),
            by_person: true,
        };
        let mut tx = self.pool.begin().await?;
        if !update_ticket(&mut tx, &step).await? {
            tx.rollback().await?;
            return Err(Error::ConcurrentUpdate(current.ticket_id));
        }
        record(&mut tx, &step).await?;
        insert_correction(&mut tx, &step).await?;
        tx.commit().await?;
        self.outbox_ready().notify_one();
        metrics::counter!("civicprobe_tracker_triaged_total", "by" => "person").increment(1);
        self.ticket(current.ticket_id)
            .await?
            .ok_or(Error::TicketNotFound(current.ticket_id))
    }

    /// Every person's re-triage, oldest first: the labelled examples the
    /// next classifier learns from.
    pub async fn triage_corrections(&self) -> Result<Vec<TriageCorrection>, Error> {
        let rows = sqlx::query(
            "SELECT event_id, ticket_id, text, from_category, to_category, from_urgent, \
             to_urgent, reason, actor, at FROM triage_corrections ORDER BY at, event_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TriageCorrection {
                    event_id: parsed(row, "event_id")?,
                    ticket_id: parsed(row, "ticket_id")?,
                    text: row.try_get("text")?,
                    from_category: parsed(row, "from_category")?,
                    to_category: parsed(row, "to_category")?,
                    from_urgent: row.try_get::<i64, _>("from_urgent")? != 0,
                    to_urgent: row.try_get::<i64, _>("to_urgent")? != 0,
                    reason: row.try_get("reason")?,
                    actor: row.try_get("actor")?,
                    at: from_ms(row.try_get("at")?)?,
                })
            })
            .collect()
    }
}

/// Inside the merge's transaction: an urgent duplicate (`report`) of a
/// routine, active ticket makes it urgent. The deadlines tighten to the
/// policy's urgent ones, counted from the ticket's `received_at`, never
/// loosening a step. Returns whether it changed the ticket.
pub(crate) async fn urgent_duplicate(
    tx: &mut Transaction<'static, Any>,
    policy: &civicprobe_model::SlaPolicy,
    ticket_id: TicketId,
    report: ReportId,
    at: OffsetDateTime,
) -> Result<bool, Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        crate::tickets::rows::ticket_columns!(),
        " FROM tickets WHERE ticket_id = $1"
    ))
    .bind(ticket_id.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::TicketNotFound(ticket_id))?;
    let before = Ticket::from_row(&row)?;
    if before.urgent || !before.state.is_active() {
        return Ok(false);
    }
    let urgent = policy.deadlines(before.category, true, before.received_at);
    let step = Triaged {
        event_id: EventId::derived(report.0, EventKind::Triaged.as_str()),
        before: &before,
        category: before.category,
        urgent: true,
        deadlines: earliest(before.deadlines, urgent),
        actor: ROUTER_ACTOR,
        role: SYSTEM_ROLE,
        at,
        reason: URGENT_DUPLICATE,
        note: format!(
            "{}; urgent report {report}",
            change_note(&before, before.category, true)
        ),
        by_person: false,
    };
    if !update_ticket(tx, &step).await? {
        return Err(Error::ConcurrentUpdate(ticket_id));
    }
    record(tx, &step).await?;
    metrics::counter!("civicprobe_tracker_triaged_total", "by" => "urgent_duplicate").increment(1);
    tracing::info!(ticket_id = %ticket_id, report_id = %report, "urgent duplicate made the ticket urgent");
    Ok(true)
}

/// Each step's earlier deadline.
fn earliest(a: Deadlines, b: Deadlines) -> Deadlines {
    Deadlines {
        acknowledge_by: a.acknowledge_by.min(b.acknowledge_by),
        make_safe_by: a.make_safe_by.min(b.make_safe_by),
        resolve_by: a.resolve_by.min(b.resolve_by),
    }
}

/// Sets category, urgency and deadlines (and, for a person's step, clears
/// `needs_triage`), only if the version is still the one read; `false`
/// when it was not.
async fn update_ticket(tx: &mut Transaction<'static, Any>, s: &Triaged<'_>) -> Result<bool, Error> {
    let updated = sqlx::query(
        "UPDATE tickets SET category = $1, urgent = $2, acknowledge_by = $3, make_safe_by = $4, \
         resolve_by = $5, version = $6, \
         needs_triage = CASE WHEN CAST($9 AS BIGINT) = 1 THEN 0 ELSE needs_triage END \
         WHERE ticket_id = $7 AND version = $8",
    )
    .bind(s.category.as_str())
    .bind(i64::from(s.urgent))
    .bind(to_ms(s.deadlines.acknowledge_by))
    .bind(to_ms(s.deadlines.make_safe_by))
    .bind(to_ms(s.deadlines.resolve_by))
    .bind(s.before.version + 1)
    .bind(s.before.ticket_id.to_string())
    .bind(s.before.version)
    .bind(i64::from(s.by_person))
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Appends the `triaged` event to the chain and queues its
/// [`TicketChanged`] in the outbox.
async fn record(tx: &mut Transaction<'static, Any>, s: &Triaged<'_>) -> Result<(), Error> {
    let before = s.before;
    let changed = TicketChanged {
        event_id: s.event_id,
        ticket_id: before.ticket_id,
        office_id: before.office_id.clone(),
        category: s.category,
        urgent: s.urgent,
        kind: EventKind::Triaged,
        state: before.state,
        actor: s.actor.to_owned(),
        at: s.at,
        reason: Some(s.reason.to_owned()),
        note: Some(s.note.clone()),
        from_office: None,
        from_category: (s.category != before.category).then_some(before.category),
        deadlines: Some(s.deadlines),
    };
    step_record::record_changed(tx, &changed, s.role, None).await
}

/// Keeps a person's re-triage as a labelled example.
async fn insert_correction(
    tx: &mut Transaction<'static, Any>,
    s: &Triaged<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO triage_corrections (event_id, ticket_id, text, from_category, to_category, \
         from_urgent, to_urgent, reason, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(s.event_id.to_string())
    .bind(s.before.ticket_id.to_string())
    .bind(s.before.text.clone())
    .bind(s.before.category.as_str())
    .bind(s.category.as_str())
    .bind(i64::from(s.before.urgent))
    .bind(i64::from(s.urgent))
    .bind(s.reason)
    .bind(s.actor)
    .bind(to_ms(s.at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
