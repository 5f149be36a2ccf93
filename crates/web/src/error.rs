//! The crate's one error type, and how it answers over HTTP.

use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use civicprobe_model::{Problem, PROBLEM_JSON};
use std::path::PathBuf;

/// Everything the web layer can fail with. Store and file causes are
/// logged, never shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The jurisdictions file could not be read at start.
    #[error("reading the jurisdictions file {path}: {source}")]
    Jurisdictions {
        /// The configured file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The jurisdictions file is not JSON.
    #[error("the jurisdictions file {path} is not JSON: {source}")]
    JurisdictionsJson {
        /// The configured file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The jurisdictions file's top-level `datum` is none of the three.
    #[error("the jurisdictions file {path}: its datum must be one of wgs84, gcj02, bd09")]
    JurisdictionsDatum {
        /// The configured file.
        path: PathBuf,
    },
    /// A cookie-authenticated unsafe request failed the CSRF checks. `403`.
    #[error("cross-site request refused: {0}")]
    CrossSite(&'static str),
    /// The token given at sign-in was never issued. `401`.
    #[error("the token is not valid")]
    BadToken,
    /// No session cookie and no bearer token. `401`.
    #[error("not signed in")]
    NotSignedIn,
    /// The sign-in body is not `{"token": "…"}` JSON. `400`.
    #[error("sign-in body: {0}")]
    BadBody(String),
    /// The token store failed. `500`.
    #[error("token store: {0}")]
    Store(#[from] civicprobe_tracker::Error),
}

impl Error {
    /// The problem+json body and status of this error.
    fn problem(&self) -> Problem {
        match self {
            Error::CrossSite(why) => Problem::new(403, "cross-site-request", "Cross-site request")
                .detail(*why)
                .field(crate::auth::CSRF_HEADER),
            Error::BadToken => Problem::new(401, "unauthorized", "Unauthorized")
                .detail("this token is not valid")
                .field("token"),
            Error::NotSignedIn => {
                Problem::new(401, "unauthorized", "Unauthorized").detail("sign in first")
            }
            Error::BadBody(why) => Problem::new(400, "invalid-field", "Invalid field")
                .detail(why.clone())
                .field("token"),
            Error::Jurisdictions { .. }
            | Error::JurisdictionsJson { .. }
            | Error::JurisdictionsDatum { .. }
            | Error::Store(_) => Problem::new(500, "internal", "Internal error"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(error = %self, "web request failed");
        }
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, [(CONTENT_TYPE, PROBLEM_JSON)], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
