//! `GET /open311/v2/media/{service_request_id}/{n}`: the `media_url` of a
//! request. Open311 reads are public, so a request's photo is as public as
//! its description and position: anyone who may read the request may see
//! its photo, which ingest stored without any metadata. Only photos of
//! routed requests are served, by the request's own id; nothing else in
//! the photo store is reachable from here.

use crate::format::Format;
use crate::{Error, Open311State};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use civicprobe_model::ReportId;

/// The path of a request's `n`th photo, below the public origin.
pub fn path(request: ReportId, n: usize) -> String {
    format!("{}/media/{request}/{n}", crate::BASE_PATH)
}

/// The handler.
pub async fn photo(
    State(state): State<Open311State>,
    Path((id, n)): Path<(String, usize)>,
) -> Response {
    match serve(&state, &id, n).await {
        Ok(response) => response,
        Err(e) => e.respond(Format::Json),
    }
}

async fn serve(state: &Open311State, id: &str, n: usize) -> Result<Response, Error> {
    let missing = || Error::not_found("no such request or photo");
    let request: ReportId = id.parse().map_err(|_| missing())?;
    let ticket = state
        .store
        .tickets_of_reports(&[request])
        .await?
        .into_iter()
        .next()
        .ok_or_else(missing)?;
    let photo = ticket.photos.get(n).ok_or_else(missing)?;
    let bytes = state
        .ingest
        .photo(&photo.sha256)
        .await?
        .ok_or_else(missing)?;
    Ok((
        [
            (header::CONTENT_TYPE, photo.media_type.clone()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
