//! Verification photos (核查): a courier checking a resolved ticket near
//! them takes a fresh photo of the spot. `POST
//! /v1/tickets/{id}/verification-photos` (multipart, one `photo` part)
//! runs the photo pipeline like a proof photo ([`crate::proof`]: metadata
//! stripped before storing, thumbnail), but first keeps what the EXIF said
//! (time taken, GPS) and the perceptual hash, and tells the ticket store
//! ([`ReportAccess::verification_photo_stored`]), where the tracker checks
//! them when the courier's verify cites the photo. Answers `201` with
//! `{"sha256", "thumbnail_sha256", "media_type", "width", "height",
//! "taken_at"?, "gps"?}`.
//!
//! For any courier while the ticket is resolved
//! ([`ReportAccess::verification_viewer`]); anyone else gets `404`.

use crate::access::{ReportAccess, VerificationEvidence};
use crate::proof::{receive_photo, ticket_allowed, TicketPhotos};
use crate::{Error, IngestState};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use civicprobe_model::{Location, Sha256};
use serde::Serialize;
use time::OffsetDateTime;

/// What an upload answers.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationPhoto {
    /// The stripped photo's sha256: cite it as the verify's `photo_sha256`.
    pub sha256: Sha256,
    /// The JPEG thumbnail's sha256.
    pub thumbnail_sha256: Option<Sha256>,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub media_type: String,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// EXIF DateTimeOriginal, if the photo had one (the freshness check).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub taken_at: Option<OffsetDateTime>,
    /// EXIF GPS, if the photo had it (the place check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<Location>,
}

/// `POST /v1/tickets/{id}/verification-photos`.
#[tracing::instrument(name = "upload_verification_photo", skip_all, fields(ticket_id = %id))]
pub async fn upload(
    State(state): State<IngestState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let result = async {
        let headers = request.headers().clone();
        let ticket = ticket_allowed(&state, &id, &headers, TicketPhotos::Verification).await?;
        let processed = receive_photo(&state, request).await?;
        let r = &processed.photo_ref;
        let evidence = VerificationEvidence {
            sha256: r.sha256,
            thumbnail_sha256: r.thumbnail_sha256,
            taken_at: processed.exif.taken_at,
            gps: processed.exif.gps,
            phash: r.phash,
        };
        let token = crate::courier::bearer_token(&headers).ok_or(Error::Unauthorized)?;
        ReportAccess::verification_photo_stored(state.access().as_ref(), token, ticket, &evidence)
            .await
            .map_err(|source| Error::Unavailable {
                what: "the ticket store",
                source,
            })?;
        Ok::<_, Error>(VerificationPhoto {
            sha256: r.sha256,
            thumbnail_sha256: r.thumbnail_sha256,
            media_type: r.media_type.clone(),
            width: r.width,
            height: r.height,
            taken_at: evidence.taken_at,
            gps: evidence.gps,
        })
    }
    .await;
    let outcome = if result.is_ok() { "stored" } else { "refused" };
    metrics::counter!("civicprobe_ingest_verification_photos_total", "outcome" => outcome)
        .increment(1);
    match result {
        Ok(photo) => {
            tracing::info!(sha256 = %photo.sha256, "verification photo stored");
            (StatusCode::CREATED, Json(photo)).into_response()
        }
        Err(e) => e.into_response(),
    }
}
