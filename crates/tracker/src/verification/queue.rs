//! Lists around verification: resolved tickets near a courier that they
//! may check ("附近有待核查的隐患"), and the supervisors' list of resolved
//! tickets with an open verification dispute.

use crate::store::Store;
use crate::tickets::rows::parsed;
use crate::time_ms::from_ms;
use crate::Error;
use civicprobe_model::{Category, CourierId, Location, OfficeId, TicketId};
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

/// The most tickets offered to a courier at once.
pub const NEARBY_LIMIT: usize = 20;
/// Metres per degree of latitude (the bounding box's prefilter).
const M_PER_DEG: f64 = 111_320.0;

/// A resolved ticket a courier may check: nothing of its reporters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NearbyCheck {
    /// The ticket to verify.
    pub ticket_id: TicketId,
    /// What kind of hazard to look for.
    pub category: Category,
    /// Life-safety: worth the detour.
    pub urgent: bool,
    /// Who says they fixed it.
    pub office_name: String,
    /// Where to look.
    pub location: Location,
    /// How far from the courier, metres.
    pub distance_m: f64,
    /// When the office said it was fixed.
    #[serde(with = "time::serde::rfc3339")]
    pub resolved_at: OffsetDateTime,
    /// The office's resolve note: what to look for.
    pub note: Option<String>,
}

/// A resolved ticket a courier says is not fixed (merged reporter or
/// courier passing by), waiting for a supervisor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisputedVerification {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its office.
    pub office_id: OfficeId,
    /// The office's name.
    pub office_name: String,
    /// Its category.
    pub category: Category,
    /// Life-safety.
    pub urgent: bool,
    /// The resolution disputed.
    #[serde(with = "time::serde::rfc3339")]
    pub resolved_at: OffsetDateTime,
    /// `merged` or `courier`.
    pub by: String,
    /// When they said so.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What they saw.
    pub note: Option<String>,
    /// Their photo, if any.
    pub photo_sha256: Option<civicprobe_model::Sha256>,
}

impl Store {
    /// Resolved tickets within `radius_m` of `here` that `courier` did not
    /// report and has not checked in this resolution; nearest first, at
    /// most [`NEARBY_LIMIT`].
    pub async fn nearby_checks(
        &self,
        courier: CourierId,
        here: Location,
        radius_m: f64,
    ) -> Result<Vec<NearbyCheck>, Error> {
        let dlat = radius_m / M_PER_DEG;
        let dlon = radius_m / (M_PER_DEG * here.lat().to_radians().cos().max(0.01));
        let rows = sqlx::query(
            "SELECT t.ticket_id, t.category, t.urgent, t.office_name, t.lat, t.lon, t.resolved_at, \
             (SELECT e.note FROM ticket_events e WHERE e.ticket_id = t.ticket_id \
              AND e.kind = 'resolved' ORDER BY e.seq DESC LIMIT 1) AS note \
             FROM tickets t WHERE t.state = 'resolved' \
             AND t.lat BETWEEN $1 AND $2 AND t.lon BETWEEN $3 AND $4 \
             AND NOT EXISTS (SELECT 1 FROM ticket_reporters r \
                 WHERE r.ticket_id = t.ticket_id AND r.courier_id = $5) \
             AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.ticket_id = t.ticket_id \
                 AND v.resolved_at = t.resolved_at AND v.courier_id = $5)",
        )
        .bind(here.lat() - dlat)
        .bind(here.lat() + dlat)
        .bind(here.lon() - dlon)
        .bind(here.lon() + dlon)
        .bind(courier.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut near = Vec::new();
        for row in &rows {
            let location = Location::new(row.try_get("lat")?, row.try_get("lon")?)
                .map_err(|e| Error::Corrupt(e.to_string()))?;
            let distance_m = location.distance_m(&here);
            if distance_m > radius_m {
                continue;
            }
            near.push(NearbyCheck {
                ticket_id: parsed(row, "ticket_id")?,
                category: parsed(row, "category")?,
                urgent: row.try_get::<i64, _>("urgent")? != 0,
                office_name: row.try_get("office_name")?,
                location,
                distance_m: distance_m.round(),
                resolved_at: from_ms(row.try_get("resolved_at")?)?,
                note: row.try_get("note")?,
            });
        }
        near.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        near.truncate(NEARBY_LIMIT);
        Ok(near)
    }

    /// Open verification disputes of resolved tickets, oldest first.
    pub async fn disputed_verifications(&self) -> Result<Vec<DisputedVerification>, Error> {
        let rows = sqlx::query(
            "SELECT t.ticket_id, t.office_id, t.office_name, t.category, t.urgent, \
             v.resolved_at, v.by_role, v.at, v.note, v.photo_sha256 \
             FROM verifications v JOIN tickets t ON t.ticket_id = v.ticket_id \
             WHERE v.disputed = 1 AND v.settled_at IS NULL AND t.state = 'resolved' \
             AND v.resolved_at = t.resolved_at ORDER BY v.at, t.ticket_id LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DisputedVerification {
                    ticket_id: parsed(row, "ticket_id")?,
                    office_id: parsed(row, "office_id")?,
                    office_name: row.try_get("office_name")?,
                    category: parsed(row, "category")?,
                    urgent: row.try_get::<i64, _>("urgent")? != 0,
                    resolved_at: from_ms(row.try_get("resolved_at")?)?,
                    by: row.try_get("by_role")?,
                    at: from_ms(row.try_get("at")?)?,
                    note: row.try_get("note")?,
                    photo_sha256: crate::tickets::rows::parsed_opt(row, "photo_sha256")?,
                })
            })
            .collect()
    }
}
