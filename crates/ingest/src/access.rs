//! `GET /v1/reports/{id}/photos/{n}` (add `?size=thumbnail` for the
//! thumbnail): offices, supervisors and the report's courier fetch a
//! report's photos through the API, scoped like tickets, never by a path
//! on disk. `n` counts from 0, in the report's photo order.
//!
//! Who may see which report is the tracker's business (a ticket belongs to
//! an office); ingest asks through [`ReportAccess`], which the CLI
//! implements with the tracker's store. A courier may also fetch the
//! photos of a report this instance accepted from them before the tracker
//! knows it (still in flight to the router): the local store keeps each
//! accepted report's courier.

use crate::local::LocalStore;
use crate::{BoxError, Error, IngestState};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use civicprobe_model::{ReportId, TicketId};
use futures::future::BoxFuture;
use serde::Deserialize;

/// What the holder of a token may do with a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// The token names nobody: `401`.
    Unknown,
    /// Known, but the report is outside their scope: `403`.
    Denied,
    /// They may see it (its office, a supervisor).
    Allowed,
}

/// How ingest learns whether a token may see a report's photos.
pub trait ReportAccess: Send + Sync + 'static {
    /// What the holder of `token` may do with `report`.
    fn viewer<'a>(
        &'a self,
        token: &'a str,
        report: ReportId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>>;

    /// What the holder of `token` may do with `ticket`'s proof photos
    /// (`POST`/`GET /v1/tickets/{id}/proof-photos`): `Allowed` for the
    /// ticket's office and supervisors. Without an implementation nobody
    /// may ([`Viewer::Unknown`]).
    fn ticket_viewer<'a>(
        &'a self,
        _token: &'a str,
        _ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        Box::pin(async { Ok(Viewer::Unknown) })
    }

    /// Who may fetch `ticket`'s proof photos (`GET` only): besides those
    /// [`Self::ticket_viewer`] allows, the ticket's reporting couriers, who
    /// see how their report was fixed. Uploading stays with
    /// [`Self::ticket_viewer`]. Without an implementation it is the same.
    fn proof_photo_reader<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        self.ticket_viewer(token, ticket)
    }

    /// Tells the ticket store that `sha256` was stored as a proof photo of
    /// `ticket` by the holder of `token` (whom [`Self::ticket_viewer`]
    /// allowed), so that a resolve may cite it and no other photo. Without
    /// an implementation nothing is recorded.
    fn proof_photo_stored<'a>(
        &'a self,
        _token: &'a str,
        _ticket: TicketId,
        _sha256: civicprobe_model::Sha256,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async { Ok(()) })
    }

    /// What the holder of `token` may do with `ticket`'s verification
    /// photos (`POST /v1/tickets/{id}/verification-photos`): `Allowed` for
    /// any courier while the ticket is resolved. Without an
    /// implementation nobody may ([`Viewer::Unknown`]).
    fn verification_viewer<'a>(
        &'a self,
        _token: &'a str,
        _ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        Box::pin(async { Ok(Viewer::Unknown) })
    }

    /// Tells the ticket store that the courier holding `token` (whom
    /// [`Self::verification_viewer`] allowed) stored a verification photo
    /// of `ticket` with this evidence, so that their verify may cite it.
    /// Without an implementation nothing is recorded.
    fn verification_photo_stored<'a>(
        &'a self,
        _token: &'a str,
        _ticket: TicketId,
        _evidence: &'a VerificationEvidence,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async { Ok(()) })
    }
}

/// What ingest read from a verification photo before stripping it, told
/// to the ticket store ([`ReportAccess::verification_photo_stored`]).
#[derive(Clone, Debug, PartialEq)]
pub struct VerificationEvidence {
    /// The stored (metadata-free) photo's sha256.
    pub sha256: civicprobe_model::Sha256,
    /// Its thumbnail's sha256.
    pub thumbnail_sha256: Option<civicprobe_model::Sha256>,
    /// EXIF DateTimeOriginal: is the photo fresh?
    pub taken_at: Option<time::OffsetDateTime>,
    /// EXIF GPS: was it taken at the spot?
    pub gps: Option<civicprobe_model::Location>,
    /// Perceptual hash: is it a reused photo?
    pub phash: Option<civicprobe_model::PhotoHash>,
}

/// The default without a tracker: every known token is denied, unknown
/// ones are unknown (nobody sees photos).
#[derive(Debug)]
pub struct DenyAll;

impl ReportAccess for DenyAll {
    fn viewer<'a>(
        &'a self,
        _token: &'a str,
        _report: ReportId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        Box::pin(async { Ok(Viewer::Unknown) })
    }
}

/// Whether the holder of `token` is the courier who sent `report`, as
/// this instance's local store recorded when it accepted it.
async fn sent_it(
    state: &IngestState,
    local: &LocalStore,
    token: &str,
    report: ReportId,
) -> Result<bool, Error> {
    let Some(sender) = local.courier_of(report).await? else {
        return Ok(false);
    };
    Ok(state.courier_for_token(token).await? == Some(sender))
}

/// `?size=`.
#[derive(Debug, Deserialize)]
pub struct PhotoQuery {
    /// `thumbnail` for the thumbnail; the photo otherwise.
    #[serde(default)]
    size: Option<String>,
}

/// The photo route's handler.
#[tracing::instrument(name = "get_photo", skip_all, fields(report_id = %id, n = n))]
pub async fn get_photo(
    State(state): State<IngestState>,
    Path((id, n)): Path<(String, u32)>,
    Query(query): Query<PhotoQuery>,
    headers: HeaderMap,
) -> Response {
    match photo(&state, &id, n, query, &headers).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn photo(
    state: &IngestState,
    id: &str,
    n: u32,
    query: PhotoQuery,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let token = crate::courier::bearer_token(headers).ok_or(Error::Unauthorized)?;
    let report: ReportId = id.parse().map_err(|_| Error::NotFound)?;
    let viewer = state
        .access()
        .viewer(token, report)
        .await
        .map_err(|source| Error::Unavailable {
            what: "the ticket store",
            source,
        })?;
    let local = state.inner.shared.local().await?;
    match viewer {
        Viewer::Unknown => return Err(Error::Unauthorized),
        Viewer::Allowed => {}
        // The courier's own report, accepted here and not yet routed.
        Viewer::Denied if sent_it(state, local, token, report).await? => {}
        // Like tickets: another area's report does not exist for this viewer.
        Viewer::Denied => return Err(Error::NotFound),
    }
    // Accepted here, or (object store) by another instance sharing the bucket.
    let stored = match local.photo(report, n).await? {
        Some(stored) => stored,
        None => state
            .inner
            .photos
            .indexed_photo(report, n)
            .await?
            .ok_or(Error::NotFound)?,
    };
    let thumbnail = match query.size.as_deref() {
        None | Some("full") => false,
        Some("thumbnail") => true,
        Some(_) => return Err(Error::invalid("size", "must be full or thumbnail")),
    };
    let (sha, media_type) = if thumbnail {
        (
            stored.thumbnail_sha256.ok_or(Error::NotFound)?,
            "image/jpeg".to_owned(),
        )
    } else {
        (stored.sha256, stored.media_type)
    };
    let bytes = state
        .inner
        .photos
        .get(&sha.to_string())
        .await?
        .ok_or(Error::NotFound)?;
    let content_type = HeaderValue::from_str(&media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let etag =
        HeaderValue::from_str(&format!("\"{sha}\"")).unwrap_or(HeaderValue::from_static("\"\""));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::ETAG, etag),
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
