//! Writing tickets: opening one from the router's event, recording an
//! unrouted report, and applying an actor's transition. Each is one
//! transaction; the first two are idempotent.

use super::rows::{Ticket, Transition};
use super::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{EventId, ReportUnrouted, TicketAction, TicketOpened, TicketState};
use sqlx::{Any, Transaction};

/// The event kind of a ticket's first step (also the subject's last token).
pub const OPENED: &str = "opened";

/// Who opens tickets: the router, a system actor.
const ROUTER_ACTOR: &str = "router";
/// The role recorded for system actors.
const SYSTEM_ROLE: &str = "system";

impl Store {
    /// Stores a ticket the router opened, with its `opened` event, in one
    /// transaction. Returns `false` (and changes nothing) when the ticket
    /// or its report is already known: redelivery is harmless.
    pub async fn record_ticket_opened(&self, ev: &TicketOpened) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        if !insert_ticket(&mut tx, ev).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO ticket_events (event_id, ticket_id, seq, kind, actor, role, at) \
             VALUES ($1, $2, 1, $3, $4, $5, $6)",
        )
        .bind(ev.event_id.to_string())
        .bind(ev.ticket_id.to_string())
        .bind(OPENED)
        .bind(ROUTER_ACTOR)
        .bind(SYSTEM_ROLE)
        .bind(to_ms(ev.opened_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO offices (office_id, name) VALUES ($1, $2) ON CONFLICT (office_id) DO NOTHING",
        )
        .bind(ev.office_id.as_str())
        .bind(&ev.office_name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a report no office's area holds. Returns `false` when it is
    /// already known.
    pub async fn record_unrouted(&self, ev: &ReportUnrouted) -> Result<bool, Error> {
        let r = &ev.report;
        let done = sqlx::query(
            "INSERT INTO unrouted (report_id, category, urgent, lat, lon, text, courier_id, \
             received_at, payload_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (report_id) DO NOTHING",
        )
        .bind(r.report_id.to_string())
        .bind(ev.category.as_str())
        .bind(i64::from(ev.urgent))
        .bind(r.location.lat())
        .bind(r.location.lon())
        .bind(r.text.clone())
        .bind(r.courier_id.to_string())
        .bind(to_ms(r.received_at))
        .bind(serde_json::to_string(ev)?)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Applies `change` to the ticket as it was read (`current`): checks the
    /// state machine, then updates the state, the step's timestamp and the
    /// version (only if the version is still `current.version`) and appends
    /// the event, in one transaction. Returns the ticket as it now is.
    ///
    /// Errors: [`Error::IllegalTransition`] when the state forbids it,
    /// [`Error::ConcurrentUpdate`] when someone else changed it first.
    pub async fn apply(&self, current: &Ticket, change: &Transition) -> Result<Ticket, Error> {
        let next = current.state.apply(change.action)?;
        let version = current.version + 1;
        let ticket_id = current.ticket_id;
        let mut tx = self.pool.begin().await?;
        // The write comes first so that SQLite takes its write lock (waiting
        // on the busy timeout) before reading anything in this transaction.
        let (sql, binds_time) = update_sql(change.action);
        let mut update = sqlx::query(sql)
            .bind(next.as_str())
            .bind(version)
            .bind(ticket_id.to_string())
            .bind(current.version);
        if binds_time {
            update = update.bind(to_ms(change.at));
        }
        let updated = update.execute(&mut *tx).await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::ConcurrentUpdate(ticket_id));
        }
        sqlx::query(
            "INSERT INTO ticket_events (event_id, ticket_id, seq, kind, actor, role, at, reason, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(EventId::new().to_string())
        .bind(ticket_id.to_string())
        .bind(version)
        .bind(change.action.event_kind())
        .bind(change.actor.as_str())
        .bind(change.role.as_str())
        .bind(to_ms(change.at))
        .bind(change.reason.map(|r| r.as_str().to_owned()))
        .bind(change.note.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.ticket(ticket_id)
            .await?
            .ok_or(Error::TicketNotFound(ticket_id))
    }
}

/// Inserts the ticket row; `false` when it (or its report) exists.
async fn insert_ticket(
    tx: &mut Transaction<'static, Any>,
    ev: &TicketOpened,
) -> Result<bool, Error> {
    let r = &ev.report;
    let done = sqlx::query(
        "INSERT INTO tickets (ticket_id, report_id, office_id, office_name, category, urgent, \
         state, courier_id, lat, lon, accuracy_m, text, photos_json, reported_at, received_at, \
         opened_at, acknowledge_by, make_safe_by, resolve_by, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, 1) ON CONFLICT DO NOTHING",
    )
    .bind(ev.ticket_id.to_string())
    .bind(r.report_id.to_string())
    .bind(ev.office_id.as_str())
    .bind(&ev.office_name)
    .bind(ev.category.as_str())
    .bind(i64::from(ev.urgent))
    .bind(TicketState::Open.as_str())
    .bind(r.courier_id.to_string())
    .bind(r.location.lat())
    .bind(r.location.lon())
    .bind(r.accuracy_m)
    .bind(r.text.clone())
    .bind(serde_json::to_string(&r.photos)?)
    .bind(r.reported_at.map(to_ms))
    .bind(to_ms(r.received_at))
    .bind(to_ms(ev.opened_at))
    .bind(to_ms(ev.deadlines.acknowledge_by))
    .bind(to_ms(ev.deadlines.make_safe_by))
    .bind(to_ms(ev.deadlines.resolve_by))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The UPDATE for an action: `$1` state, `$2` new version, `$3` ticket id,
/// `$4` expected version and, for actions with a timestamp column, `$5` the
/// time. First acknowledgement and first make-safe are kept (they measure
/// response); resolve and close record the latest. Start, reject and reopen
/// only change the state (their event holds the time).
fn update_sql(action: TicketAction) -> (&'static str, bool) {
    macro_rules! update {
        ($set:literal) => {
            concat!(
                "UPDATE tickets SET state = $1, version = $2",
                $set,
                " WHERE ticket_id = $3 AND version = $4"
            )
        };
    }
    match action {
        TicketAction::Acknowledge => (
            update!(", acknowledged_at = COALESCE(acknowledged_at, $5)"),
            true,
        ),
        TicketAction::MakeSafe => (update!(", made_safe_at = COALESCE(made_safe_at, $5)"), true),
        TicketAction::Resolve => (update!(", resolved_at = $5"), true),
        TicketAction::Close => (update!(", closed_at = $5"), true),
        TicketAction::Start | TicketAction::Reject | TicketAction::Reopen => (update!(""), false),
    }
}
