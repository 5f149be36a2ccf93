//! The SLA clock's queries: breaches to escalate (one `escalated` event per
//! ticket and step, ever: the `escalations` table's key and a deterministic
//! event id make it idempotent across restarts and instances) and the
//! overdue list. (Resolved tickets verified automatically: see
//! [`crate::verification::verdicts`].)

use crate::store::Store;
use crate::tickets::opened::SYSTEM_ROLE;
use crate::tickets::step_record;
use crate::time_ms::{from_ms, to_ms};
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{
    Category, Deadlines, EventId, OfficeId, TicketChanged, TicketId, TicketState,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

/// Who escalates.
const SLA_ACTOR: &str = "system:sla";
/// Tickets examined per sweep.
const SWEEP_LIMIT: i64 = 1000;

/// Tickets on the clock (active ones, and rejected ones whose
/// `not_our_area` dispute no supervisor has settled yet) with at least one
/// step past its deadline and not done.
macro_rules! overdue_where {
    () => {
        " FROM tickets WHERE (state IN ('open', 'acknowledged', 'in_progress', 'reopened') \
          OR (state = 'rejected' AND EXISTS (SELECT 1 FROM disputes d \
              WHERE d.ticket_id = tickets.ticket_id AND d.settled_at IS NULL))) AND \
         ((acknowledged_at IS NULL AND acknowledge_by < $1) \
          OR (made_safe_at IS NULL AND make_safe_by < $1) \
          OR resolve_by < $1)"
    };
}

/// `disputed`: 1 while the ticket has an open dispute.
macro_rules! disputed_column {
    () => {
        "(SELECT COUNT(*) FROM disputes d WHERE d.ticket_id = tickets.ticket_id \
         AND d.settled_at IS NULL) AS disputed"
    };
}

/// A step whose deadline passed before it was done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// `acknowledge`, `make_safe` or `resolve`.
    pub step: &'static str,
    /// The deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    /// How late it is now, seconds.
    pub late_s: i64,
}

/// An overdue ticket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overdue {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its office.
    pub office_id: OfficeId,
    /// Its category.
    pub category: Category,
    /// Life-safety now.
    pub urgent: bool,
    /// Where it stands.
    pub state: TicketState,
    /// The SLA's start.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The worst breach, seconds.
    pub late_s: i64,
    /// Every breached step.
    pub breaches: Vec<Breach>,
    /// Rejected as `not_our_area` and waiting for a supervisor: it stays
    /// on the clock until the dispute is settled.
    pub disputed: bool,
}

/// The steps of a ticket with these `deadlines` that are past due and not
/// done as of `now` (resolving is never done while it is on the clock).
pub(crate) fn breaches(
    deadlines: &Deadlines,
    acknowledged: bool,
    made_safe: bool,
    now: OffsetDateTime,
) -> Vec<Breach> {
    let steps = [
        ("acknowledge", deadlines.acknowledge_by, !acknowledged),
        ("make_safe", deadlines.make_safe_by, !made_safe),
        ("resolve", deadlines.resolve_by, true),
    ];
    steps
        .into_iter()
        .filter(|(_, due, pending)| *pending && *due < now)
        .map(|(step, due, _)| Breach {
            step,
            due,
            late_s: (now - due).whole_seconds(),
        })
        .collect()
}

/// Reads an overdue row and its breaches as of `now`.
fn overdue_row(row: &AnyRow, now: OffsetDateTime) -> Result<Overdue, Error> {
    let acked: Option<i64> = row.try_get("acknowledged_at")?;
    let safe: Option<i64> = row.try_get("made_safe_at")?;
    let deadlines = Deadlines {
        acknowledge_by: from_ms(row.try_get("acknowledge_by")?)?,
        make_safe_by: from_ms(row.try_get("make_safe_by")?)?,
        resolve_by: from_ms(row.try_get("resolve_by")?)?,
    };
    let breaches = breaches(&deadlines, acked.is_some(), safe.is_some(), now);
    Ok(Overdue {
        ticket_id: crate::tickets::rows::parsed(row, "ticket_id")?,
        office_id: crate::tickets::rows::parsed(row, "office_id")?,
        category: crate::tickets::rows::parsed(row, "category")?,
        urgent: row.try_get::<i64, _>("urgent")? != 0,
        state: crate::tickets::rows::parsed(row, "state")?,
        received_at: from_ms(row.try_get("received_at")?)?,
        late_s: breaches.iter().map(|b| b.late_s).max().unwrap_or(0),
        breaches,
        disputed: row.try_get::<i64, _>("disputed")? != 0,
    })
}

