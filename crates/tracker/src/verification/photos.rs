//! Photos couriers took to verify a resolved ticket, with the evidence
//! ingest read before it stripped their metadata; and the ticket's own
//! photos (reports, proof) a check's photo must not repeat.

use crate::store::Store;
use crate::tickets::rows::{parsed, parsed_opt};
use crate::time_ms::{from_opt_ms, to_ms};
use crate::Error;
use civicprobe_model::{CourierId, Location, PhotoHash, PhotoRef, Sha256, TicketId};
use sqlx::Row;
use time::OffsetDateTime;

/// A verification photo as ingest recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct VerificationPhoto {
    /// The ticket it was taken for.
    pub ticket_id: TicketId,
    /// Who uploaded it (only they may cite it).
    pub courier_id: CourierId,
    /// The stored (metadata-free) photo.
    pub sha256: Sha256,
    /// Its thumbnail.
    pub thumbnail_sha256: Option<Sha256>,
    /// EXIF DateTimeOriginal, if the original had one: freshness.
    pub taken_at: Option<OffsetDateTime>,
    /// EXIF GPS, if the original had it: where it was taken.
    pub gps: Option<Location>,
    /// Perceptual hash: reuse of an older photo.
    pub phash: Option<PhotoHash>,
    /// When ingest stored it.
    pub uploaded_at: OffsetDateTime,
}

impl Store {
    /// Records `photo` (uploading it again changes nothing).
    pub async fn record_verification_photo(&self, photo: &VerificationPhoto) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO verification_photos (ticket_id, courier_id, sha256, thumbnail_sha256, \
             taken_at, phash, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (ticket_id, courier_id, sha256) DO NOTHING",
        )
        .bind(photo.ticket_id.to_string())
        .bind(photo.courier_id.to_string())
        .bind(photo.sha256.to_string())
        .bind(photo.thumbnail_sha256.map(|s| s.to_string()))
        .bind(photo.taken_at.map(to_ms))
        .bind(photo.phash.map(|h| h.to_string()))
        .bind(to_ms(photo.uploaded_at))
        .execute(&mut *tx)
        .await?;
        // Only a present position is bound (sqlx's `Any` declares a NULL
        // f64 as float4 on PostgreSQL, breaking the cached statement).
        if let (1, Some(gps)) = (inserted.rows_affected(), photo.gps) {
            sqlx::query(
                "UPDATE verification_photos SET lat = $1, lon = $2 \
                 WHERE ticket_id = $3 AND courier_id = $4 AND sha256 = $5",
            )
            .bind(gps.lat())
            .bind(gps.lon())
            .bind(photo.ticket_id.to_string())
            .bind(photo.courier_id.to_string())
            .bind(photo.sha256.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The photo `sha256` that `courier` uploaded for `ticket`, if any.
    pub async fn verification_photo(
        &self,
        ticket: TicketId,
        courier: CourierId,
        sha256: Sha256,
    ) -> Result<Option<VerificationPhoto>, Error> {
        let row = sqlx::query(
            "SELECT thumbnail_sha256, taken_at, lat, lon, phash, uploaded_at \
             FROM verification_photos WHERE ticket_id = $1 AND courier_id = $2 AND sha256 = $3",
        )
        .bind(ticket.to_string())
        .bind(courier.to_string())
        .bind(sha256.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (lat, lon): (Option<f64>, Option<f64>) = (row.try_get("lat")?, row.try_get("lon")?);
        let gps = match (lat, lon) {
            (Some(lat), Some(lon)) => Location::new(lat, lon).ok(),
            _ => None,
        };
        Ok(Some(VerificationPhoto {
            ticket_id: ticket,
            courier_id: courier,
            sha256,
            thumbnail_sha256: parsed_opt(&row, "thumbnail_sha256")?,
            taken_at: from_opt_ms(row.try_get("taken_at")?)?,
            gps,
            // Only this store writes the column; a value it cannot read
            // (hand-edited) is no hash, so the reuse check cannot match it.
            phash: row
                .try_get::<Option<String>, _>("phash")?
                .and_then(|h| h.parse().ok()),
            uploaded_at: crate::time_ms::from_ms(row.try_get("uploaded_at")?)?,
        }))
    }

    /// Every photo already on `ticket` as (sha256, perceptual hash if
    /// known): its reports' photos (opener and merged) and its proof
    /// photos (ingest keeps no hash of those).
    pub async fn ticket_photo_hashes(
        &self,
        ticket: TicketId,
    ) -> Result<Vec<(Sha256, Option<PhotoHash>)>, Error> {
        let mut hashes = Vec::new();
        let reports = sqlx::query(
            "SELECT photos_json FROM tickets WHERE ticket_id = $1 UNION ALL \
             SELECT photos_json FROM ticket_reporters WHERE ticket_id = $1 \
             AND photos_json IS NOT NULL",
        )
        .bind(ticket.to_string())
        .fetch_all(&self.pool)
        .await?;
        for row in &reports {
            let json: Option<String> = row.try_get(0)?;
            let photos: Vec<PhotoRef> = serde_json::from_str(json.as_deref().unwrap_or("[]"))?;
            hashes.extend(photos.into_iter().map(|p| (p.sha256, p.phash)));
        }
        let proofs = sqlx::query("SELECT sha256 FROM proof_photos WHERE ticket_id = $1")
            .bind(ticket.to_string())
            .fetch_all(&self.pool)
            .await?;
        for row in &proofs {
            hashes.push((parsed(row, "sha256")?, None));
        }
        Ok(hashes)
    }
}
