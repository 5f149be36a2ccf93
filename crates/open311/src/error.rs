//! The crate's one error, answered as the specification's error array
//! (`[{code, description}]` / `<errors><error>…`) in the request's format.

use crate::format::{self, Format};
use crate::wire::ErrorItem;
use axum::http::StatusCode;
use axum::response::Response;

/// Everything an Open311 request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is missing or invalid. `400`.
    #[error("{0}")]
    BadRequest(String),
    /// `api_key` is missing or names no courier. `403`.
    #[error("api_key is missing or invalid")]
    Forbidden,
    /// No such endpoint, service or request. `404`.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is recorded (an `update_id` reused
    /// for another update, a request no office takes notes on). `409`.
    #[error("{0}")]
    Conflict(String),
    /// Refused by the intake pipeline (its status is kept).
    #[error(transparent)]
    Ingest(#[from] civicprobe_ingest::Error),
    /// The tracker's store failed. `500`, cause logged, never shown.
    #[error(transparent)]
    Store(#[from] civicprobe_tracker::Error),
    /// Rendering a document failed. `500`.
    #[error("rendering: {0}")]
    Render(String),
    /// The places file (gazetteer) is unreadable or invalid; refused at
    /// start, never at request time.
    #[error("places: {0}")]
    Places(String),
}

impl Error {
    /// A `400` with `description`.
    pub fn bad(description: impl Into<String>) -> Self {
        Error::BadRequest(description.into())
    }

    /// A `404` with `description`.
    pub fn not_found(description: impl Into<String>) -> Self {
        Error::NotFound(description.into())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Ingest(e) => e.status(),
            Error::Store(civicprobe_tracker::Error::ReportNotFound(_)) => StatusCode::NOT_FOUND,
            Error::Store(civicprobe_tracker::Error::IdempotencyKeyReused) => StatusCode::CONFLICT,
            Error::Store(_) | Error::Render(_) | Error::Places(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// What the client is told: 5xx never carry the cause.
    pub fn description(&self) -> String {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "open311 request failed");
            return match status {
                StatusCode::SERVICE_UNAVAILABLE => "service unavailable, retry later".into(),
                _ => "internal error".into(),
            };
        }
        match self {
            Error::Ingest(e) => {
                let p = e.problem();
                match (p.field, p.detail) {
                    (Some(f), Some(d)) => format!("{f}: {d}"),
                    (_, Some(d)) => d,
                    _ => p.title,
                }
            }
            Error::Store(civicprobe_tracker::Error::ReportNotFound(_)) => {
                "no such service request".into()
            }
            Error::Store(civicprobe_tracker::Error::IdempotencyKeyReused) => {
                "update_id was used for another update".into()
            }
            other => other.to_string(),
        }
    }

    /// The error array in `format`.
    pub fn respond(self, format: Format) -> Response {
        let status = self.status();
        let items = [ErrorItem {
            code: status.as_u16(),
            description: self.description(),
        }];
        metrics::counter!("civicprobe_open311_errors_total", "status" => status.as_str().to_owned())
            .increment(1);
        format::list(format, status, "errors", "error", &items)
    }
}
