//! Duplicates the router merged into an open ticket: the report and its
//! reporter are attached to the ticket (they share its points and may
//! reopen or confirm it) and a `merged` event joins its history. An
//! urgent duplicate of a routine ticket makes it urgent in the same
//! transaction ([`crate::routing::triage`]).

use crate::audit::chain::{self, ChainRow};
use crate::routing::triage;
use crate::store::Store;
use crate::tickets::opened::{insert_reporter, ROUTER_ACTOR, SYSTEM_ROLE};
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{MergeReason, OfficeId, TicketMerged};
use sqlx::Row;

/// The recorded name of a merge reason (`nearby`, `same_photo`).
pub(crate) fn reason_name(reason: &MergeReason) -> &'static str {
    match reason {
        MergeReason::Nearby { .. } => "nearby",
        MergeReason::SamePhoto { .. } => "same_photo",
    }
}

impl Store {
    /// The ticket a report belongs to (it opened the ticket or was merged
    /// into it) and the courier who sent it; `None` for a report the
    /// tracker has not seen as part of a ticket.
    pub async fn report_ticket(
        &self,
        report: civicprobe_model::ReportId,
    ) -> Result<Option<(civicprobe_model::TicketId, civicprobe_model::CourierId)>, Error> {
        let row =
            sqlx::query("SELECT ticket_id, courier_id FROM ticket_reporters WHERE report_id = $1")
                .bind(report.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let corrupt = |e: uuid::Error| Error::Corrupt(format!("ticket_reporters of {report}: {e}"));
        let ticket: String = row.try_get(0)?;
        let courier: String = row.try_get(1)?;
        Ok(Some((
            ticket.parse().map_err(corrupt)?,
            courier.parse().map_err(corrupt)?,
        )))
    }

    /// Records the router's merge (the report with its text, position,
    /// photos and evidence; when [`TicketMerged::urgent`], the ticket
    /// becomes urgent with tighter deadlines and a `triaged` event). Returns
    /// `false` (changing nothing) when
    /// this event or this report was recorded before; fails with
    /// [`Error::TicketNotFound`] while the ticket is unknown (the consumer
    /// then asks for redelivery).
    pub async fn record_merged(&self, ev: &TicketMerged) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        // A write first: SQLite takes its lock before any read.
        let touched = sqlx::query("UPDATE tickets SET version = version WHERE ticket_id = $1")
            .bind(ev.ticket_id.to_string())
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::TicketNotFound(ev.ticket_id));
        }
        let seen = sqlx::query("SELECT 1 FROM ticket_events WHERE event_id = $1")
            .bind(ev.event_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if seen
            || !insert_reporter(&mut tx, ev.ticket_id, &ev.report, ev.at, Some(&ev.reason)).await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        let office_id: OfficeId = crate::tickets::rows::parsed(
            &sqlx::query("SELECT office_id FROM tickets WHERE ticket_id = $1")
                .bind(ev.ticket_id.to_string())
                .fetch_one(&mut *tx)
                .await?,
            "office_id",
        )?;
        let id = (ev.event_id, ev.ticket_id, EventKind::Merged);
        let row = ChainRow {
            reason: Some(reason_name(&ev.reason).to_owned()),
            note: Some(format!("report {}", ev.report.report_id)),
            office_id: Some(office_id),
            ..ChainRow::event(id, ROUTER_ACTOR, SYSTEM_ROLE, to_ms(ev.at))
        };
        chain::append(&mut tx, row).await?;
        let escalated = ev.urgent
            && triage::urgent_duplicate(
                &mut tx,
                self.policy(),
                ev.ticket_id,
                ev.report.report_id,
                ev.at,
            )
            .await?;
        tx.commit().await?;
        if escalated {
            self.outbox_ready().notify_one();
        }
        Ok(true)
    }
}
