//! Proof photos: an office resolving a ticket may attach a photo of the
//! repair. `POST /v1/tickets/{id}/proof-photos` (multipart, one `photo`
//! part) runs the report photo pipeline ([`crate::photo::process`]: format
//! from the bytes, limits, metadata stripped, thumbnail), stores both
//! content-addressed and answers `201` with
//! `{"sha256", "thumbnail_sha256", "media_type", "width", "height"}`; the
//! console then resolves with `proof_photo_sha256`.
//! `GET /v1/tickets/{id}/proof-photos/{sha256}` (`?size=thumbnail`) serves
//! it back.
//!
//! Both are for the ticket's office and supervisors, asked through
//! [`ReportAccess::ticket_viewer`]; the `GET` also for the ticket's
//! reporting couriers ([`ReportAccess::proof_photo_reader`]); anyone else
//! gets `404`. A photo is
//! served through a ticket only if it was uploaded for that ticket: each
//! upload stores a small record under a name derived from the ticket and
//! the photo ([`record_key`]), so knowing another photo's hash is not enough.

use crate::access::{ReportAccess, Viewer};
use crate::form::{check_declared_type, multipart_error, read_part, rejection};
use crate::photo::{self, PHOTO_PART};
use crate::{Error, IngestState};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use civicprobe_model::{Sha256, TicketId};
use serde::{Deserialize, Serialize};

/// What an upload answers, and the record kept for each ticket's photo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProofPhoto {
    /// The stripped photo's sha256 (its name in the photo store).
    pub sha256: Sha256,
    /// The JPEG thumbnail's sha256.
    pub thumbnail_sha256: Option<Sha256>,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub media_type: String,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

/// The photo-store name of the record binding `sha256` to `ticket`.
pub fn record_key(ticket: TicketId, sha256: Sha256) -> String {
    Sha256::of(format!("civicprobe-proof-photo\0{ticket}\0{sha256}").as_bytes()).to_string()
}

