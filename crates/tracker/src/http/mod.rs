//! The tracker's HTTP API (axum, JSON, bearer tokens).
//!
//! | route | who |
//! |---|---|
//! | `GET /v1/offices/{office_id}/tickets` | that office, supervisors |
//! | `GET /v1/tickets/{id}` | its office, supervisors (with every report and its evidence); its reporting couriers see their own report and its status |
//! | `POST /v1/tickets/{id}/acknowledge` · `make_safe` · `start` · `resolve` · `reject` | its office, supervisors |
//! | `POST /v1/tickets/{id}/verify` `{"fixed", "note"?, "photo_sha256"?, "lat"?, "lon"?}` | the courier whose report opened it, supervisors, couriers merged onto it (their report only), couriers nearby with a fresh photo (`verify`) |
//! | `POST /v1/tickets/{id}/reopen` · `close` (verify not fixed · fixed) | the courier whose report opened it, supervisors |
//! | `POST /v1/tickets/{id}/reroute` | supervisors |
//! | `POST /v1/tickets/{id}/triage` | its office, supervisors (re-triage: category, urgency) |
//! | `GET /v1/unrouted`, `POST /v1/unrouted/{report_id}/route`, `…/close` | supervisors |
//! | `GET /v1/disputes?state=open\|settled\|all`, `POST /v1/disputes/{ticket_id}/uphold` | supervisors |
//! | `GET /v1/audit/response-times?group_by=office,category,urgent,week&format=csv` | supervisors |
//! | `GET /v1/audit/overdue` | supervisors, offices (their own) |
//! | `GET /v1/audit/couriers`, `GET /v1/audit/verify` | supervisors |
//! | `GET /v1/couriers/me` | couriers |
//! | `GET /v1/verifications/nearby?lat=&lon=` | couriers (resolved tickets near them to check) |
//! | `GET /v1/verifications?state=disputed` | supervisors (verification disputes) |
//! | `POST /v1/reports/{id}/photos/{n}/hide` · `unhide` | supervisors |
//! | `GET /v1/alerts/channels` | supervisors, offices (their own) |
//! | `GET /v1/alerts/deliveries?state=pending\|failing\|delivered\|failed` | supervisors |
//! | `GET /v1/rewards` | couriers (active rewards and their `balance`), supervisors (all, retired too) |
//! | `POST /v1/rewards`, `PATCH /v1/rewards/{id}`, `POST /v1/rewards/{id}/retire` | supervisors |
//! | `POST /v1/rewards/{id}/redeem` (optional `Idempotency-Key`) | couriers |
//! | `GET /v1/redemptions?limit=` | couriers (their own), supervisors (all) |
//! | `POST /v1/redemptions/{id}/collect` | supervisors |
//! | `POST /v1/reports/{id}/points/reverse` | supervisors (fraud reversal) |
//! | `GET /v1/events` (in [`crate::events`], served beside this app) | everyone, scoped: an office its tickets, supervisors all, a courier their reports' steps |
//! | `GET /v1/dead-letters?limit=` (in [`dead_letters`], served beside this app: it reads `DEAD_LETTERS` on JetStream) | supervisors |
//!
//! A ticket outside the caller's scope is a 404, never a 403, so that its
//! existence is not revealed; a ticket the caller may see but not act on
//! (an office's reopen, a merged duplicate's courier closing) is a 403.
//! Errors are `application/problem+json`.

pub mod dead_letters;
mod error;
pub(crate) mod input;

pub use error::ApiError;

use crate::Store;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use civicprobe_model::Principal;
use serde::Serialize;
use std::future::Future;
use tracing::Instrument;

/// The tracker's routes, ready to serve or to `oneshot` in tests.
pub fn app(store: Store) -> Router {
    Router::new()
        .merge(crate::tickets::http::routes())
        .merge(crate::verification::http::routes())
        .merge(crate::routing::reroute_http::routes())
        .merge(crate::routing::triage_http::routes())
        .merge(crate::audit::supervision_http::routes())
        .merge(crate::disputes::http::routes())
        .merge(crate::audit::exports_http::routes())
        .merge(crate::audit::monthly_http::routes())
        .merge(crate::couriers::http::routes())
        .merge(crate::verification::queue_http::routes())
        .merge(crate::open311::photos_http::routes())
        .merge(crate::alerts::http::routes())
        .merge(crate::points::rewards_http::routes())
        .merge(crate::points::redemptions_http::routes())
        .with_state(store)
}

/// The holder of the request's `Authorization: Bearer <token>`.
pub(crate) async fn principal(store: &Store, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(civicprobe_model::bearer_token)
        .ok_or(ApiError::Unauthorized)?;
    store
        .authenticate(token)
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// Runs a handler body in a span carrying `ticket_id`, counts its outcome
/// in `civicprobe_tracker_actions_total{action,outcome}`, and renders it.
pub(crate) async fn observe<T: Serialize>(
    action: &'static str,
    ticket_id: Option<&str>,
    body: impl Future<Output = Result<T, ApiError>>,
) -> Response {
    observe_response(action, ticket_id, async {
        body.await.map(|value| Json(value).into_response())
    })
    .await
}

/// [`observe`] for a handler that builds its own response (CSV, …).
pub(crate) async fn observe_response(
    action: &'static str,
    ticket_id: Option<&str>,
    body: impl Future<Output = Result<Response, ApiError>>,
) -> Response {
    let span = tracing::info_span!("tracker.http", action, ticket_id = ticket_id.unwrap_or("-"));
    let result = body.instrument(span.clone()).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.outcome(),
    };
    metrics::counter!(
        "civicprobe_tracker_actions_total",
        "action" => action,
        "outcome" => outcome
    )
    .increment(1);
    let _entered = span.enter();
    match result {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// Fails with 403 unless `who` is a supervisor.
pub(crate) fn supervisor_only(who: &Principal) -> Result<(), ApiError> {
    match who {
        Principal::Supervisor { .. } => Ok(()),
        _ => Err(ApiError::Forbidden("only supervisors may see this")),
    }
}
