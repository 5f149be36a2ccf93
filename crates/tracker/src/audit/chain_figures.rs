//! The figures against the chain: every ticket's step times, reopen
//! count, verifier and office recomputed from its hash-chained events and
//! compared with its `tickets` row, so that an edited `acknowledged_at`
//! (which the chain does not cover) is named.
//!
//! Why a check and not an audit from the events: the audit over a million
//! tickets answers within a second on PostgreSQL because it streams a few
//! integers per ticket of one table through binary COPY; deriving every
//! step from `ticket_events` (four to six rows per ticket, first-after-
//! the-last-reroute and latest-by-sequence rules) would join and sort
//! several million rows on every request. The store writes a step's
//! `tickets` column and its event in one transaction, so the two agree
//! unless someone edits the database; `verify`, run by a supervisor or on
//! a schedule, finds exactly those rows, and the audit stays fast.
//!
//! What the events determine: the first acknowledgement and make-safe
//! after the last reroute (a reroute starts them afresh), the latest
//! resolution and verification, the number of reopens, who verified, the
//! office of the latest event. `received_at` is not in the chain; it is
//! held to at most the time of the ticket's first event (the router opens
//! a ticket after ingest received its report), which bounds how far it can
//! be moved. The terms the figures are judged by (category, urgency and
//! the deadlines `*_by`) are those of the latest event that set them
//! (`opened`, `triaged`, a report routed from unrouted: its `terms`, which
//! the chain hashes); tickets opened before events carried terms are not
//! checked for them.

use crate::store::Store;
use crate::verification::verdicts::verified_by;
use crate::Error;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Tickets compared per page.
const PAGE: i64 = 2000;

/// One stored figure that its events do not give.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FigureMismatch {
    /// The ticket.
    pub ticket_id: String,
    /// The `tickets` column.
    pub column: &'static str,
    /// What the row holds (`null` for none).
    pub stored: Option<String>,
    /// What the chained events give (for `received_at`: the latest it may
    /// be).
    pub from_events: Option<String>,
}

/// The events' value of each figure, `e_…`, next to the row's.
const FIGURES_SQL: &str = "\
SELECT t.ticket_id, t.office_id, t.received_at, t.acknowledged_at, t.made_safe_at, \
 t.resolved_at, t.closed_at, t.reopen_count, t.verified_by, \
 t.category, t.urgent, t.acknowledge_by, t.make_safe_by, t.resolve_by, \
 (SELECT e.terms FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.terms IS NOT NULL \
   ORDER BY e.seq DESC LIMIT 1) AS e_terms, \
 (SELECT e.at FROM ticket_events e WHERE e.ticket_id = t.ticket_id ORDER BY e.seq LIMIT 1) AS e_first, \
 (SELECT e.at FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'acknowledged' \
   AND e.seq > (SELECT COALESCE(MAX(r.seq), 0) FROM ticket_events r \
                WHERE r.ticket_id = t.ticket_id AND r.kind = 'rerouted') \
   ORDER BY e.seq LIMIT 1) AS e_ack, \
 (SELECT e.at FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'made_safe' \
   AND e.seq > (SELECT COALESCE(MAX(r.seq), 0) FROM ticket_events r \
                WHERE r.ticket_id = t.ticket_id AND r.kind = 'rerouted') \
   ORDER BY e.seq LIMIT 1) AS e_safe, \
 (SELECT e.at FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'resolved' \
   ORDER BY e.seq DESC LIMIT 1) AS e_resolved, \
 (SELECT e.at FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'verified' \
   ORDER BY e.seq DESC LIMIT 1) AS e_closed, \
 (SELECT e.reason FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'verified' \
   ORDER BY e.seq DESC LIMIT 1) AS e_verified_reason, \
 (SELECT COUNT(*) FROM ticket_events e WHERE e.ticket_id = t.ticket_id AND e.kind = 'reopened') \
   AS e_reopens, \
 (SELECT e.office_id FROM ticket_events e WHERE e.ticket_id = t.ticket_id \
   AND e.office_id IS NOT NULL ORDER BY e.seq DESC LIMIT 1) AS e_office \
FROM tickets t WHERE t.ticket_id > $1 ORDER BY t.ticket_id LIMIT $2";

/// An event's `terms` ([`crate::audit::chain::terms`]).
#[derive(serde::Deserialize)]
struct Terms {
    category: String,
    urgent: bool,
    acknowledge_by: i64,
    make_safe_by: i64,
    resolve_by: i64,
}

fn text<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// The row's disagreements with its events.
fn compare(row: &AnyRow) -> Result<Vec<FigureMismatch>, Error> {
    let ticket_id: String = row.try_get("ticket_id")?;
    let mut out = Vec::new();
    let mut check = |column: &'static str, stored: Option<String>, events: Option<String>| {
        if stored != events {
            out.push(FigureMismatch {
                ticket_id: ticket_id.clone(),
                column,
                stored,
                from_events: events,
            });
        }
    };
    for (column, event) in [
        ("acknowledged_at", "e_ack"),
        ("made_safe_at", "e_safe"),
        ("resolved_at", "e_resolved"),
        ("closed_at", "e_closed"),
    ] {
        let stored: Option<i64> = row.try_get(column)?;
        let events: Option<i64> = row.try_get(event)?;
        check(column, text(stored), text(events));
    }
    let reopens: i64 = row.try_get("reopen_count")?;
    let e_reopens: i64 = row.try_get("e_reopens")?;
    check("reopen_count", text(Some(reopens)), text(Some(e_reopens)));
    let verifier: Option<String> = row.try_get("verified_by")?;
    let reason: Option<String> = row.try_get("e_verified_reason")?;
    check(
        "verified_by",
        verifier,
        text(verified_by(reason.as_deref())),
    );
    let office: String = row.try_get("office_id")?;
    let e_office: Option<String> = row.try_get("e_office")?;
    check("office_id", Some(office), e_office);
    let terms: Option<String> = row.try_get("e_terms")?;
    if let Some(terms) = terms {
        match serde_json::from_str::<Terms>(&terms) {
            Ok(terms) => {
                let category: String = row.try_get("category")?;
                check("category", Some(category), Some(terms.category));
                let urgent: i64 = row.try_get("urgent")?;
                check("urgent", text(Some(urgent != 0)), text(Some(terms.urgent)));
                for (column, event) in [
                    ("acknowledge_by", terms.acknowledge_by),
                    ("make_safe_by", terms.make_safe_by),
                    ("resolve_by", terms.resolve_by),
                ] {
                    let stored: Option<i64> = row.try_get(column)?;
                    check(column, text(stored), text(Some(event)));
                }
            }
            Err(_) => check("terms", None, Some(terms)),
        }
    }
    let received: i64 = row.try_get("received_at")?;
    let first: Option<i64> = row.try_get("e_first")?;
    if first.is_none_or(|first| received > first) {
        check("received_at", text(Some(received)), text(first));
    }
    Ok(out)
}

impl Store {
    /// Every ticket whose stored figures its chained events do not give,
    /// one entry per disagreeing column (see the module's rules).
    pub async fn verify_figures(&self) -> Result<Vec<FigureMismatch>, Error> {
        let mut after = String::new();
        let mut found = Vec::new();
        loop {
            let rows = sqlx::query(FIGURES_SQL)
                .bind(&after)
                .bind(PAGE)
                .fetch_all(self.pool())
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("ticket_id")?;
            for row in &rows {
                found.extend(compare(row)?);
            }
        }
        Ok(found)
    }
}
