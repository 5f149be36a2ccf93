//! A resolve's proof photo: well-formed, and uploaded for that ticket.
//!
//! Ingest stores proof photos (`POST /v1/tickets/{id}/proof-photos`) and
//! tells the tracker's store of each one it stored for a ticket
//! ([`Store::record_proof_photo`]): in `up` directly, through ingest's
//! `ReportAccess::proof_photo_stored`; in a split deployment by an
//! announcement on `UPLOADS` that the tracker records if the uploader is
//! the ticket's office ([`crate::uploads`]), looked up on the stream here
//! if the consumer has not recorded it yet. A resolve may cite only a
//! photo so recorded for the same ticket.

use crate::http::ApiError;
use crate::tickets::rows::Ticket;
use crate::Store;
use civicprobe_model::{Sha256, TicketAction};

/// The `proof_photo_sha256` of a body: 64 lower-case hex digits, and only
/// on a resolve.
pub(crate) fn check_proof(
    action: TicketAction,
    proof: Option<String>,
) -> Result<Option<Sha256>, ApiError> {
    match (action, proof) {
        (_, None) => Ok(None),
        (TicketAction::Resolve, Some(sha)) => {
            sha256_field("proof_photo_sha256", &sha, "a stored photo").map(Some)
        }
        (_, Some(_)) => Err(ApiError::field(
            "proof_photo_sha256",
            "only a resolution carries a proof photo",
        )),
    }
}

/// `raw` as the digest of `what`, or a 400 naming `field`.
pub(crate) fn sha256_field(field: &'static str, raw: &str, what: &str) -> Result<Sha256, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::field(
            field,
            format!("{field} must be 64 lower-case hex digits of {what}"),
        )
    })
}

/// A cited proof photo must have been uploaded for `ticket`.
pub(crate) async fn must_be_uploaded(
    store: &Store,
    ticket: &Ticket,
    proof: Option<Sha256>,
) -> Result<(), ApiError> {
    let Some(sha256) = proof else {
        return Ok(());
    };
    // A split ingest announced it; this tracker may not have recorded it yet.
    if store.proof_photo_uploaded(ticket.ticket_id, sha256).await?
        || store
            .catch_up_upload(
                civicprobe_model::nats::PROOF_UPLOAD,
                ticket.ticket_id,
                sha256,
            )
            .await?
    {
        Ok(())
    } else {
        Err(ApiError::field(
            "proof_photo_sha256",
            "no proof photo with this sha256 was uploaded for this ticket; \
             upload it to /v1/tickets/{id}/proof-photos first",
        ))
    }
}
