//! What supervisors read of disputes: the queue ([`Store::disputes`],
//! the longest waiting first, each with its ticket and how overdue it is)
//! and a ticket's latest dispute, shown on the ticket ([`DisputeMark`]).
//! The writes are in [`crate::disputes::settle`].

use crate::sla::breaches::{breaches, Breach};
use crate::store::Store;
use crate::tickets::rows::parsed;
use crate::tickets::rows::{ticket_columns, Ticket};
use crate::time_ms::{from_ms, from_opt_ms};
use crate::Error;
use civicprobe_model::EventId;
use civicprobe_model::{OfficeId, TicketId};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;
use time::OffsetDateTime;

/// Which disputes `GET /v1/disputes?state=` lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DisputeFilter {
    /// Waiting for a supervisor (the default).
    #[default]
    Open,
    /// Rerouted or upheld.
    Settled,
    /// Both.
    All,
}

impl FromStr for DisputeFilter {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(DisputeFilter::Open),
            "settled" => Ok(DisputeFilter::Settled),
            "all" => Ok(DisputeFilter::All),
            _ => Err("state must be open, settled or all"),
        }
    }
}

/// A ticket's latest dispute, as its JSON shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DisputeMark {
    /// `open` or `settled`.
    pub state: &'static str,
    /// When the rejection was made.
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    /// The office that rejected it.
    pub office_id: OfficeId,
    /// Who rejected it (`Principal::actor`).
    pub raised_by: String,
    /// The rejection's note.
    pub note: Option<String>,
    /// `rerouted` or `upheld`, once settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// When it was settled.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub settled_at: Option<OffsetDateTime>,
}

/// One dispute in the supervisors' queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dispute {
    /// The disputed ticket.
    pub ticket_id: TicketId,
    /// The `rejected` event that opened the dispute.
    pub rejection_event_id: EventId,
    /// `open` or `settled`.
    pub state: &'static str,
    /// The office that rejected it.
    pub office_id: OfficeId,
    /// That office's display name (its id when it has none).
    pub office_name: String,
    /// Who rejected it (`Principal::actor`).
    pub raised_by: String,
    /// Their name, when they are a named person.
    pub raised_by_name: Option<String>,
    /// When it was rejected.
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    /// The rejection's note: why the office says it is not theirs.
    pub note: Option<String>,
    /// How long it has waited for a supervisor (until settled), seconds.
    pub waiting_s: i64,
    /// How overdue the ticket is (was, when settled): its worst breach,
    /// seconds; 0 while every deadline is ahead.
    pub late_s: i64,
    /// Every breached step, as the overdue list shows them.
    pub breaches: Vec<Breach>,
    /// `rerouted` or `upheld`, once settled.
    pub outcome: Option<String>,
    /// When it was settled.
    #[serde(with = "time::serde::rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
    /// Who settled it.
    pub settled_by: Option<String>,
    /// The supervisor's note when settling.
    pub settled_note: Option<String>,
    /// The ticket now.
    pub ticket: Ticket,
}

/// The dispute columns of the queue's `SELECT`, renamed where they would
/// clash with the ticket's.
macro_rules! dispute_join {
    () => {
        " FROM tickets JOIN (SELECT event_id AS d_event_id, ticket_id AS d_ticket_id, \
         office_id AS d_office_id, raised_by, raised_at, note AS d_note, settled_at, \
         settled_by, outcome, settled_note, \
         (SELECT p.name FROM persons p WHERE p.actor = disputes.raised_by) AS raised_by_name, \
         COALESCE((SELECT o.name FROM offices o WHERE o.office_id = disputes.office_id), \
         disputes.office_id) AS d_office_name FROM disputes) d \
         ON d.d_ticket_id = tickets.ticket_id"
    };
}

/// Reads a queue row: the ticket's columns and the dispute's, as of `now`.
fn dispute_row(row: &AnyRow, now: OffsetDateTime) -> Result<Dispute, Error> {
    let ticket = Ticket::from_row(row)?;
    let raised_at = from_ms(row.try_get("raised_at")?)?;
    let settled_at = from_opt_ms(row.try_get("settled_at")?)?;
    let until = settled_at.unwrap_or(now);
    let breaches = breaches(
        &ticket.deadlines,
        ticket.acknowledged_at.is_some(),
        ticket.made_safe_at.is_some(),
        until,
    );
    Ok(Dispute {
        ticket_id: ticket.ticket_id,
        rejection_event_id: parsed(row, "d_event_id")?,
        state: if settled_at.is_none() {
            "open"
        } else {
            "settled"
        },
        office_id: parsed(row, "d_office_id")?,
        office_name: row.try_get("d_office_name")?,
        raised_by: row.try_get("raised_by")?,
        raised_by_name: row.try_get("raised_by_name")?,
        raised_at,
        note: row.try_get("d_note")?,
        waiting_s: (until - raised_at).whole_seconds().max(0),
        late_s: breaches.iter().map(|b| b.late_s).max().unwrap_or(0),
        breaches,
        outcome: row.try_get("outcome")?,
        settled_at,
        settled_by: row.try_get("settled_by")?,
        settled_note: row.try_get("settled_note")?,
        ticket,
    })
}

impl Store {
    /// Disputes in `filter`, the longest waiting first, at most `limit`.
    pub async fn disputes(&self, filter: DisputeFilter, limit: i64) -> Result<Vec<Dispute>, Error> {
        macro_rules! listing {
            ($where:literal) => {
                concat!(
                    "SELECT ",
                    ticket_columns!(),
                    ", d.d_event_id, d.d_office_id, d.d_office_name, d.raised_by, \
                     d.raised_by_name, d.raised_at, d.d_note, d.settled_at, d.settled_by, \
                     d.outcome, d.settled_note",
                    dispute_join!(),
                    $where,
                    " ORDER BY d.raised_at, d.d_event_id LIMIT $1"
                )
            };
        }
        let sql = match filter {
            DisputeFilter::Open => listing!(" WHERE d.settled_at IS NULL"),
            DisputeFilter::Settled => listing!(" WHERE d.settled_at IS NOT NULL"),
            DisputeFilter::All => listing!(""),
        };
        let now = self.now();
        sqlx::query(sql)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| dispute_row(row, now))
            .collect()
    }

    /// The ticket's latest dispute (its open one, if any), or `None`.
    pub async fn dispute_mark(&self, ticket_id: TicketId) -> Result<Option<DisputeMark>, Error> {
        let row = sqlx::query(
            "SELECT office_id, raised_by, raised_at, note, outcome, settled_at FROM disputes \
             WHERE ticket_id = $1 \
             ORDER BY CASE WHEN settled_at IS NULL THEN 0 ELSE 1 END, settled_at DESC, raised_at DESC \
             LIMIT 1",
        )
        .bind(ticket_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let settled_at = from_opt_ms(row.try_get("settled_at")?)?;
        Ok(Some(DisputeMark {
            state: if settled_at.is_none() {
                "open"
            } else {
                "settled"
            },
            raised_at: from_ms(row.try_get("raised_at")?)?,
            office_id: parsed(&row, "office_id")?,
            raised_by: row.try_get("raised_by")?,
            note: row.try_get("note")?,
            outcome: row.try_get("outcome")?,
            settled_at,
        }))
    }
}
