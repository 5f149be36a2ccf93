//! `/readyz`: whether this process can do its work now, and if not, what
//! is missing: NATS, one of the streams it needs, or the database. 200 when
//! nothing is missing, else a 503 problem whose `missing` lists them. `/healthz` (in [`crate::ops`])
//! stays a liveness check.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use civicprobe_model::PROBLEM_JSON;
use civicprobe_tracker::Store;
use serde::Serialize;
use std::time::Duration;

/// How long one check may take before what it checks counts as missing.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks.
#[derive(Clone, Debug)]
pub struct Readiness {
    /// The service's name, e.g. `up` or `ingest`, echoed in the answer.
    pub service: &'static str,
    /// The NATS client whose connection and streams are checked.
    pub nats: async_nats::Client,
    /// The JetStream streams the service reads or writes (names from the
    /// model crate).
    pub streams: Vec<&'static str>,
    /// The database the service uses, if it uses one.
    pub database: Option<Store>,
}

/// One thing the service needs and does not have.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Missing {
    /// `nats`, `stream` or `database`.
    pub component: &'static str,
    /// The stream's name; absent for NATS and the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    /// Why, in words fit for a public answer (no internals).
    pub reason: &'static str,
}

/// `GET /readyz`.
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

/// 200 `{"service", "status": "ready", "missing": []}`, or a 503 problem
/// (`/problems/not-ready`) whose `missing` lists what is lacking.
async fn readyz(State(readiness): State<Readiness>) -> Response {
    let missing = readiness.missing().await;
    if missing.is_empty() {
        let body = serde_json::json!({
            "service": readiness.service,
            "status": "ready",
            "missing": missing,
        });
        return (StatusCode::OK, Json(body)).into_response();
    }
    tracing::warn!(service = readiness.service, ?missing, "not ready");
    let names: Vec<String> = missing.iter().map(Missing::label).collect();
    let body = serde_json::json!({
        "type": "/problems/not-ready",
        "title": "Service Unavailable",
        "status": 503,
        "detail": format!("not ready: missing {}", names.join(", ")),
        "service": readiness.service,
        "missing": missing,
    });
    let mut answer = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(PROBLEM_JSON),
    );
    answer
}

impl Missing {
    /// `nats`, `database` or `stream TICKETS`.
    fn label(&self) -> String {
        match self.name {
            Some(name) => format!("{} {name}", self.component),
            None => self.component.to_owned(),
        }
    }
}

impl Readiness {
    /// Everything the service needs and lacks now, NATS first.
    pub async fn missing(&self) -> Vec<Missing> {
        let mut missing = Vec::new();
        let connected = matches!(
            self.nats.connection_state(),
            async_nats::connection::State::Connected
        );
        if connected {
            let js = async_nats::jetstream::new(self.nats.clone());
            for &name in &self.streams {
                if let Some(reason) = stream_problem(&js, name).await {
                    missing.push(Missing {
                        component: "stream",
                        name: Some(name),
                        reason,
                    });
                }
            }
        } else {
            missing.push(Missing {
                component: "nats",
                name: None,
                reason: "not connected",
            });
        }
        if let Some(store) = &self.database {
            if !matches!(
                tokio::time::timeout(CHECK_TIMEOUT, store.ping()).await,
                Ok(Ok(()))
            ) {
                missing.push(Missing {
                    component: "database",
                    name: None,
                    reason: "does not answer",
                });
            }
        }
        missing
    }
}

/// Why stream `name` is unusable, or `None` if the server has it.
async fn stream_problem(js: &async_nats::jetstream::Context, name: &str) -> Option<&'static str> {
    use async_nats::jetstream::{context::GetStreamErrorKind, ErrorCode};
    match tokio::time::timeout(CHECK_TIMEOUT, js.get_stream(name)).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => match e.kind() {
            GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND => {
                Some("not found")
            }
            _ => Some("unavailable"),
        },
        Err(_) => Some("unavailable"),
    }
}
