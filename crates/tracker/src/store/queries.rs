//! Reading tickets: one ticket and its history, an office's queue,
//! unrouted reports, a courier's reports, response-time samples.

use super::rows::{
    event_columns, ticket_columns, CourierReport, Ticket, TicketEvent, UnroutedReport,
};
use super::verification_status::VerificationStatus;
use super::Store;
use crate::time_ms::from_ms;
use crate::Error;
use civicprobe_model::{CourierId, OfficeId, ReportId, TicketId, TicketState};
use sqlx::Row;

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
             FROM unrouted WHERE routed_ticket_id IS NULL \
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
        row.map(|row| super::rows::parsed(&row, "courier_id"))
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

    /// A courier's reports (openers, merged duplicates, unrouted), newest
    /// first, at most `limit`, each with its net points.
    pub async fn courier_reports(
        &self,
        courier_id: CourierId,
        limit: i64,
    ) -> Result<Vec<CourierReport>, Error> {
        let rows = sqlx::query(
            "SELECT r.report_id AS report_id, t.ticket_id AS ticket_id, t.state AS state, \
             t.category AS category, t.office_id AS office_id, r.received_at AS received_at, \
             CAST(COALESCE((SELECT SUM(p.points) FROM points_ledger p \
               WHERE p.report_id = r.report_id), 0) AS BIGINT) AS points, \
             t.closed_at AS closed_at, t.verified_by AS verified_by, \
             CAST((SELECT COUNT(*) FROM verifications v WHERE v.ticket_id = t.ticket_id \
               AND v.resolved_at = t.resolved_at AND v.disputed = 1 AND v.settled_at IS NULL) \
               AS BIGINT) AS verification_disputes, \
             CAST(CASE WHEN t.state = 'resolved' AND (t.report_id = r.report_id OR NOT EXISTS \
               (SELECT 1 FROM verifications v WHERE v.ticket_id = t.ticket_id \
               AND v.resolved_at = t.resolved_at AND v.courier_id = r.courier_id)) \
               THEN 1 ELSE 0 END AS BIGINT) AS can_verify \
             FROM ticket_reporters r JOIN tickets t ON t.ticket_id = r.ticket_id \
             WHERE r.courier_id = $1 \
             UNION ALL \
             SELECT report_id, NULL, 'unrouted', category, NULL, received_at, CAST(0 AS BIGINT), \
             NULL, NULL, CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
             FROM unrouted WHERE courier_id = $1 AND routed_ticket_id IS NULL \
             ORDER BY received_at DESC LIMIT $2",
        )
        .bind(courier_id.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(courier_report).collect()
    }
}

fn courier_report(row: &sqlx::any::AnyRow) -> Result<CourierReport, Error> {
    let ticket_id: Option<String> = row.try_get("ticket_id")?;
    let office_id: Option<String> = row.try_get("office_id")?;
    let corrupt = |e: &dyn std::fmt::Display| Error::Corrupt(e.to_string());
    Ok(CourierReport {
        report_id: super::rows::parsed(row, "report_id")?,
        ticket_id: ticket_id
            .map(|t| t.parse().map_err(|e| corrupt(&e)))
            .transpose()?,
        state: row.try_get("state")?,
        category: super::rows::parsed(row, "category")?,
        office_id: office_id
            .map(|o| o.parse().map_err(|e| corrupt(&e)))
            .transpose()?,
        received_at: from_ms(row.try_get("received_at")?)?,
        points: row.try_get("points")?,
        verification: report_verification(row)?,
    })
}

/// A report's [`VerificationStatus`]: none while unrouted.
fn report_verification(row: &sqlx::any::AnyRow) -> Result<VerificationStatus, Error> {
    let state: String = row.try_get("state")?;
    let Ok(state) = state.parse::<TicketState>() else {
        return Ok(VerificationStatus::default());
    };
    let closed_at = crate::time_ms::from_opt_ms(row.try_get("closed_at")?)?;
    Ok(VerificationStatus {
        can_verify: row.try_get::<i64, _>("can_verify")? != 0,
        ..VerificationStatus::of_row(row, state, closed_at)?
    })
}
