//! Operations endpoints every mode serves: `/healthz` and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// The process-wide Prometheus recorder, installed on first use (a process
/// can only have one; tests start several stacks in one process).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed, in which case our
        // handle simply renders nothing; the service still works.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// What `/healthz` checks.
#[derive(Clone, Debug)]
pub struct Health {
    /// The service's name, e.g. `up` or `ingest`.
    pub service: &'static str,
    /// The NATS client whose connection is checked.
    pub nats: async_nats::Client,
}

/// `/healthz` (200 when NATS is connected, else 503) and `/metrics`.
pub fn router(health: Health) -> Router {
    prometheus();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(health)
}

async fn healthz(State(health): State<Health>) -> impl IntoResponse {
    let connected = matches!(
        health.nats.connection_state(),
        async_nats::connection::State::Connected
    );
    let status = if connected {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "service": health.service,
        "status": if connected { "ok" } else { "degraded" },
        "nats": if connected { "connected" } else { "disconnected" },
    });
    (status, Json(body))
}

async fn metrics_text() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
}
