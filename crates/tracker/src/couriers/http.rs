//! What a courier sees: their own reports, where each stands, and points.

use crate::http::{observe, principal, ApiError};
use crate::tickets::rows::CourierReport;
use crate::Store;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::{CourierId, Principal};
use serde::Serialize;

/// How many reports one page holds.
const REPORTS_LIMIT: i64 = 200;

/// The answer of `GET /v1/couriers/me`.
#[derive(Debug, Serialize)]
struct Me {
    courier_id: CourierId,
    name: String,
    points: i64,
    reports: Vec<CourierReport>,
}

/// `GET /v1/couriers/me`.
pub(crate) async fn me(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("courier_me", None, async {
        let Principal::Courier { courier_id, name } = principal(&store, &headers).await? else {
            return Err(ApiError::Forbidden("only couriers have reports"));
        };
        let reports = store.courier_reports(courier_id, REPORTS_LIMIT).await?;
        let points = store.courier_points(courier_id).await?;
        Ok(Me {
            courier_id,
            name,
            points,
            reports,
        })
    })
    .await
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::get;
    axum::Router::new().route("/v1/couriers/me", get(me))
}
