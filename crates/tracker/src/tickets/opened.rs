//! Writing tickets the router sends: opening one from its event, recording
//! an unrouted report. Each is one idempotent transaction.

use crate::audit::chain::{self, ChainRow};
use crate::store::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::EventKind;
use civicprobe_model::{
    MergeReason, ReportSubmitted, ReportUnrouted, TicketId, TicketOpened, TicketState,
};
use sqlx::{Any, Transaction};
use time::OffsetDateTime;

/// Who opens tickets: the router, a system actor.
pub(crate) const ROUTER_ACTOR: &str = "router";
/// The role recorded for system actors.
pub(crate) const SYSTEM_ROLE: &str = "system";

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
        insert_reporter(&mut tx, ev.ticket_id, &ev.report, ev.opened_at, None).await?;
        let id = (ev.event_id, ev.ticket_id, EventKind::Opened);
        let row = ChainRow {
            office_id: Some(ev.office_id.clone()),
            terms: Some(chain::terms(ev.category, ev.urgent, &ev.deadlines)),
            ..ChainRow::event(id, ROUTER_ACTOR, SYSTEM_ROLE, to_ms(ev.opened_at))
        };
        chain::append(&mut tx, row).await?;
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
}

/// Inserts the ticket row; `false` when it (or its report) exists.
pub(crate) async fn insert_ticket(
    tx: &mut Transaction<'static, Any>,
    ev: &TicketOpened,
) -> Result<bool, Error> {
    let r = &ev.report;
    let done = sqlx::query(
        "INSERT INTO tickets (ticket_id, report_id, office_id, office_name, category, urgent, \
         state, courier_id, lat, lon, accuracy_m, text, photos_json, reported_at, received_at, \
         opened_at, acknowledge_by, make_safe_by, resolve_by, needs_triage, boundary, \
         model_version, sent_lat, sent_lon, sent_datum, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, 1) ON CONFLICT DO NOTHING",
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
    .bind(i64::from(ev.needs_triage))
    .bind(i64::from(ev.boundary))
    .bind(ev.model_version.clone())
    .bind(r.position_as_sent.map(|p| p.lat))
    .bind(r.position_as_sent.map(|p| p.lon))
    .bind(r.position_as_sent.map(|p| p.datum.as_str()))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Attaches `report` to the ticket as one of its reporters, with its own
/// text, position, photos and evidence (what that courier is shown, and
/// what the office sees of each report) and, for a merged duplicate, the
/// router's reason; `false` when the report is already attached.
pub(crate) async fn insert_reporter(
    tx: &mut Transaction<'static, Any>,
    ticket_id: TicketId,
    report: &ReportSubmitted,
    joined_at: OffsetDateTime,
    merge: Option<&MergeReason>,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "INSERT INTO ticket_reporters (report_id, ticket_id, courier_id, photo_reuse, received_at, \
         joined_at, text, photos_json, lat, lon, accuracy_m, evidence_json, merge_json, \
         open311_json, sent_lat, sent_lon, sent_datum) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (report_id) DO NOTHING",
    )
    .bind(report.report_id.to_string())
    .bind(ticket_id.to_string())
    .bind(report.courier_id.to_string())
    .bind(i64::from(report.evidence.photo_reuse()))
    .bind(to_ms(report.received_at))
    .bind(to_ms(joined_at))
    .bind(report.text.clone())
    .bind(serde_json::to_string(&report.photos)?)
    .bind(report.location.lat())
    .bind(report.location.lon())
    .bind(report.accuracy_m)
    .bind(serde_json::to_string(&report.evidence)?)
    .bind(merge.map(serde_json::to_string).transpose()?)
    .bind(report.open311.as_ref().map(serde_json::to_string).transpose()?)
    .bind(report.position_as_sent.map(|p| p.lat))
    .bind(report.position_as_sent.map(|p| p.lon))
    .bind(report.position_as_sent.map(|p| p.datum.as_str()))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
