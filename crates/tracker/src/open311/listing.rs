//! Listing tickets for the Open311 front end: by the reports that opened
//! them, or by time window, category and state, newest first.

use crate::store::Store;
use crate::tickets::rows::{event_columns, ticket_columns, Ticket, TicketEvent};
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{Category, ReportId, TicketState};
use sqlx::Row;
use time::OffsetDateTime;

/// The most ids one [`Store::tickets_of_reports`] call binds.
const MAX_IDS: usize = 1000;

impl Store {
    /// The tickets opened by `reports` (a merged duplicate's report has
    /// none of its own), at most 1000 ids; in the order of `reports`.
    pub async fn tickets_of_reports(&self, reports: &[ReportId]) -> Result<Vec<Ticket>, Error> {
        let reports = &reports[..reports.len().min(MAX_IDS)];
        if reports.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=reports.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {} FROM tickets WHERE report_id IN ({})",
            ticket_columns!(),
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for r in reports {
            query = query.bind(r.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut tickets = rows
            .iter()
            .map(Ticket::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        tickets.sort_by_key(|t| reports.iter().position(|r| *r == t.report_id));
        Ok(tickets)
    }

    /// Tickets received in `[from, to]`, of one of `categories` and in
    /// one of `states` (either empty: any), newest first, at most `limit`.
    pub async fn ticket_listing(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        categories: &[Category],
        states: &[TicketState],
        limit: i64,
    ) -> Result<Vec<Ticket>, Error> {
        let mut sql = format!(
            "SELECT {} FROM tickets WHERE received_at >= $1 AND received_at <= $2",
            ticket_columns!()
        );
        let mut next = 3;
        if !categories.is_empty() {
            let list: Vec<String> = (0..categories.len())
                .map(|i| format!("${}", next + i))
                .collect();
            sql.push_str(&format!(" AND category IN ({})", list.join(", ")));
            next += categories.len();
        }
        if !states.is_empty() {
            let list: Vec<String> = (0..states.len())
                .map(|i| format!("${}", next + i))
                .collect();
            sql.push_str(&format!(" AND state IN ({})", list.join(", ")));
            next += states.len();
        }
        sql.push_str(&format!(
            " ORDER BY received_at DESC, ticket_id LIMIT ${next}"
        ));
        let mut query = sqlx::query(&sql).bind(to_ms(from)).bind(to_ms(to));
        for c in categories {
            query = query.bind(c.as_str());
        }
        for s in states {
            query = query.bind(s.as_str());
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(Ticket::from_row).collect()
    }

    /// Every event of the tickets that had a step in `[from, to]`, each
    /// ticket's in order (so a reader can tell the state after each step),
    /// with the report that opened it; at most `limit` tickets, those
    /// with the oldest steps in the window first.
    pub async fn histories_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<(ReportId, Vec<TicketEvent>)>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            ", (SELECT t.report_id FROM tickets t WHERE t.ticket_id = ticket_events.ticket_id) \
             AS opener FROM ticket_events WHERE ticket_id IN (\
             SELECT ticket_id FROM ticket_events WHERE at >= $1 AND at <= $2 \
             GROUP BY ticket_id ORDER BY MIN(at), ticket_id LIMIT $3) \
             ORDER BY ticket_id, seq"
        ))
        .bind(to_ms(from))
        .bind(to_ms(to))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(ReportId, Vec<TicketEvent>)> = Vec::new();
        for row in &rows {
            let opener: String = row.try_get("opener")?;
            let report: ReportId = opener
                .parse()
                .map_err(|e| Error::Corrupt(format!("report_id {opener:?}: {e}")))?;
            let event = TicketEvent::from_row(row)?;
            match out.last_mut() {
                Some((r, events)) if *r == report => events.push(event),
                _ => out.push((report, vec![event])),
            }
        }
        Ok(out)
    }
}
