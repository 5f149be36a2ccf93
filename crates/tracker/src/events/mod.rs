//! `GET /v1/events`: the live event stream (`text/event-stream`), so that
//! street offices, supervisors and couriers learn of a step the moment
//! it happens instead of polling.
//!
//! It is fed from the `TICKETS` stream, never from the database: one
//! [`Hub`] per process reads `TICKETS` with a single ordered consumer from
//! the stream's end and hands each message to every connection through a
//! `tokio::sync::broadcast`. Each connection keeps what its holder may see
//! (an office its own tickets and the ones rerouted away from it, a
//! supervisor everything, a courier the steps of their own reports) and
//! writes it in the wire format of [`wire`].
//!
//! # Resuming
//!
//! Every event's `id:` is its `TICKETS` stream sequence. A client that
//! reconnects with `Last-Event-ID` (or `?last_event_id=`) gets what it
//! missed, replayed from the stream, then the live feed, without a gap or
//! a duplicate. Resume works for events younger than
//! `--events-replay-hours` (24 by default) and at most
//! [`MAX_REPLAY`] events back; anything else is an `event: reset` (the
//! client refetches its state) and the stream continues live.
//!
//! # Bounds
//!
//! A connection buffers at most the broadcast's [`FEED_CAPACITY`] events
//! (`EventsConfig::feed_capacity`).
//! One that falls further behind (a slow client) is not buffered for: it
//! catches up from the stream, as a resume does, or gets a reset when it
//! is more than [`MAX_REPLAY`] behind. At most `--max-event-streams`
//! streams are open at once (a `503` problem beyond). A heartbeat comment
//! goes out every `--events-heartbeat-secs`. On shutdown every stream ends.
//!
//! # Layout
//!
//! - [`EventsConfig`]: the settings; [`router`]: the route.
//! - [`hub`]: [`Hub`] and its task [`Hub::run`].
//! - [`wire`]: decoding `TICKETS` messages and what each holder is sent.
//! - [`connection`]: one client's stream: ready, replay, live, catch-up.

pub mod connection;
pub mod hub;
pub mod wire;

pub use hub::Hub;

use crate::http::{principal, ApiError};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use civicprobe_model::{Problem, PROBLEM_JSON};
use serde::Deserialize;
use std::time::Duration;

/// The most events a resume (or a catch-up) replays from the stream.
pub const MAX_REPLAY: u64 = 10_000;

/// How many events the broadcast keeps for a connection that is behind.
pub const FEED_CAPACITY: usize = 1024;

/// The live stream's settings, flattened into the CLI.
#[derive(clap::Args, Clone, Debug, PartialEq)]
#[group(id = "events_config")]
pub struct EventsConfig {
    /// Hours back a client may resume with `Last-Event-ID`; older is a
    /// reset (refetch).
    #[arg(long, env = "CIVICPROBE_EVENTS_REPLAY_HOURS", default_value_t = 24)]
    pub events_replay_hours: u32,
    /// Event streams open at once at most; more are answered `503`.
    #[arg(long, env = "CIVICPROBE_MAX_EVENT_STREAMS", default_value_t = 1000)]
    pub max_event_streams: usize,
    /// Seconds between two heartbeat comments on an idle stream.
    #[arg(long, env = "CIVICPROBE_EVENTS_HEARTBEAT_SECS", default_value_t = 15)]
    pub events_heartbeat_secs: u64,
    /// Events the broadcast keeps for a connection that is behind (tests
    /// shrink it to make one lag).
    #[arg(skip = FEED_CAPACITY)]
    pub feed_capacity: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            events_replay_hours: 24,
            max_event_streams: 1000,
            events_heartbeat_secs: 15,
            feed_capacity: FEED_CAPACITY,
        }
    }
}

impl EventsConfig {
    /// How far back a resume may reach.
    pub fn replay_window(&self) -> time::Duration {
        time::Duration::hours(i64::from(self.events_replay_hours))
    }

    /// The heartbeat period (at least a second).
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.events_heartbeat_secs.max(1))
    }
}

/// `GET /v1/events`, served from `hub`.
pub fn router(hub: Hub) -> Router {
    Router::new()
        .route("/v1/events", get(events))
        .with_state(hub)
}

/// The query a client that cannot set headers resumes with.
#[derive(Debug, Deserialize)]
struct ResumeQuery {
    /// As the `Last-Event-ID` header.
    last_event_id: Option<String>,
}

async fn events(
    State(hub): State<Hub>,
    headers: HeaderMap,
    Query(query): Query<ResumeQuery>,
) -> Response {
    match open(hub, &headers, query).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn open(hub: Hub, headers: &HeaderMap, query: ResumeQuery) -> Result<Response, ApiError> {
    let who = principal(hub.store(), headers).await?;
    let resume_from = last_event_id(headers, query)?;
    let heartbeat = hub.config().heartbeat();
    let Some(connection) = hub.open(who, resume_from).await? else {
        metrics::counter!("civicprobe_tracker_event_streams_refused_total").increment(1);
        return Ok(too_many_streams());
    };
    let sse = Sse::new(connection.into_stream())
        .keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"));
    let mut response = sse.into_response();
    // Proxies (nginx) must pass each event on at once.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The sequence to resume after: the `Last-Event-ID` header, else the
/// `last_event_id` query parameter; empty is none.
fn last_event_id(headers: &HeaderMap, query: ResumeQuery) -> Result<Option<u64>, ApiError> {
    let raw = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::field("Last-Event-ID", "must be a stream sequence number"))?
                .to_owned(),
        ),
        None => query.last_event_id,
    };
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse::<u64>().map(Some).map_err(|_| {
            ApiError::field(
                "Last-Event-ID",
                format!("{text:?} is not a stream sequence number (the id: of an event)"),
            )
        }),
    }
}

/// `503` problem: the stream cap is reached.
fn too_many_streams() -> Response {
    let problem = Problem::new(503, "too-many-streams", "Too many event streams")
        .detail("the tracker serves as many event streams as it may; retry shortly");
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, PROBLEM_JSON),
            (header::RETRY_AFTER, "5"),
        ],
        body,
    )
        .into_response()
}
