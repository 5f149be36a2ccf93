//! Supervisor views: unrouted reports, the response-time audit (JSON or
//! CSV), overdue tickets, the courier leaderboard and the chain check.

use crate::audit::{render, Dimension};
use crate::http::supervisor_only;
use crate::http::{observe, observe_response, principal, ApiError};
use crate::Store;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use civicprobe_model::Principal;
use serde::Deserialize;

/// How many unrouted reports one page holds.
const UNROUTED_LIMIT: i64 = 500;
/// How many overdue tickets one page holds.
const OVERDUE_LIMIT: i64 = 500;
/// Couriers on the leaderboard.
const LEADERBOARD_LIMIT: i64 = 100;

/// `GET /v1/unrouted`: reports in no office's area, newest first.
pub(crate) async fn unrouted(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("unrouted", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        Ok(store.unrouted(UNROUTED_LIMIT).await?)
    })
    .await
}

/// `?group_by=office,category,urgent,week,month&format=json|csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    /// Dimensions, comma-separated; `office` by default.
    group_by: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

impl AuditQuery {
    /// The dimensions and whether CSV was asked for; errors name the field.
    pub(crate) fn parse(
        query: Result<Query<AuditQuery>, QueryRejection>,
    ) -> Result<(Vec<Dimension>, bool), ApiError> {
        let Query(query) = query
            .map_err(|e| ApiError::field("query", crate::http::input::redacted(&e.body_text())))?;
        let dims = Dimension::parse_list(query.group_by.as_deref().unwrap_or("office"))
            .map_err(|e| ApiError::field("group_by", crate::http::input::redacted(&e)))?;
        let csv = match query.format.as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(_) => return Err(ApiError::field("format", "format must be json or csv")),
        };
        Ok((dims, csv))
    }
}

/// `GET /v1/audit/response-times`.
pub(crate) async fn response_times(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    observe_response("response_times", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let (dims, csv) = AuditQuery::parse(query)?;
        let report = store.response_times(&dims).await?;
        Ok(if csv {
            (
                [(CONTENT_TYPE, "text/csv; charset=utf-8")],
                render::csv(&report),
            )
                .into_response()
        } else {
            Json(report).into_response()
        })
    })
    .await
}

/// `GET /v1/audit/overdue`: overdue tickets, latest first (an office sees
/// its own). A ticket its office rejected as `not_our_area` stays in that
/// office's list, marked `disputed`, until a supervisor settles it: it is
/// still the office's until then, and rejecting must not be a way to make
/// an overdue ticket disappear from one's own list.
pub(crate) async fn overdue(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("overdue", None, async {
        let office = match principal(&store, &headers).await? {
            Principal::Supervisor { .. } => None,
            Principal::Office { office_id, .. } => Some(office_id),
            Principal::Courier { .. } => {
                return Err(ApiError::Forbidden("couriers cannot see overdue tickets"))
            }
        };
        let tickets = store.overdue(office.as_ref(), OVERDUE_LIMIT).await?;
        Ok(serde_json::json!({ "now": store.now().unix_timestamp(), "tickets": tickets }))
    })
    .await
}

/// `GET /v1/audit/couriers`: couriers by points.
pub(crate) async fn leaderboard(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("leaderboard", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        Ok(serde_json::json!({ "couriers": store.leaderboard(LEADERBOARD_LIMIT).await? }))
    })
    .await
}

/// `GET /v1/audit/verify`: walks the event hash chain, recomputes every
/// ticket's figures from its events (`figures`: each disagreeing column)
/// and holds the chain to the latest signed head (`anchor`: `holds`,
/// `broken` or `unanchored`, as `civicprobe audit verify` prints it).
pub(crate) async fn verify(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("verify", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let report = store.verify_chain().await?;
        let figures = store.verify_figures().await?;
        let anchor = store.anchor_verdict().await?;
        let intact = report.is_intact() && figures.is_empty() && !anchor.is_broken();
        Ok(serde_json::json!({
            "intact": intact,
            "report": report,
            "figures": figures,
            "anchor": anchor,
        }))
    })
    .await
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::get;
    axum::Router::new()
        .route("/v1/unrouted", get(unrouted))
        .route("/v1/audit/response-times", get(response_times))
        .route("/v1/audit/overdue", get(overdue))
        .route("/v1/audit/couriers", get(leaderboard))
        .route("/v1/audit/verify", get(verify))
}
