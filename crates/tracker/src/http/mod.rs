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

mod alerts;
mod audit_exports;
mod courier;
pub mod dead_letters;
mod disputes;
mod error;
mod monthly;
pub mod navigate;
mod photos;
mod proof;
mod redemptions;
mod reroute;
mod rewards;
mod supervision;
mod tickets;
mod triage;
mod verifications;
mod verify;
mod verify_evidence;

pub use error::ApiError;

use crate::Store;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use civicprobe_model::Principal;
use serde::Serialize;
use std::future::Future;
use tracing::Instrument;

/// The tracker's routes, ready to serve or to `oneshot` in tests.
pub fn app(store: Store) -> Router {
    Router::new()
        .route(
            "/v1/offices/{office_id}/tickets",
            get(tickets::office_queue),
        )
        .route("/v1/tickets/{id}", get(tickets::ticket))
        .route("/v1/tickets/{id}/acknowledge", post(tickets::acknowledge))
        .route("/v1/tickets/{id}/make_safe", post(tickets::make_safe))
        .route("/v1/tickets/{id}/resolve", post(tickets::resolve))
        .route("/v1/tickets/{id}/reject", post(tickets::reject))
        .route("/v1/tickets/{id}/start", post(tickets::start))
        .route("/v1/tickets/{id}/reopen", post(verify::reopen))
        .route("/v1/tickets/{id}/close", post(verify::close))
        .route("/v1/tickets/{id}/verify", post(verify::verify))
        .route("/v1/tickets/{id}/reroute", post(reroute::reroute_ticket))
        .route("/v1/tickets/{id}/triage", post(triage::triage))
        .route("/v1/unrouted", get(supervision::unrouted))
        .route("/v1/unrouted/{id}/route", post(reroute::route_unrouted))
        .route("/v1/unrouted/{id}/close", post(reroute::close_unrouted))
        .route("/v1/disputes", get(disputes::disputes))
        .route("/v1/disputes/{id}/uphold", post(disputes::uphold))
        .route("/v1/audit/response-times", get(supervision::response_times))
        .route("/v1/audit/overdue", get(supervision::overdue))
        .route("/v1/audit/couriers", get(supervision::leaderboard))
        .route("/v1/audit/verify", get(supervision::verify))
        .route("/v1/audit/kpis", get(audit_exports::kpis))
        .route("/v1/audit/export", get(audit_exports::export))
        .route(
            "/v1/audit/offices/{office_id}/monthly",
            get(monthly::monthly),
        )
        .route("/v1/couriers/me", get(courier::me))
        .route("/v1/verifications", get(verifications::disputed))
        .route("/v1/verifications/nearby", get(verifications::nearby))
        .route("/v1/reports/{id}/photos/{n}/hide", post(photos::hide))
        .route("/v1/reports/{id}/photos/{n}/unhide", post(photos::unhide))
        .route("/v1/alerts/channels", get(alerts::channels))
        .route("/v1/alerts/deliveries", get(alerts::deliveries))
        .route("/v1/rewards", get(rewards::list).post(rewards::create))
        .route("/v1/rewards/{id}", patch(rewards::update))
        .route("/v1/rewards/{id}/retire", post(rewards::retire))
        .route("/v1/rewards/{id}/redeem", post(rewards::redeem))
        .route("/v1/redemptions", get(redemptions::list))
        .route("/v1/redemptions/{id}/collect", post(redemptions::collect))
        .route(
            "/v1/reports/{id}/points/reverse",
            post(redemptions::reverse),
        )
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
async fn observe<T: Serialize>(
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
async fn observe_response(
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
