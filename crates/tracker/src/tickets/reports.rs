//! Every report of a ticket, as its office and supervisors see it: the
//! opening report first, then each merged duplicate with its courier,
//! text, pin, photos, the router's reason, its distance from the first
//! report and the evidence ingest read from its photos. Couriers never get
//! this list (they see their own report only: [`crate::couriers::view`]).

use crate::store::Store;
use crate::tickets::rows::{parsed, Ticket};
use crate::time_ms::from_ms;
use crate::Error;
use civicprobe_model::{
    CourierId, Evidence, Location, MergeReason, PhotoRef, PositionAsSent, ReportId,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

/// One report on a ticket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketReport {
    /// The report.
    pub report_id: ReportId,
    /// Who sent it.
    pub courier_id: CourierId,
    /// The courier's text (`None` when they wrote none, or for a duplicate
    /// merged before the tracker kept reporters' texts).
    pub text: Option<String>,
    /// Where the courier was (`None` for a duplicate merged before the
    /// tracker kept positions).
    pub location: Option<Location>,
    /// The position as the courier sent it, when in GCJ-02 or BD-09.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_as_sent: Option<PositionAsSent>,
    /// The phone's stated accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// The report's photos, by reference (`GET /v1/reports/{id}/photos/{n}`).
    pub photos: Vec<PhotoRef>,
    /// When ingest received it.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When it joined the ticket (opened it, or was merged).
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// For a merged duplicate: why the router merged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_reason: Option<MergeReason>,
    /// For a merged duplicate: metres from the opening report's position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// What ingest read from its photos, and the flags raised on it (empty
    /// for reports stored before the tracker kept evidence).
    pub evidence: Evidence,
}

impl Store {
    /// The reports of `ticket`, the opening report first, then by the time
    /// they joined.
    pub async fn ticket_reports(&self, ticket: &Ticket) -> Result<Vec<TicketReport>, Error> {
        let rows = sqlx::query(
            "SELECT report_id, courier_id, text, lat, lon, accuracy_m, photos_json, \
             received_at, joined_at, merge_json, evidence_json, sent_lat, sent_lon, sent_datum \
             FROM ticket_reporters \
             WHERE ticket_id = $1 \
             ORDER BY CASE WHEN report_id = $2 THEN 0 ELSE 1 END, joined_at, received_at, report_id",
        )
        .bind(ticket.ticket_id.to_string())
        .bind(ticket.report_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| report_of(row, ticket)).collect()
    }
}

/// One `ticket_reporters` row.
fn report_of(row: &AnyRow, ticket: &Ticket) -> Result<TicketReport, Error> {
    let report_id: ReportId = parsed(row, "report_id")?;
    let opener = report_id == ticket.report_id;
    let location = match (row.try_get("lat")?, row.try_get("lon")?) {
        (Some(lat), Some(lon)) => {
            Some(Location::new(lat, lon).map_err(|e| Error::Corrupt(e.to_string()))?)
        }
        // An opening report stored before positions were kept: the
        // ticket's position is its own.
        _ if opener => Some(ticket.location),
        _ => None,
    };
    let json = |column: &str| -> Result<Option<String>, Error> { Ok(row.try_get(column)?) };
    let photos = json("photos_json")?
        .map(|p| serde_json::from_str(&p))
        .transpose()?
        .unwrap_or_default();
    let merge_reason = json("merge_json")?
        .map(|m| serde_json::from_str(&m))
        .transpose()?;
    let evidence = json("evidence_json")?
        .map(|e| serde_json::from_str(&e))
        .transpose()?
        .unwrap_or_default();
    Ok(TicketReport {
        report_id,
        courier_id: parsed(row, "courier_id")?,
        text: row.try_get("text")?,
        distance_m: location
            .filter(|_| !opener)
            .map(|at| (at.distance_m(&ticket.location) * 10.0).round() / 10.0),
        location,
        position_as_sent: crate::tickets::rows::position_as_sent(row)?,
        accuracy_m: row.try_get("accuracy_m")?,
        photos,
        received_at: from_ms(row.try_get("received_at")?)?,
        joined_at: from_ms(row.try_get("joined_at")?)?,
        merge_reason,
        evidence,
    })
}
