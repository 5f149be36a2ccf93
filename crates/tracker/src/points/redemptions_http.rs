//! After a redemption: `GET /v1/redemptions` (couriers their own,
//! supervisors everyone's with the courier's id and name), `POST
//! /v1/redemptions/{id}/collect` (supervisors hand a pickup over), and
//! `POST /v1/reports/{id}/points/reverse` (supervisors take back the
//! points of a fraudulent report).

use crate::http::input::no_controls;
use crate::http::supervisor_only;
use crate::http::{observe, principal, ApiError};
use crate::points::fraud::FraudClaim;
use crate::points::rewards_http::{object, string};
use crate::Store;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::{Principal, ReportId};
use serde::Deserialize;
use tracing::Instrument;
use uuid::Uuid;

/// Redemptions one page holds by default, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
/// Longest reason for a fraud reversal, in characters.
const MAX_REASON_CHARS: usize = 500;

/// `?limit=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    /// 1 to 1000; 100 when absent.
    limit: Option<String>,
}

/// `?limit=` checked.
fn limit(query: Result<Query<ListQuery>, QueryRejection>) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::field(
            "limit",
            format!("limit must be an integer from 1 to {MAX_LIMIT}"),
        )
    };
    let Query(query) = query.map_err(|_| bad())?;
    match query.limit {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(bad),
    }
}

/// `GET /v1/redemptions?limit=`: newest first.
pub(crate) async fn list(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    observe("redemptions", None, async {
        let who = principal(&store, &headers).await?;
        let limit = limit(query)?;
        let redemptions = match who {
            Principal::Courier { courier_id, .. } => {
                let mut own = store.redemptions(Some(courier_id), limit).await?;
                for r in &mut own {
                    (r.courier_id, r.courier_name) = (None, None);
                }
                own
            }
            Principal::Supervisor { .. } => store.redemptions(None, limit).await?,
            Principal::Office { .. } => {
                return Err(ApiError::Forbidden("offices hand out no rewards"))
            }
        };
        Ok(serde_json::json!({ "redemptions": redemptions }))
    })
    .await
}

/// `POST /v1/redemptions/{id}/collect`: 409 the second time.
pub(crate) async fn collect(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    observe("redemption_collect", None, async {
        let who = principal(&store, &headers).await?;
        supervisor_only(&who)?;
        let redemption_id: Uuid = id
            .parse()
            .map_err(|_| ApiError::field("redemption_id", "the redemption id must be a UUID"))?;
        let span = tracing::info_span!("rewards.collect", %redemption_id);
        Ok(store
            .collect_redemption(redemption_id, &who.actor())
            .instrument(span)
            .await?)
    })
    .await
}

/// The reason of a reversal body: required, 1 to 500 characters.
fn reason(body: &[u8]) -> Result<String, ApiError> {
    let body = object(body)?;
    let reason = string(&body, "reason")?.map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::field(
            "reason",
            format!("reason is required: 1 to {MAX_REASON_CHARS} characters saying why"),
        ));
    }
    no_controls("reason", reason)?;
    Ok(reason.to_owned())
}

/// `POST /v1/reports/{id}/points/reverse {"reason"}`: 200 with what was
/// taken back; a second reversal of the same report takes nothing more
/// (200, `reversed` 0, `already_reversed` true).
pub(crate) async fn reverse(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("fraud_reversal", None, async {
        let who = principal(&store, &headers).await?;
        supervisor_only(&who)?;
        let report_id: ReportId = id
            .parse()
            .map_err(|_| ApiError::field("report_id", "the report id must be a UUID"))?;
        let reason = reason(&body)?;
        let actor = who.actor();
        let claim = FraudClaim {
            report_id,
            actor: &actor,
            reason: &reason,
        };
        let span = tracing::info_span!("rewards.fraud_reversal", %report_id);
        let done = store.reverse_fraud(claim).instrument(span).await?;
        metrics::counter!("civicprobe_tracker_fraud_reversals_total").increment(1);
        metrics::counter!("civicprobe_tracker_points_reversed_total")
            .increment(u64::try_from(done.reversed).unwrap_or(0));
        Ok(done)
    })
    .await
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/redemptions", get(list))
        .route("/v1/redemptions/{id}/collect", post(collect))
        .route("/v1/reports/{id}/points/reverse", post(reverse))
}
