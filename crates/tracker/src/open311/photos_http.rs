//! `POST /v1/reports/{id}/photos/{n}/hide` and `…/unhide`: a supervisor
//! takes one report photo out of public view (Open311 then leaves it out
//! of `media_url` and answers 404 at `/open311/v2/media/…`) or puts it
//! back. Each change is logged with its actor. The photo stays visible to
//! the report's office and courier through `/v1/reports/{id}/photos/{n}`.

use crate::http::supervisor_only;
use crate::http::{observe, principal, ApiError};
use crate::Store;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::ReportId;
use serde::Serialize;

/// The answer: the photo and whether it is hidden now.
#[derive(Debug, Serialize)]
struct Visibility {
    /// The report.
    report_id: ReportId,
    /// The photo's number, from 0.
    n: u32,
    /// Hidden from public view.
    hidden: bool,
    /// Whether this request changed it (`false`: it already was so).
    changed: bool,
}

/// `POST /v1/reports/{id}/photos/{n}/hide`.
pub(crate) async fn hide(
    State(store): State<Store>,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    observe("hide_photo", None, set(store, id, n, headers, true)).await
}

/// `POST /v1/reports/{id}/photos/{n}/unhide`.
pub(crate) async fn unhide(
    State(store): State<Store>,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    observe("unhide_photo", None, set(store, id, n, headers, false)).await
}

async fn set(
    store: Store,
    id: String,
    n: String,
    headers: HeaderMap,
    hidden: bool,
) -> Result<Visibility, ApiError> {
    let who = principal(&store, &headers).await?;
    supervisor_only(&who)?;
    let report_id: ReportId = id
        .parse()
        .map_err(|_| ApiError::field("report_id", "the report id must be a UUID"))?;
    let n: u32 = n
        .parse()
        .map_err(|_| ApiError::field("n", "the photo number must be 0 or more"))?;
    let count = store
        .report_photo_count(report_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if usize::try_from(n).map_or(true, |n| n >= count) {
        return Err(ApiError::NotFound);
    }
    let changed = store
        .set_photo_hidden(report_id, n, hidden, &who.actor(), store.now())
        .await?;
    tracing::info!(report_id = %report_id, n, hidden, changed, actor = %who.actor(), "photo visibility set");
    Ok(Visibility {
        report_id,
        n,
        hidden,
        changed,
    })
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::post;
    axum::Router::new()
        .route("/v1/reports/{id}/photos/{n}/hide", post(hide))
        .route("/v1/reports/{id}/photos/{n}/unhide", post(unhide))
}
