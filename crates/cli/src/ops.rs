//! Operations endpoints every mode serves: `/healthz` (open, liveness) and
//! `/metrics`. On the main listener `/metrics` needs `Authorization: Bearer
//! <CIVICPROBE_METRICS_TOKEN>` (without a configured token it is disabled:
//! 404). With `--ops-listen` it moves to that listener ([`private_router`],
//! [`crate::ops_listener`]), where it is open: that address is meant for a
//! private network a scraper reaches and users do not (a configured token
//! is still asked for there).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use subtle::ConstantTimeEq;

/// The secret a Prometheus scraper presents for `/metrics`; masked in
/// `Debug`, compared in constant time.
#[derive(Clone)]
pub struct MetricsToken(Arc<str>);

impl MetricsToken {
    /// A token; refused when empty or shorter than 16 characters.
    pub fn new(token: &str) -> Result<Self, String> {
        let token = token.trim();
        if token.chars().count() < 16 {
            return Err("the metrics token must be at least 16 characters".into());
        }
        Ok(Self(token.into()))
    }

    /// Whether `presented` is this token (time independent of where they
    /// differ).
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

impl std::str::FromStr for MetricsToken {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::new(s)
    }
}

/// The operations flags of every service.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OpsArgs {
    /// Bearer token a scraper must send for `/metrics`; unset: `/metrics`
    /// is disabled (404).
    #[arg(long, env = "CIVICPROBE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<MetricsToken>,
    /// A second listen address, for a private network: `/metrics` (no
    /// token needed unless one is set), `/healthz` and `/readyz` are served
    /// there, and `/metrics` is then not on the main listener. Unset:
    /// everything on the main listener.
    #[arg(long, env = "CIVICPROBE_OPS_LISTEN")]
    pub ops_listen: Option<std::net::SocketAddr>,
}

/// The process-wide Prometheus recorder, installed on first use (a process
/// can only have one; tests start several stacks in one process).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed, in which case our
        // handle simply renders nothing; the service still works.
        let _ = metrics::set_global_recorder(recorder);
        metrics::gauge!("civicprobe_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

/// Latency buckets (seconds) of every histogram: from a fast HTTP answer
/// (5 ms) to a report that waited out a fault (30 s and more).
pub const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0,
];

/// The exporter: every `histogram!` is rendered as a Prometheus histogram
/// (`_bucket` lines, which add up across instances), not a summary.
fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets(SECONDS_BUCKETS)
        .expect("the buckets are not empty")
}

/// What `/healthz` checks.
#[derive(Clone, Debug)]
pub struct Health {
    /// The service's name, e.g. `up` or `ingest`.
    pub service: &'static str,
    /// The NATS client whose connection is checked.
    pub nats: async_nats::Client,
    /// What `/metrics` requires; `None` disables it.
    pub metrics_token: Option<MetricsToken>,
}

/// `/healthz` (liveness: 200 while the process serves; the body says
/// whether NATS is connected), `/metrics`. Readiness is `/readyz`
/// ([`crate::readiness`]).
pub fn router(health: Health) -> Router {
    prometheus();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(health)
}

/// `/healthz` alone: the main listener's, when `/metrics` is on the ops
/// listener.
pub fn liveness_router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(health)
}

/// The ops listener's `/healthz` and `/metrics`; `/metrics` without a
/// token, unless one is configured.
pub fn private_router(health: Health) -> Router {
    prometheus();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(private_metrics_text))
        .with_state(health)
}

async fn healthz(State(health): State<Health>) -> impl IntoResponse {
    let connected = matches!(
        health.nats.connection_state(),
        async_nats::connection::State::Connected
    );
    let body = serde_json::json!({
        "service": health.service,
        "status": "alive",
        "nats": if connected { "connected" } else { "disconnected" },
    });
    (StatusCode::OK, Json(body))
}

async fn metrics_text(State(health): State<Health>, headers: HeaderMap) -> Response {
    let Some(token) = &health.metrics_token else {
        return crate::answers::problem(StatusCode::NOT_FOUND, "not-found", "no such resource");
    };
    metrics_if_allowed(Some(token), &headers)
}

async fn private_metrics_text(State(health): State<Health>, headers: HeaderMap) -> Response {
    metrics_if_allowed(health.metrics_token.as_ref(), &headers)
}

/// The metrics, if `token` is `None` or presented; else a 401 problem.
fn metrics_if_allowed(token: Option<&MetricsToken>, headers: &HeaderMap) -> Response {
    let Some(token) = token else {
        return metrics_answer();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(civicprobe_model::bearer_token);
    if !presented.is_some_and(|p| token.matches(p)) {
        let mut refused = crate::answers::problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <the metrics token>",
        );
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return refused;
    }
    metrics_answer()
}

/// The Prometheus text.
fn metrics_answer() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_masked_and_compared_whole() {
        let token = MetricsToken::new("s3cret-scrape-token-1").unwrap();
        assert_eq!(format!("{token:?}"), "MetricsToken(***)");
        assert!(token.matches("s3cret-scrape-token-1"));
        assert!(!token.matches("s3cret-scrape-token-"));
        assert!(!token.matches("s3cret-scrape-token-12"));
        assert!(MetricsToken::new("short").is_err());
    }
}
