//! The evidence a nearby courier's check must bring (422 naming the field,
//! nothing recorded, when it does not hold): a photo they uploaded for
//! this ticket, taken recently (EXIF time, when present) and near the
//! ticket (EXIF GPS, when present), new (neither the sha256 of a report or
//! proof photo of the ticket, nor within the reuse threshold of one's
//! perceptual hash), and their own position within the radius.

use crate::http::ApiError;
use crate::tickets::rows::Ticket;
use crate::verification::http::Verdict;
use crate::Store;
use civicprobe_model::{CourierId, PhotoHash, Sha256};
use time::Duration;

/// Checks `verdict`'s evidence for `courier`'s check of `ticket`.
pub(crate) async fn check(
    store: &Store,
    ticket: &Ticket,
    courier: CourierId,
    verdict: &Verdict,
) -> Result<(), ApiError> {
    let rules = store.verification_rules();
    let Some(sha256) = verdict.photo_sha256 else {
        return Err(ApiError::evidence(
            "photo_sha256",
            "a courier checking a fix near them sends a fresh photo of the spot",
        ));
    };
    let Some(position) = verdict.position else {
        return Err(ApiError::evidence(
            "lat",
            "a courier checking a fix near them sends their position (lat, lon)",
        ));
    };
    let distance = position.distance_m(&ticket.location);
    if distance > rules.verify_radius_m {
        return Err(ApiError::evidence(
            "lat",
            format!(
                "you are {distance:.0} m from the hazard; check it within {:.0} m",
                rules.verify_radius_m
            ),
        ));
    }
    let mut photo = store
        .verification_photo(ticket.ticket_id, courier, sha256)
        .await?;
    // A split ingest announced it; this tracker may not have recorded it yet.
    if photo.is_none()
        && store
            .catch_up_upload(
                civicprobe_model::nats::VERIFICATION_UPLOAD,
                ticket.ticket_id,
                sha256,
            )
            .await?
    {
        photo = store
            .verification_photo(ticket.ticket_id, courier, sha256)
            .await?;
    }
    let photo = photo.ok_or_else(|| {
        ApiError::evidence(
            "photo_sha256",
            "no photo with this sha256 was uploaded by you for this ticket; \
                 upload it to /v1/tickets/{id}/verification-photos first",
        )
    })?;
    let max_age = Duration::minutes(rules.verify_photo_max_age_mins);
    if let Some(taken_at) = photo.taken_at {
        if store.now() - taken_at > max_age {
            return Err(ApiError::evidence(
                "photo_sha256",
                format!(
                    "the photo was taken more than {} minutes ago; take a new one",
                    rules.verify_photo_max_age_mins
                ),
            ));
        }
    }
    if let Some(gps) = photo.gps {
        if gps.distance_m(&ticket.location) > rules.verify_radius_m {
            return Err(ApiError::evidence(
                "photo_sha256",
                "the photo's GPS position is not near the hazard",
            ));
        }
    }
    is_new(
        store,
        ticket,
        photo.sha256,
        photo.phash,
        rules.verify_reuse_bits,
    )
    .await
}

/// The photo is not one of the ticket's, nor a near copy of one.
async fn is_new(
    store: &Store,
    ticket: &Ticket,
    sha256: Sha256,
    phash: Option<PhotoHash>,
    max_bits: u32,
) -> Result<(), ApiError> {
    for (known_sha, known_phash) in store.ticket_photo_hashes(ticket.ticket_id).await? {
        let near = match (phash, known_phash) {
            (Some(a), Some(b)) => a.distance(b) <= max_bits,
            _ => false,
        };
        if known_sha == sha256 || near {
            return Err(ApiError::evidence(
                "photo_sha256",
                "this photo is (a copy of) one already on the ticket; take a new one",
            ));
        }
    }
    Ok(())
}
