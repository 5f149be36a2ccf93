//! Supervisors moving work between offices: a ticket to another office,
//! or an unrouted report into a new ticket of an office; or closing an
//! unrouted report as not the district's responsibility.

use crate::http::supervisor_only;
use crate::http::{observe, principal, ApiError};
use crate::tickets::http::visible_ticket;
use crate::tickets::rows::Ticket;
use crate::{Error, Store};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::{OfficeId, ReportId};
use serde::Deserialize;

/// `{"office_id": "fushan", "note": "…"}`.
#[derive(Debug, Deserialize)]
struct RerouteBody {
    /// The office that takes it over.
    office_id: String,
    /// Why, for the record.
    note: Option<String>,
}

/// The target office and note of a reroute body.
fn parse_body(body: &[u8]) -> Result<(OfficeId, Option<String>), ApiError> {
    let body: RerouteBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::field("body", crate::http::input::redacted(&e)))?;
    let office = OfficeId::parse(&body.office_id)
        .map_err(|e| ApiError::field("office_id", e.to_string()))?;
    Ok((office, clean_note(body.note)?))
}

/// A note for the record: no control characters, trimmed, at most 2000
/// characters; blank is none.
fn clean_note(note: Option<String>) -> Result<Option<String>, ApiError> {
    if let Some(note) = &note {
        crate::http::input::no_controls("note", note)?;
    }
    Ok(note
        .map(|n| n.trim().chars().take(2000).collect::<String>())
        .filter(|n| !n.is_empty()))
}

/// The `{report_id}` of a path.
fn report_id(id: &str) -> Result<ReportId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::field("report_id", "the report id must be a UUID"))
}

/// The target office must be a known one (seeded from the jurisdictions
/// file, registered with `civicprobe office add`, or named by the router):
/// a ticket moved to an unknown office would be in no office's queue.
async fn known_target(store: &Store, office: &OfficeId) -> Result<(), ApiError> {
    if store.office_known(office).await? {
        Ok(())
    } else {
        Err(ApiError::field(
            "office_id",
            "no such office: the target must be an office of the jurisdictions \
             or one registered with `civicprobe office add`",
        ))
    }
}

/// A lost race is a 409 with the state now.
pub(crate) async fn conflict_or(store: &Store, e: Error) -> ApiError {
    match e {
        Error::ConcurrentUpdate(id) => {
            let state = store.ticket(id).await.ok().flatten().map(|t| t.state);
            ApiError::Conflict {
                detail: format!("ticket {id} was changed by someone else; reload it"),
                state,
            }
        }
        other => other.into(),
    }
}

/// `POST /v1/tickets/{id}/reroute`.
pub(crate) async fn reroute_ticket(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("reroute", Some(&id), async {
        let who = principal(&store, &headers).await?;
        supervisor_only(&who)?;
        let (to, note) = parse_body(&body)?;
        known_target(&store, &to).await?;
        let current: Ticket = visible_ticket(&store, &who, &id).await?;
        match store.reroute(&current, &to, &who.actor(), note).await {
            Ok(ticket) => {
                tracing::info!(from = %current.office_id, to = %to, "ticket rerouted");
                Ok(ticket)
            }
            Err(e) => Err(conflict_or(&store, e).await),
        }
    })
    .await
}

/// `POST /v1/unrouted/{report_id}/route`.
pub(crate) async fn route_unrouted(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("route_unrouted", None, async {
        let who = principal(&store, &headers).await?;
        supervisor_only(&who)?;
        let report_id = report_id(&id)?;
        let (to, note) = parse_body(&body)?;
        known_target(&store, &to).await?;
        let ticket = store
            .route_unrouted(report_id, &to, &who.actor(), note)
            .await?;
        tracing::info!(report_id = %report_id, ticket_id = %ticket.ticket_id, to = %to, "unrouted report routed");
        Ok(ticket)
    })
    .await
}

/// `{"note": "…"}`, the body of closing an unrouted report (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    /// Why, for the record (Open311 answers it as the update's words).
    note: Option<String>,
}

/// `POST /v1/unrouted/{report_id}/close`: a report outside every area is
/// not the district's responsibility; it leaves the unrouted list and
/// Open311 answers it closed (`NOT_COUNCILS_RESPONSIBILITY`).
pub(crate) async fn close_unrouted(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("close_unrouted", None, async {
        let who = principal(&store, &headers).await?;
        supervisor_only(&who)?;
        let report_id = report_id(&id)?;
        let body: CloseBody = if body.iter().all(u8::is_ascii_whitespace) {
            CloseBody::default()
        } else {
            serde_json::from_slice(&body)
                .map_err(|e| ApiError::field("body", crate::http::input::redacted(&e)))?
        };
        let note = clean_note(body.note)?;
        let closed = store
            .close_outside(report_id, &who.actor(), note.as_deref())
            .await?;
        Ok(serde_json::json!({
            "report_id": report_id,
            "closed_at": closed.at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            "note": closed.note,
        }))
    })
    .await
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::post;
    axum::Router::new()
        .route("/v1/tickets/{id}/reroute", post(reroute_ticket))
        .route("/v1/unrouted/{id}/route", post(route_unrouted))
        .route("/v1/unrouted/{id}/close", post(close_unrouted))
}
