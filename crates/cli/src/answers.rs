//! Every error answer in one shape, whatever produced it.
//!
//! Handlers answer their own errors as `application/problem+json` (and
//! Open311 as the GeoReport v2 error document). What they do not control
//! answers otherwise: axum's extractor rejections (`text/plain`, echoing
//! the input), unknown routes (an empty 404), wrong methods (an empty
//! 405), timeouts, and panics. [`harden`] closes those gaps around a whole
//! app:
//!
//! - a fallback: an unknown route is a 404 problem (or Open311 error);
//! - a response mapping: any 4xx or 5xx that is not already a problem (or,
//!   under `/open311/`, an Open311 document) is replaced by a generic one
//!   of the same status; the original body, which may echo the request,
//!   is dropped;
//! - a panic layer: a panic is a 500 problem; its message goes to the log
//!   only.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use civicprobe_model::{Problem, PROBLEM_JSON};
use civicprobe_open311::format::{self, Format};
use civicprobe_open311::wire::ErrorItem;
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// `app` with a problem fallback, error answers mapped to problems, and
/// panics caught. Apply it last, around the merged app.
pub fn harden(app: Router) -> Router {
    // The mapping is outside the panic layer, so that a panic under
    // `/open311/` is answered as an Open311 error too.
    app.fallback(unknown_route)
        .layer(CatchPanicLayer::custom(panic_answer))
        .layer(axum::middleware::from_fn(answer_errors))
}

/// The fallback: no route has this path.
async fn unknown_route(request: Request) -> Response {
    generic_error(request.uri().path(), StatusCode::NOT_FOUND)
}

/// Replaces an error answer that is not in the agreed shape (also used by
/// [`crate::serve`] around its request timeout, whose 408 has no body).
pub async fn answer_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || in_shape(&path, &response) {
        return response;
    }
    tracing::debug!(%status, "an error answer was replaced by a problem");
    let (mut parts, _dropped) = response.into_parts();
    let replacement = generic_error(&path, status);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    let (new_parts, body) = replacement.into_parts();
    if let Some(kind) = new_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, kind.clone());
    }
    Response::from_parts(parts, body)
}

/// Whether `response` is an Open311 document on an Open311 path, or a
/// problem elsewhere.
fn in_shape(path: &str, response: &Response) -> bool {
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let problem = kind.starts_with(PROBLEM_JSON);
    if !is_open311(path) {
        return problem;
    }
    // Under `/open311/` a 4xx problem comes from the shared layers in front
    // of Open311 (a cookie's CSRF refusal) and keeps its type; a 5xx (a
    // panic) is answered as the spec's document.
    if problem && response.status().is_client_error() {
        return true;
    }
    let xml = Format::Xml.content_type().split(';').next();
    kind.starts_with(xml.unwrap_or_default()) || kind.starts_with(Format::Json.content_type())
}

fn is_open311(path: &str) -> bool {
    path.starts_with(civicprobe_open311::BASE_PATH) || path.starts_with("/open311/")
}

/// A generic error of `status` for `path`: the Open311 error document in
/// the path's format under `/open311/`, else a problem.
pub fn generic_error(path: &str, status: StatusCode) -> Response {
    let (slug, detail) = explain(status);
    if is_open311(path) {
        let format = if path.ends_with(".xml") {
            Format::Xml
        } else {
            Format::Json
        };
        let items = [ErrorItem {
            code: status.as_u16(),
            description: detail.to_owned(),
        }];
        let mut answer = format::list(format, status, "errors", "error", &items);
        if answer.status() != status {
            // Rendering failed; the problem below is still an answer.
            answer = problem(status, slug, detail);
        }
        return answer;
    }
    problem(status, slug, detail)
}

/// A problem+json answer.
pub fn problem(status: StatusCode, slug: &str, detail: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = Problem::new(status.as_u16(), slug, title).detail(detail);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The stable `type` slug and a human explanation of a generic `status`;
/// neither says anything about the request's content.
fn explain(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => (
            "malformed-request",
            "the path, query string or body could not be read as this endpoint expects",
        ),
        StatusCode::UNAUTHORIZED => ("unauthorized", "authentication is required"),
        StatusCode::FORBIDDEN => ("forbidden", "not allowed"),
        StatusCode::NOT_FOUND => ("not-found", "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "this resource does not answer that method; see the Allow header",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "the body's Content-Type is not one this endpoint reads",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            "invalid-body",
            "the body does not have the fields and types this endpoint expects",
        ),
        StatusCode::TOO_MANY_REQUESTS => ("rate-limited", "too many requests; retry later"),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "service unavailable; retry later"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("client-error", "the request was refused"),
    }
}

/// A panic's answer: 500, the cause logged (under `/open311/` the
/// mapping makes it an Open311 error).
fn panic_answer(cause: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %message, "a request handler panicked");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

/// A clap value parser for names given to admin commands: refuses
/// control characters (see [`civicprobe_model::text`]).
pub fn plain_name(raw: &str) -> Result<String, String> {
    civicprobe_model::text::check(raw)
        .map(|()| raw.to_owned())
        .map_err(|e| format!("the name {e}"))
}

#[cfg(test)]
mod tests;
