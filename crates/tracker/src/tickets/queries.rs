//! Reading tickets: one ticket and its history, an office's queue,
//! unrouted reports, whether a courier reported a ticket.

use crate::store::Store;
use crate::tickets::rows::{event_columns, ticket_columns, Ticket, TicketEvent, UnroutedReport};
use crate::Error;
use civicprobe_model::{CourierId, OfficeId, ReportId, TicketId, TicketState};

/// The queue order: active tickets first, then by the next unmet deadline
/// (acknowledge_by while unacknowledged, else resolve_by), then arrival.
macro_rules! queue_order {
    () => {
        " ORDER BY CASE WHEN state IN ('open', 'acknowledged', 'in_progress', 'reopened') \
         THEN 0 ELSE 1 END, \
         CASE WHEN state IN ('open', 'reopened') THEN acknowledge_by ELSE resolve_by END, \
         received_at, ticket_id LIMIT $2"
    };
}

impl Store {
    /// One ticket, with its latest dispute, or `None`.
    pub async fn ticket(&self, ticket_id: TicketId) -> Result<Option<Ticket>, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE ticket_id = $1"
        ))
        .bind(ticket_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(mut ticket) = row.as_ref().map(Ticket::from_row).transpose()? else {
            return Ok(None);
        };
        ticket.dispute = self.dispute_mark(ticket_id).await?.map(Box::new);
        Ok(Some(ticket))
    }

    /// A ticket's history, oldest first.
    pub async fn ticket_events(&self, ticket_id: TicketId) -> Result<Vec<TicketEvent>, Error> {
        sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM ticket_events WHERE ticket_id = $1 ORDER BY seq"
        ))
        .bind(ticket_id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(TicketEvent::from_row)
        .collect()
    }

    /// An office's queue: active tickets first, nearest deadline first; at
    /// most `limit`, optionally only those in `state`.
    pub async fn office_queue(
        &self,
        office_id: &OfficeId,
        state: Option<TicketState>,
        limit: i64,
    ) -> Result<Vec<Ticket>, Error> {
        let rows = match state {
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    ticket_columns!(),
                    " FROM tickets WHERE office_id = $1",
                    queue_order!()
                ))
                .bind(office_id.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            Some(state) => {
                sqlx::query(concat!(
                    "SELECT ",
                    ticket_columns!(),
                    " FROM tickets WHERE office_id = $1 AND state = $3",
                    queue_order!()
                ))
                .bind(office_id.as_str())
                .bind(limit)
                .bind(state.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(Ticket::from_row).collect()
    }

    /// Reports no office's area holds, newest first, at most `limit`.
    pub async fn unrouted(&self, limit: i64) -> Result<Vec<UnroutedReport>, Error> {
        sqlx::query(
            "SELECT report_id, category, urgent, lat, lon, text, courier_id, received_at \
             FROM unrouted WHERE routed_ticket_id IS NULL AND closed_at IS NULL \
             ORDER BY received_at DESC, report_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(UnroutedReport::from_row)
        .collect()
    }

    /// The courier of `report` while it is unrouted (in no office's area
    /// and not yet routed by a supervisor); `None` otherwise.
    pub async fn unrouted_courier(&self, report: ReportId) -> Result<Option<CourierId>, Error> {
        let row = sqlx::query(
            "SELECT courier_id FROM unrouted WHERE report_id = $1 AND routed_ticket_id IS NULL",
        )
        .bind(report.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| crate::tickets::rows::parsed(&row, "courier_id"))
            .transpose()
    }

    /// Whether `courier_id` reported the ticket (opened it or a duplicate
    /// merged into it).
    pub async fn is_reporter(
        &self,
        ticket_id: TicketId,
        courier_id: CourierId,
    ) -> Result<bool, Error> {
        Ok(
            sqlx::query("SELECT 1 FROM ticket_reporters WHERE ticket_id = $1 AND courier_id = $2")
                .bind(ticket_id.to_string())
                .bind(courier_id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }
}
