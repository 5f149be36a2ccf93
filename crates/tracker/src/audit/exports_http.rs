//! Supervisors' KPIs (`GET /v1/audit/kpis`, JSON or CSV) and the ticket
//! export (`GET /v1/audit/export`, CSV or GeoJSON, streamed).

use crate::audit::export::{ExportFormat, ExportRange};
use crate::audit::kpi_render;
use crate::audit::supervision_http::AuditQuery;
use crate::http::input::redacted;
use crate::http::supervisor_only;
use crate::http::{observe_response, principal, ApiError};
use crate::Store;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use civicprobe_model::OfficeId;
use serde::Deserialize;

/// `GET /v1/audit/kpis`.
pub(crate) async fn kpis(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    observe_response("kpis", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let (dims, csv) = AuditQuery::parse(query)?;
        let report = store.kpis(&dims).await?;
        Ok(if csv {
            let body = kpi_render::csv(&report);
            ([(CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
        } else {
            Json(report).into_response()
        })
    })
    .await
}

/// `?format=csv|geojson&from=YYYY-MM-DD&to=YYYY-MM-DD&office=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    /// `csv` (the default) or `geojson`.
    format: Option<String>,
    /// First day of receipt (UTC).
    from: Option<String>,
    /// Last day of receipt (UTC), included.
    to: Option<String>,
    /// Only this office's tickets.
    office: Option<String>,
}

/// Checks an export request; the error names the field.
fn export_request(query: ExportQuery) -> Result<(ExportRange, ExportFormat), ApiError> {
    let format = ExportFormat::parse(query.format.as_deref().unwrap_or("csv"))
        .map_err(|e| ApiError::field("format", e))?;
    let from = query
        .from
        .ok_or_else(|| ApiError::field("from", "from is required, YYYY-MM-DD"))?;
    let to = query
        .to
        .ok_or_else(|| ApiError::field("to", "to is required, YYYY-MM-DD"))?;
    let office = query
        .office
        .map(|o| {
            OfficeId::parse(&o)
                .map(|o| o.to_string())
                .map_err(|e| ApiError::field("office", redacted(&e)))
        })
        .transpose()?;
    let range = ExportRange::parse(&from, &to, office)
        .map_err(|(field, why)| ApiError::field(field, why))?;
    Ok((range, format))
}

/// `GET /v1/audit/export`: the tickets received in the range, streamed.
pub(crate) async fn export(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    observe_response("export", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let Query(query) = query.map_err(|e| ApiError::field("query", redacted(&e.body_text())))?;
        let (range, format) = export_request(query)?;
        let name = match format {
            ExportFormat::Csv => "tickets.csv",
            ExportFormat::GeoJson => "tickets.geojson",
        };
        let body = Body::from_stream(store.export_tickets(range, format));
        let disposition = format!("attachment; filename=\"{name}\"");
        Ok((
            [
                (CONTENT_TYPE, format.content_type().to_owned()),
                (CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response())
    })
    .await
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::get;
    axum::Router::new()
        .route("/v1/audit/kpis", get(kpis))
        .route("/v1/audit/export", get(export))
}
