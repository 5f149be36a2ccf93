//! Alert channels and deliveries: `GET /v1/alerts/channels` (supervisors
//! all, an office its own; secrets and URL keys masked) and
//! `GET /v1/alerts/deliveries?state=pending|failing|delivered|failed`
//! (supervisors: a delivery that keeps failing is never silent).

use crate::alerts::DeliveryState;
use crate::http::supervisor_only;
use crate::http::{observe, principal, ApiError};
use crate::Store;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::Principal;
use serde::Deserialize;

/// Deliveries one page holds.
const DELIVERIES_LIMIT: i64 = 200;

/// `?state=`.
#[derive(Debug, Deserialize)]
pub(crate) struct DeliveriesQuery {
    /// pending, failing, delivered or failed; all when absent.
    state: Option<String>,
}

/// `GET /v1/alerts/channels`.
pub(crate) async fn channels(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("alert_channels", None, async {
        let office = match principal(&store, &headers).await? {
            Principal::Supervisor { .. } => None,
            Principal::Office { office_id, .. } => Some(office_id),
            Principal::Courier { .. } => {
                return Err(ApiError::Forbidden("couriers have no alert channels"))
            }
        };
        let channels = store.alert_channels(office.as_ref()).await?;
        Ok(serde_json::json!({ "channels": channels }))
    })
    .await
}

/// `GET /v1/alerts/deliveries`: newest first.
pub(crate) async fn deliveries(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Response {
    observe("alert_deliveries", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let Query(query) = query
            .map_err(|e| ApiError::field("query", crate::http::input::redacted(&e.body_text())))?;
        let state = match query.state.as_deref() {
            None | Some("") => None,
            Some(s) => Some(s.parse::<DeliveryState>().map_err(|()| {
                ApiError::field(
                    "state",
                    "state must be pending, failing, delivered or failed",
                )
            })?),
        };
        let list = store
            .alert_deliveries(state, None, DELIVERIES_LIMIT)
            .await?;
        let (failing, failed) = store.failing_delivery_counts().await?;
        Ok(serde_json::json!({ "failing": failing, "failed": failed, "deliveries": list }))
    })
    .await
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::get;
    axum::Router::new()
        .route("/v1/alerts/channels", get(channels))
        .route("/v1/alerts/deliveries", get(deliveries))
}
