//! `GET /open311/v2/media/{service_request_id}/{n}`: the `media_url` of a
//! request. Open311 reads are public, so a request's photo is as public as
//! its description and position: anyone who may read the request may see
//! its photo, which ingest stored without any metadata. Only photos of
//! routed requests are served, by the request's own id; nothing else in
//! the photo store is reachable from here.
//!
//! A district may turn public photos off
//! ([`crate::Open311State::with_public_photos`]), and a supervisor may hide
//! a single photo (`POST /v1/reports/{id}/photos/{n}/hide`); either way the
//! photo is a 404 here and has no `media_url`.

use crate::format::Format;
use crate::{Error, Open311State};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use civicprobe_model::ReportId;
use civicprobe_tracker::Ticket;
use std::collections::HashSet;

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
    // The request's ticket, whether its report opened it or was merged in
    // (`requests/{id}` names the ticket's photos under either id).
    let (ticket_id, _) = state
        .store
        .report_ticket(request)
        .await?
        .ok_or_else(missing)?;
    let ticket = state.store.ticket(ticket_id).await?.ok_or_else(missing)?;
    let hidden = state.store.hidden_photos(ticket.report_id).await?;
    if !visible(state, &ticket, &hidden).contains(&n) {
        return Err(missing());
    }
    let photo = ticket.photos.get(n).ok_or_else(missing)?;
    let bytes = state
        .ingest
        .photo(photo.sha256)
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

/// The numbers of `ticket`'s photos the public may see, in order: none
/// when the district keeps photos private, else all but the `hidden` ones.
pub fn visible(state: &Open311State, ticket: &Ticket, hidden: &HashSet<u32>) -> Vec<usize> {
    if !state.public_photos {
        return Vec::new();
    }
    (0..ticket.photos.len())
        .filter(|n| u32::try_from(*n).is_ok_and(|n| !hidden.contains(&n)))
        .collect()
}
