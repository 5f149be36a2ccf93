//! Supervisor views: unrouted reports and the response-time audit.

use super::{observe, principal, ApiError};
use crate::audit::{response_times as figures, GroupBy};
use crate::Store;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::Principal;
use serde::Deserialize;

/// How many unrouted reports one page holds.
const UNROUTED_LIMIT: i64 = 500;

/// Fails with 403 unless `who` is a supervisor.
fn supervisor_only(who: &Principal) -> Result<(), ApiError> {
    match who {
        Principal::Supervisor { .. } => Ok(()),
        _ => Err(ApiError::Forbidden("only supervisors may see this")),
    }
}

/// `GET /v1/unrouted`: reports in no office's area, newest first.
pub(super) async fn unrouted(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("unrouted", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        Ok(store.unrouted(UNROUTED_LIMIT).await?)
    })
    .await
}

/// `?group_by=office|category`.
#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    /// `office` (the default) or `category`.
    group_by: Option<String>,
}

/// `GET /v1/audit/response-times`.
pub(super) async fn response_times(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    observe("response_times", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let Query(query) = query.map_err(|e| ApiError::field("query", e.body_text()))?;
        let group_by: GroupBy = query
            .group_by
            .as_deref()
            .unwrap_or("office")
            .parse()
            .map_err(|e: String| ApiError::field("group_by", e))?;
        let samples = store.response_samples(group_by).await?;
        Ok(figures(group_by, &samples))
    })
    .await
}
