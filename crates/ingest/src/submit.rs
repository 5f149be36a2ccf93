//! `POST /v1/reports`: authenticate, read the form, process the photos,
//! store them, publish, and only then answer `202`.

use crate::courier::{self, CourierDirectory};
use crate::photo::{self, store::PhotoStore, PhotoLimits, ProcessedPhoto};
use crate::{form, publish, Config, Error};
use async_nats::jetstream;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use civicprobe_model::{CourierId, ReportId, ReportSubmitted};
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;
use tracing::field::Empty;

/// What every request handler shares; cheap to clone.
#[derive(Clone)]
pub struct IngestState {
    /// Shared, immutable after start.
    inner: Arc<Inner>,
}

struct Inner {
    /// Limits and the data directory.
    config: Config,
    /// Where reports are published.
    js: jetstream::Context,
    /// Who a bearer token belongs to.
    couriers: Arc<dyn CourierDirectory>,
    /// Where stripped photos are kept.
    store: PhotoStore,
}

impl IngestState {
    /// The state for [`app`].
    pub fn new(
        config: Config,
        js: jetstream::Context,
        couriers: Arc<dyn CourierDirectory>,
    ) -> Self {
        let store = PhotoStore::new(&config.data_dir);
        Self {
            inner: Arc::new(Inner {
                config,
                js,
                couriers,
                store,
            }),
        }
    }

    /// The photo store (for serving photos back, or tests).
    pub fn photo_store(&self) -> &PhotoStore {
        &self.inner.store
    }

    fn photo_limits(&self) -> PhotoLimits {
        PhotoLimits {
            max_bytes: self.inner.config.max_photo_bytes,
            max_pixels: self.inner.config.max_photo_pixels,
        }
    }
}

impl fmt::Debug for IngestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestState")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// The ingest routes: `POST /v1/reports`, with a body limit sized for the
/// photo limit (axum's default of 2 MB would refuse phone photos).
pub fn app(state: IngestState) -> Router {
    let limit = form::body_limit(state.inner.config.max_photo_bytes);
    Router::new()
        .route("/v1/reports", post(submit_report))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The `202` answer.
#[derive(Debug)]
struct Accepted {
    /// The report's id; the same for a retry under the same key.
    report_id: ReportId,
}

impl IntoResponse for Accepted {
    fn into_response(self) -> Response {
        let location = format!("/v1/reports/{}", self.report_id);
        let body = serde_json::json!({ "report_id": self.report_id });
        (
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(body),
        )
            .into_response()
    }
}

#[tracing::instrument(name = "submit_report", skip_all, fields(courier_id = Empty, report_id = Empty))]
async fn submit_report(
    State(state): State<IngestState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let (outcome, response) = match accept(&state, &headers, multipart).await {
        Ok((accepted, duplicate)) => {
            let outcome = if duplicate { "duplicate" } else { "accepted" };
            tracing::info!(outcome, "report accepted");
            (outcome, accepted.into_response())
        }
        Err(e) => (e.outcome(), e.into_response()),
    };
    metrics::counter!("civicprobe_ingest_reports_total", "outcome" => outcome).increment(1);
    response
}

/// The steps of a submission; the `bool` says JetStream already had it.
async fn accept(
    state: &IngestState,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(Accepted, bool), Error> {
    let courier_id = courier::authenticate(state.inner.couriers.as_ref(), headers).await?;
    let key = courier::idempotency_key(headers)?;
    let report_id = ReportId::for_submission(courier_id, &key);
    let span = tracing::Span::current();
    span.record("courier_id", tracing::field::display(courier_id));
    span.record("report_id", tracing::field::display(report_id));

    let form = form::read(
        multipart.map_err(form::rejection)?,
        state.photo_limits().max_bytes,
    )
    .await?;
    let photos = process_photos(form.photos, state.photo_limits()).await?;
    // Every check passed: only now does anything get written.
    for photo in &photos {
        let (sha, bytes) = (photo.photo_ref.sha256.clone(), photo.bytes.clone());
        state.inner.store.put(sha, bytes).await?;
    }
    let report = submitted(report_id, courier_id, form.report, photos);
    let ack = publish::publish_report(&state.inner.js, &report).await?;
    Ok((Accepted { report_id }, ack.duplicate))
}

/// Checks and strips every photo before any is stored.
async fn process_photos(
    raw: Vec<Bytes>,
    limits: PhotoLimits,
) -> Result<Vec<ProcessedPhoto>, Error> {
    let mut processed = Vec::with_capacity(raw.len());
    for bytes in raw {
        processed.push(photo::process(bytes, limits).await?);
    }
    Ok(processed)
}

/// The event for an accepted report, received now.
fn submitted(
    report_id: ReportId,
    courier_id: CourierId,
    fields: crate::report::ReportFields,
    photos: Vec<ProcessedPhoto>,
) -> ReportSubmitted {
    ReportSubmitted {
        report_id,
        courier_id,
        location: fields.location,
        accuracy_m: fields.accuracy_m,
        category_hint: fields.category_hint,
        text: fields.text,
        reported_at: fields.reported_at,
        received_at: OffsetDateTime::now_utc(),
        photos: photos.into_iter().map(|p| p.photo_ref).collect(),
        evidence: civicprobe_model::Evidence::default(),
    }
}
