//! `civicprobe_http_request_duration_seconds{service,route,method,status}`:
//! how long every HTTP answer took, by the service answering (`ingest`,
//! `router`, `tracker`, `up`: several kinds of instance behind one proxy
//! share route templates, and a dashboard must tell them apart), the
//! matched route template (`/v1/tickets/{id}`, never the raw path, so ids
//! do not explode the label set), method and status. [`crate::serve`]
//! applies it to every app it serves.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::OnceLock;
use std::time::Instant;

/// The histogram's name.
pub const HTTP_SECONDS: &str = "civicprobe_http_request_duration_seconds";

/// The `route` label of a request no route matched (a 404, a probe).
const UNMATCHED: &str = "unmatched";

/// The `service` label: which service this process runs. Set once at
/// start ([`set_service`]); process-wide like the Prometheus recorder
/// itself, since a process runs one service (`up` runs all three as one).
static SERVICE: OnceLock<&'static str> = OnceLock::new();

/// Names the service this process runs, for the `service` label; the
/// first call wins (tests start several stacks, all `up`, in one process).
pub fn set_service(service: &'static str) {
    let _ = SERVICE.set(service);
}

/// The `service` label's value (`unknown` before [`set_service`]).
pub fn service() -> &'static str {
    SERVICE.get().copied().unwrap_or("unknown")
}

/// Times the request and records it under its route template.
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_SECONDS, "service" => service(), "route" => route, "method" => method, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}
