//! The crate's one error type, answered as `application/problem+json`.

use crate::BoxError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use civicprobe_model::{Problem, PROBLEM_JSON};

/// Everything that can go wrong while taking in a report. Each variant maps
/// to one HTTP status and one stable problem `type`; 5xx answers never carry
/// the internal cause (it is logged instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No bearer token, or one that names no courier. `401`.
    #[error("a courier's bearer token is required")]
    Unauthorized,
    /// A field or part of the request is missing or invalid. `400`.
    #[error("{field}: {detail}")]
    InvalidField {
        /// The field at fault as named on the wire (`lat`, `photo`, …).
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The photo is not JPEG, PNG or WebP (judged by its bytes). `415`.
    #[error("{field}: {detail}")]
    UnsupportedMediaType {
        /// The part at fault.
        field: String,
        /// What was found.
        detail: String,
    },
    /// A part, the body or the image dimensions exceed a limit. `413`.
    #[error("{field}: {detail}")]
    PayloadTooLarge {
        /// The part at fault.
        field: String,
        /// Which limit was exceeded.
        detail: String,
    },
    /// The photo claims a known format but is truncated or corrupt. `422`.
    #[error("{field}: {detail}")]
    InvalidPhoto {
        /// The part at fault.
        field: String,
        /// Why it cannot be decoded.
        detail: String,
    },
    /// A HEIC/HEIF (or AVIF) photo: no maintained pure-Rust decoder exists,
    /// so the app must send JPEG. `415`.
    #[error("{field}: HEIC/HEIF is not accepted")]
    HeifUnsupported {
        /// The part at fault.
        field: String,
    },
    /// The photo carries a second file (ZIP, PDF, HTML, …) after its
    /// end. `422`.
    #[error("{field}: {detail}")]
    Polyglot {
        /// The part at fault.
        field: String,
        /// What was found.
        detail: String,
    },
    /// The `Idempotency-Key` was used before with a different body. `409`.
    #[error("the Idempotency-Key was used for a different request")]
    IdempotencyConflict,
    /// The courier sent too many reports too fast. `429`.
    #[error("rate limited for {retry_after_s} s")]
    RateLimited {
        /// Seconds until a token is available (`Retry-After`).
        retry_after_s: u64,
    },
    /// The client already has its cap of uploads in flight. `429`.
    #[error("at most {max} uploads in flight per client")]
    TooManyUploads {
        /// The cap.
        max: usize,
    },
    /// No such report or photo (or not one the caller may see). `404`.
    #[error("not found")]
    NotFound,
    /// Too many uploads in flight; the request waited too long. `503`.
    #[error("too many uploads in flight")]
    Busy,
    /// A service ingest depends on (NATS, the token store) failed. `503`.
    #[error("{what} is unavailable")]
    Unavailable {
        /// Which dependency, for the log.
        what: &'static str,
        /// The cause, logged, never sent to the client.
        #[source]
        source: BoxError,
    },
    /// A local failure (the photo store, a panicked worker). `500`.
    #[error("internal error while {what}")]
    Internal {
        /// What ingest was doing, for the log.
        what: &'static str,
        /// The cause, logged, never sent to the client.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A `400` naming `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::InvalidField {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// A `413` naming `field`.
    pub fn too_large(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::PayloadTooLarge {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// A `422` for a photo that does not decode.
    pub fn invalid_photo(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::InvalidPhoto {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// A `500` while doing `what`; the cause is logged only.
    pub fn internal(what: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Internal {
            what,
            source: source.into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::InvalidField { .. } => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::InvalidPhoto { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::HeifUnsupported { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Polyglot { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::IdempotencyConflict => StatusCode::CONFLICT,
            Error::RateLimited { .. } | Error::TooManyUploads { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Unavailable { .. } | Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `outcome` label of `civicprobe_ingest_reports_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::InvalidField { .. } => "invalid",
            Error::UnsupportedMediaType { .. } => "unsupported_media_type",
            Error::PayloadTooLarge { .. } => "too_large",
            Error::InvalidPhoto { .. } => "invalid_photo",
            Error::HeifUnsupported { .. } => "heif_unsupported",
            Error::Polyglot { .. } => "polyglot",
            Error::IdempotencyConflict => "idempotency_conflict",
            Error::RateLimited { .. } => "rate_limited",
            Error::TooManyUploads { .. } => "too_many_uploads",
            Error::NotFound => "not_found",
            Error::Busy => "busy",
            Error::Unavailable { .. } => "unavailable",
            Error::Internal { .. } => "internal",
        }
    }

    /// The problem body: stable `type`, the field at fault, and for 4xx a
    /// human `detail`.
    pub fn problem(&self) -> Problem {
        let status = self.status().as_u16();
        match self {
            Error::Unauthorized => Problem::new(status, "unauthorized", "Unauthorized")
                .detail("send Authorization: Bearer <courier token>"),
            Error::InvalidField { field, detail } => {
                Problem::new(status, "invalid-field", "Invalid field")
                    .detail(detail.clone())
                    .field(field.clone())
            }
            Error::UnsupportedMediaType { field, detail } => {
                Problem::new(status, "unsupported-media-type", "Unsupported media type")
                    .detail(detail.clone())
                    .field(field.clone())
            }
            Error::PayloadTooLarge { field, detail } => {
                Problem::new(status, "payload-too-large", "Payload too large")
                    .detail(detail.clone())
                    .field(field.clone())
            }
            Error::InvalidPhoto { field, detail } => {
                Problem::new(status, "invalid-photo", "Photo cannot be decoded")
                    .detail(detail.clone())
                    .field(field.clone())
            }
            Error::HeifUnsupported { field } => {
                Problem::new(status, "heif-unsupported", "HEIC/HEIF not accepted")
                    .detail("HEIC/HEIF photos are not accepted: send JPEG (or PNG, WebP)")
                    .field(field.clone())
            }
            Error::Polyglot { field, detail } => {
                Problem::new(status, "polyglot", "Photo carries another file")
                    .detail(detail.clone())
                    .field(field.clone())
            }
            Error::IdempotencyConflict => {
                Problem::new(status, "idempotency-conflict", "Idempotency-Key reused")
                    .detail("this Idempotency-Key was used for a different report; use a new key")
                    .field(crate::courier::IDEMPOTENCY_KEY)
            }
            Error::RateLimited { retry_after_s } => {
                Problem::new(status, "rate-limited", "Too many reports")
                    .detail(format!("retry after {retry_after_s} s"))
            }
            Error::TooManyUploads { max } => {
                Problem::new(status, "too-many-uploads", "Too many uploads in flight").detail(
                    format!("at most {max} uploads at once per client; retry when one is answered"),
                )
            }
            Error::NotFound => Problem::new(status, "not-found", "Not found"),
            Error::Busy => Problem::new(status, "busy", "Too many uploads in flight")
                .detail("retry later with the same Idempotency-Key"),
            Error::Unavailable { .. } => Problem::new(status, "unavailable", "Service unavailable")
                .detail("the report was not accepted; retry later with the same Idempotency-Key"),
            Error::Internal { .. } => Problem::new(status, "internal", "Internal error")
                .detail("the report was not accepted; retry later with the same Idempotency-Key"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, cause = ?std::error::Error::source(&self), "report refused");
        } else {
            tracing::info!(error = %self, "report refused");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Error::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::RateLimited { retry_after_s } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            Error::Busy | Error::Unavailable { .. } | Error::TooManyUploads { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}
