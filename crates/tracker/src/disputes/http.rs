//! Supervisors settling disputes: `GET /v1/disputes` (open ones by
//! default, the longest waiting first) and `POST /v1/disputes/{ticket_id}/
//! uphold`. The other way to settle one, rerouting the ticket, is the
//! existing `POST /v1/tickets/{id}/reroute`.

use crate::disputes::settle::{Dispute, DisputeFilter};
use crate::http::input::{clean_note, redacted};
use crate::http::supervisor_only;
use crate::http::{observe, principal, ApiError};
use crate::Store;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::TicketId;
use serde::{Deserialize, Serialize};

/// Disputes one page holds.
const DISPUTES_LIMIT: i64 = 500;

/// `?state=open|settled|all`.
#[derive(Debug, Deserialize)]
pub(crate) struct DisputesQuery {
    /// Which disputes; `open` by default.
    state: Option<String>,
}

/// The queue's answer.
#[derive(Debug, Serialize)]
struct Disputes {
    /// The filter applied: `open`, `settled` or `all`.
    state: String,
    /// The disputes, the longest waiting first.
    disputes: Vec<Dispute>,
}

/// `{"note": "…"}`: why the ticket is nobody's here.
#[derive(Debug, Deserialize)]
struct UpholdBody {
    /// Required.
    note: Option<String>,
}

/// `GET /v1/disputes`.
pub(crate) async fn disputes(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<DisputesQuery>, QueryRejection>,
) -> Response {
    observe("disputes", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let Query(query) = query.map_err(|e| ApiError::field("query", redacted(&e.body_text())))?;
        let state = query.state.unwrap_or_else(|| "open".to_owned());
        let filter: DisputeFilter = state.parse().map_err(|e| ApiError::field("state", e))?;
        let disputes = store.disputes(filter, DISPUTES_LIMIT).await?;
        Ok(Disputes { state, disputes })
    })
    .await
}

/// The note of an uphold body; required.
fn uphold_note(body: &[u8]) -> Result<String, ApiError> {
    let body: UpholdBody =
        serde_json::from_slice(body).map_err(|e| ApiError::field("body", redacted(&e)))?;
    clean_note(body.note)?.ok_or_else(|| {
        ApiError::field(
            "note",
            "upholding needs a note saying why the ticket is nobody's here \
             (e.g. it belongs to another district)",
        )
    })
}

/// `POST /v1/disputes/{ticket_id}/uphold`: the ticket stays rejected and
/// leaves the overdue clock. 404 for a ticket never disputed, 409 when
/// its dispute was settled already.
pub(crate) async fn uphold(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("uphold_dispute", Some(&id), async {
        let who = principal(&store, &headers).await?;
        supervisor_only(&who)?;
        let ticket_id: TicketId = id
            .parse()
            .map_err(|_| ApiError::field("ticket_id", "the ticket id must be a UUID"))?;
        let note = uphold_note(&body)?;
        let ticket = store.uphold_dispute(ticket_id, &who.actor(), &note).await?;
        tracing::info!(office_id = %ticket.office_id, "dispute upheld");
        Ok(ticket)
    })
    .await
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/disputes", get(disputes))
        .route("/v1/disputes/{id}/uphold", post(uphold))
}