/// `POST /v1/tickets/{id}/proof-photos`.
#[tracing::instrument(name = "upload_proof_photo", skip_all, fields(ticket_id = %id))]
pub async fn upload(
    State(state): State<IngestState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let result = async {
        let ticket = allowed(&state, &id, request.headers()).await?;
        let headers = request.headers().clone();
        let processed = receive_photo(&state, request).await?;
        let proof = record_proof(&state, ticket, &processed).await?;
        tell_tracker(&state, &headers, ticket, proof.sha256).await?;
        Ok::<_, Error>(proof)
    }
    .await;
    let outcome = if result.is_ok() { "stored" } else { "refused" };
    metrics::counter!("civicprobe_ingest_proof_photos_total", "outcome" => outcome).increment(1);
    match result {
        Ok(proof) => {
            tracing::info!(sha256 = %proof.sha256, "proof photo stored");
            (StatusCode::CREATED, Json(proof)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Which photos of a ticket a request is for, which decides who may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TicketPhotos {
    /// Uploading an office's proof of the repair: the ticket's office and
    /// supervisors ([`ReportAccess::ticket_viewer`]).
    Proof,
    /// Reading that proof: those, and the ticket's reporting couriers
    /// ([`ReportAccess::proof_photo_reader`]).
    ProofRead,
    /// A courier's check of a resolved ticket
    /// ([`ReportAccess::verification_viewer`]).
    Verification,
}

/// The ticket, if the token's holder may upload its proof photos.
async fn allowed(state: &IngestState, id: &str, headers: &HeaderMap) -> Result<TicketId, Error> {
    ticket_allowed(state, id, headers, TicketPhotos::Proof).await
}

/// The ticket, if the token's holder may put `photos` to use: `401` for
/// an unknown token, `404` for anyone else (like tickets).
pub(crate) async fn ticket_allowed(
    state: &IngestState,
    id: &str,
    headers: &HeaderMap,
    photos: TicketPhotos,
) -> Result<TicketId, Error> {
    let token = crate::courier::bearer_token(headers).ok_or(Error::Unauthorized)?;
    let ticket: TicketId = id.parse().map_err(|_| Error::NotFound)?;
    let access = state.access();
    let asked = match photos {
        TicketPhotos::Proof => ReportAccess::ticket_viewer(access.as_ref(), token, ticket),
        TicketPhotos::ProofRead => ReportAccess::proof_photo_reader(access.as_ref(), token, ticket),
        TicketPhotos::Verification => {
            ReportAccess::verification_viewer(access.as_ref(), token, ticket)
        }
    };
    let viewer = asked.await.map_err(|source| Error::Unavailable {
        what: "the ticket store",
        source,
    })?;
    match viewer {
        Viewer::Unknown => Err(Error::Unauthorized),
        // Like tickets: another office's ticket does not exist for them.
        Viewer::Denied => Err(Error::NotFound),
        Viewer::Allowed => Ok(ticket),
    }
}

/// Records the stored photo with the ticket store, the only photos a
/// resolve may cite ([`ReportAccess::proof_photo_stored`]).
async fn tell_tracker(
    state: &IngestState,
    headers: &HeaderMap,
    ticket: TicketId,
    sha256: Sha256,
) -> Result<(), Error> {
    let token = crate::courier::bearer_token(headers).ok_or(Error::Unauthorized)?;
    ReportAccess::proof_photo_stored(state.access().as_ref(), token, ticket, sha256)
        .await
        .map_err(|source| Error::Unavailable {
            what: "the ticket store",
            source,
        })
}

/// Takes an upload of one `photo` part (size limits, an upload slot of
/// the token's holder, the memory budget), runs the photo pipeline and
/// stores the metadata-free photo and its thumbnail. Shared by proof and
/// verification photos ([`crate::verification_photo`]).
pub(crate) async fn receive_photo(
    state: &IngestState,
    request: Request,
) -> Result<photo::ProcessedPhoto, Error> {
    let (parts, body) = request.into_parts();
    state.refuse_declared_over_limit(&parts.headers)?;
    let _slot = state.inner.slots.take(uploader(&parts.headers))?;
    // Held until the photo is stored.
    let (body, meter) = state.meter_upload(body);
    let multipart = Multipart::from_request(Request::from_parts(parts, body), &())
        .await
        .map_err(rejection)?;
    let raw = read_photo(multipart, state.photo_limits().max_bytes)
        .await
        .map_err(|e| meter.explain(e))?;
    store(state, raw).await
}

/// Whose upload slot a photo upload takes: its token's holder (named by
/// the token's hash, never the token itself).
fn uploader(headers: &HeaderMap) -> String {
    let token = crate::courier::bearer_token(headers).unwrap_or_default();
    format!("token:{}", Sha256::of(token.as_bytes()))
}

/// Exactly one `photo` part, within the size limit.
async fn read_photo(mut multipart: Multipart, max_bytes: usize) -> Result<Bytes, Error> {
    let mut photo = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, "body"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name != PHOTO_PART {
            let shown: String = name.chars().take(64).collect();
            return Err(Error::invalid(shown, "unknown part"));
        }
        if photo.is_some() {
            return Err(Error::invalid(PHOTO_PART, "only one photo part is allowed"));
        }
        check_declared_type(field.content_type())?;
        photo = Some(read_part(field, PHOTO_PART, max_bytes).await?);
    }
    photo.ok_or_else(|| Error::invalid(PHOTO_PART, "a photo part is required"))
}

/// The pipeline, then the photo and its thumbnail.
async fn store(state: &IngestState, raw: Bytes) -> Result<photo::ProcessedPhoto, Error> {
    let processed = {
        let _core = state
            .inner
            .cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::internal("waiting for a photo worker", e))?;
        photo::process(raw, state.photo_limits()).await?
    };
    let r = &processed.photo_ref;
    let photos = &state.inner.photos;
    photos
        .put(r.sha256.to_string(), processed.bytes.clone())
        .await?;
    if let Some(thumb) = r.thumbnail_sha256 {
        photos
            .put(thumb.to_string(), processed.thumbnail.clone())
            .await?;
    }
    Ok(processed)
}

/// The ticket's record of a stored proof photo.
async fn record_proof(
    state: &IngestState,
    ticket: TicketId,
    processed: &photo::ProcessedPhoto,
) -> Result<ProofPhoto, Error> {
    let r = &processed.photo_ref;
    let photos = &state.inner.photos;
    let proof = ProofPhoto {
        sha256: r.sha256,
        thumbnail_sha256: r.thumbnail_sha256,
        media_type: r.media_type.clone(),
        width: r.width,
        height: r.height,
    };
    let record =
        serde_json::to_vec(&proof).map_err(|e| Error::internal("recording a proof photo", e))?;
    photos
        .put(record_key(ticket, proof.sha256), Bytes::from(record))
        .await?;
    Ok(proof)
}

/// `?size=`.
#[derive(Debug, Deserialize)]
pub struct ProofQuery {
    /// `thumbnail` for the thumbnail; the photo otherwise.
    #[serde(default)]
    size: Option<String>,
}

/// `GET /v1/tickets/{id}/proof-photos/{sha256}`.
#[tracing::instrument(name = "get_proof_photo", skip_all, fields(ticket_id = %id))]
pub async fn get(
    State(state): State<IngestState>,
    Path((id, sha256)): Path<(String, String)>,
    Query(query): Query<ProofQuery>,
    headers: HeaderMap,
) -> Response {
    match serve(&state, &id, &sha256, query, &headers).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn serve(
    state: &IngestState,
    id: &str,
    sha256: &str,
    query: ProofQuery,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let ticket = ticket_allowed(state, id, headers, TicketPhotos::ProofRead).await?;
    let Ok(sha256) = sha256.to_ascii_lowercase().parse::<Sha256>() else {
        return Err(Error::NotFound);
    };
    let thumbnail = match query.size.as_deref() {
        None | Some("full") => false,
        Some("thumbnail") => true,
        Some(_) => return Err(Error::invalid("size", "must be full or thumbnail")),
    };
    let photos = &state.inner.photos;
    let record = photos
        .get(&record_key(ticket, sha256))
        .await?
        .ok_or(Error::NotFound)?;
    let proof: ProofPhoto = serde_json::from_slice(&record)
        .map_err(|e| Error::internal("reading a proof photo record", e))?;
    let (sha, media_type) = if thumbnail {
        let thumb = proof.thumbnail_sha256.ok_or(Error::NotFound)?;
        (thumb, "image/jpeg".to_owned())
    } else {
        (proof.sha256, proof.media_type)
    };
    let bytes = photos.get(&sha.to_string()).await?.ok_or(Error::NotFound)?;
    let content_type = HeaderValue::from_str(&media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=86400, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_binds_one_photo_to_one_ticket() {
        let (a, b) = (TicketId::new(), TicketId::new());
        let sha = Sha256::from([0xab; 32]);
        assert_eq!(record_key(a, sha), record_key(a, sha));
        assert_ne!(record_key(a, sha), record_key(b, sha));
        assert_ne!(record_key(a, sha), record_key(a, Sha256::from([0xcd; 32])));
        assert_ne!(record_key(a, sha), sha.to_string());
        assert!(record_key(a, sha).parse::<Sha256>().is_ok());
    }
}
