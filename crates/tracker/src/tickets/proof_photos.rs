//! Proof photos ingest stored for a ticket: what a resolve may cite.

use crate::store::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{Sha256, TicketId};
use time::OffsetDateTime;

impl Store {
    /// Records that `sha256` was uploaded as a proof photo of `ticket` by
    /// `actor` (`Principal::actor()`); recording it again changes nothing.
    pub async fn record_proof_photo(
        &self,
        ticket: TicketId,
        sha256: Sha256,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO proof_photos (ticket_id, sha256, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id, sha256) DO NOTHING",
        )
        .bind(ticket.to_string())
        .bind(sha256.to_string())
        .bind(actor)
        .bind(to_ms(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether `sha256` was uploaded as a proof photo of `ticket`.
    pub async fn proof_photo_uploaded(
        &self,
        ticket: TicketId,
        sha256: Sha256,
    ) -> Result<bool, Error> {
        Ok(
            sqlx::query("SELECT 1 FROM proof_photos WHERE ticket_id = $1 AND sha256 = $2")
                .bind(ticket.to_string())
                .bind(sha256.to_string())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }
}