/// The event row and the outbox message of one escalation.
fn escalation(
    t: &Overdue,
    breach: &Breach,
    event_id: EventId,
    now: OffsetDateTime,
) -> TicketChanged {
    let note = format!("{} s late", breach.late_s);
    TicketChanged {
        event_id,
        ticket_id: t.ticket_id,
        office_id: t.office_id.clone(),
        category: t.category,
        urgent: t.urgent,
        kind: EventKind::Escalated,
        state: t.state,
        actor: SLA_ACTOR.to_owned(),
        at: now,
        reason: Some(breach.step.to_owned()),
        note: Some(note),
        from_office: None,
        from_category: None,
        deadlines: None,
    }
}

impl Store {
    /// Overdue tickets as of now, the latest first; only `office`'s if given.
    pub async fn overdue(
        &self,
        office: Option<&OfficeId>,
        limit: i64,
    ) -> Result<Vec<Overdue>, Error> {
        let now = self.now();
        let rows = sqlx::query(concat!(
            "SELECT ticket_id, office_id, category, urgent, state, received_at, acknowledge_by, \
             make_safe_by, resolve_by, acknowledged_at, made_safe_at, ",
            disputed_column!(),
            overdue_where!(),
            " AND ($2 = '' OR office_id = $2)"
        ))
        .bind(to_ms(now))
        .bind(office.map_or("", OfficeId::as_str))
        .fetch_all(&self.pool)
        .await?;
        let mut list = rows
            .iter()
            .map(|row| overdue_row(row, now))
            .collect::<Result<Vec<_>, _>>()?;
        list.sort_by(|a, b| b.late_s.cmp(&a.late_s).then(a.ticket_id.cmp(&b.ticket_id)));
        list.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(list)
    }

    /// How many tickets are overdue as of now (the operator's gauge).
    pub async fn overdue_count(&self) -> Result<i64, Error> {
        let count: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*)", overdue_where!()))
            .bind(to_ms(self.now()))
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// Records one `escalated` event for every breach not yet escalated.
    /// Returns the (ticket, step) pairs escalated by this call.
    pub async fn escalate_overdue(&self) -> Result<Vec<(TicketId, &'static str)>, Error> {
        let now = self.now();
        let rows = sqlx::query(concat!(
            "SELECT ticket_id, office_id, category, urgent, state, received_at, acknowledge_by, \
             make_safe_by, resolve_by, acknowledged_at, made_safe_at, ",
            disputed_column!(),
            overdue_where!(),
            " AND (SELECT COUNT(*) FROM escalations e WHERE e.ticket_id = tickets.ticket_id) < 3 \
             LIMIT $2"
        ))
        .bind(to_ms(now))
        .bind(SWEEP_LIMIT)
        .fetch_all(&self.pool)
        .await?;
        let mut done = Vec::new();
        for row in &rows {
            let overdue = overdue_row(row, now)?;
            for breach in &overdue.breaches {
                if self.escalate(&overdue, breach, now).await? {
                    metrics::counter!("civicprobe_tracker_escalations_total", "step" => breach.step)
                        .increment(1);
                    done.push((overdue.ticket_id, breach.step));
                }
            }
        }
        Ok(done)
    }

    /// Escalates one breach; `false` when it was escalated before.
    async fn escalate(
        &self,
        t: &Overdue,
        breach: &Breach,
        now: OffsetDateTime,
    ) -> Result<bool, Error> {
        let event_id = EventId::derived(
            t.ticket_id.0,
            &format!("{}:{}", EventKind::Escalated, breach.step),
        );
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO escalations (ticket_id, step, event_id, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ticket_id, step) DO NOTHING",
        )
        .bind(t.ticket_id.to_string())
        .bind(breach.step)
        .bind(event_id.to_string())
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let changed = escalation(t, breach, event_id, now);
        step_record::record_changed(&mut tx, &changed, SYSTEM_ROLE, None).await?;
        tx.commit().await?;
        self.outbox_ready().notify_one();
        tracing::info!(ticket_id = %t.ticket_id, step = breach.step, late_s = breach.late_s, "escalated");
        Ok(true)
    }
}
