//! `POST /v1/reports`: authenticate, rate-limit, take an upload slot, read
//! the form (its bytes metered against the upload budget as they arrive), answer a retry from the local store, process the photos, raise
//! evidence flags, store the photos, commit the report to the outbox, and
//! only then answer `202`.

use crate::evidence::{self, PhotoFacts};
use crate::photo::{self, ProcessedPhoto};
use crate::{access, courier, form, Error, IngestState};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use civicprobe_model::{CourierId, Evidence, ReportId, ReportSubmitted, Sha256};
use time::OffsetDateTime;
use tracing::field::Empty;

/// Every ingest route: [`intake_app`] and [`photo_app`] (what `up`
/// serves).
pub fn app(state: IngestState) -> Router {
    intake_app(state.clone()).merge(photo_app(state))
}

/// What `civicprobe ingest` serves, the uploads: `POST /v1/reports` (body
/// limit sized for [`form::MAX_PHOTOS`] photos at the photo limit), `POST
/// /v1/tickets/{id}/proof-photos` and `POST
/// /v1/tickets/{id}/verification-photos`.
pub fn intake_app(state: IngestState) -> Router {
    let limit = form::body_limit(state.inner.config.max_photo_bytes);
    Router::new()
        .route(
            "/v1/reports",
            post(submit_report).layer(DefaultBodyLimit::max(limit)),
        )
        .route(
            "/v1/tickets/{id}/proof-photos",
            post(crate::proof::upload).layer(DefaultBodyLimit::max(limit)),
        )
        .route(
            "/v1/tickets/{id}/verification-photos",
            post(crate::verification_photo::upload).layer(DefaultBodyLimit::max(limit)),
        )
        .with_state(state)
}

/// The photo reads, which need to know tickets (scope): `GET
/// /v1/reports/{id}/photos/{n}` and `GET
/// /v1/tickets/{id}/proof-photos/{sha256}`. The tracker process mounts
/// them over the shared photo store, with the store-backed access.
pub fn photo_app(state: IngestState) -> Router {
    Router::new()
        .route("/v1/reports/{id}/photos/{n}", get(access::get_photo))
        .route(
            "/v1/tickets/{id}/proof-photos/{sha256}",
            get(crate::proof::get),
        )
        .with_state(state)
}

/// The `202` answer; a retry gets the same one.
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
async fn submit_report(State(state): State<IngestState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (outcome, response) = match accept(&state, request).await {
        Ok((accepted, replay)) => {
            let outcome = if replay { "duplicate" } else { "accepted" };
            tracing::info!(outcome, "report accepted");
            (outcome, accepted.into_response())
        }
        Err(e) => (e.outcome(), e.into_response()),
    };
    metrics::counter!("civicprobe_ingest_reports_total", "outcome" => outcome).increment(1);
    metrics::histogram!("civicprobe_ingest_submit_seconds").record(started.elapsed().as_secs_f64());
    response
}

/// The steps of a submission; the `bool` says it is a retry's replay.
/// Nothing of the body is read before the courier is known.
async fn accept(state: &IngestState, request: Request) -> Result<(Accepted, bool), Error> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let courier_id = courier::authenticate(state.inner.couriers.as_ref(), headers).await?;
    let key = courier::idempotency_key(headers)?;
    let report_id = ReportId::for_submission(courier_id, &key);
    let span = tracing::Span::current();
    span.record("courier_id", tracing::field::display(courier_id));
    span.record("report_id", tracing::field::display(report_id));

    // A retry of an accepted report is answered from the store and costs
    // nothing new, so it counts neither against the courier's rate nor
    // against their uploads in flight (its body is still metered against
    // the upload budget): a phone retrying after a lost answer must not be
    // told to wait while its earlier attempts are still being read.
    let local = state.inner.shared.local().await?;
    let earlier = local.earlier(report_id).await?;
    if earlier.is_none() {
        state.inner.limiter.check(courier_id)?;
    }
    state.refuse_declared_over_limit(headers)?;
    let _slot = match earlier {
        None => Some(state.upload_slot(courier_id)?),
        Some(_) => None,
    };
    let (body, meter) = state.meter_upload(body);
    let multipart = Multipart::from_request(Request::from_parts(parts, body), &())
        .await
        .map_err(form::rejection)?;
    let form = form::read(multipart, state.photo_limits().max_bytes)
        .await
        .map_err(|e| meter.explain(e))?;
    if let Some(earlier) = earlier {
        return replay(report_id, earlier.request_sha256, form.digest);
    }
    let photos = process_photos(state, form.photos).await?;
    let committed = commit(
        state,
        report_id,
        courier_id,
        form.report,
        photos,
        form.digest,
    );
    if let Some(earlier) = committed.await? {
        return replay(report_id, earlier, form.digest);
    }
    Ok((Accepted { report_id }, false))
}

/// A retry: the original answer for the same request, `409` otherwise.
fn replay(report_id: ReportId, earlier: Sha256, now: Sha256) -> Result<(Accepted, bool), Error> {
    if earlier == now {
        Ok((Accepted { report_id }, true))
    } else {
        Err(Error::IdempotencyConflict)
    }
}

pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Stores the checked photos, commits the report to the local outbox and
/// wakes the publisher. `Some(earlier digest)` when a request under the
/// same key was committed first (the caller answers as for a retry).
pub(crate) async fn commit(
    state: &IngestState,
    report_id: ReportId,
    courier_id: CourierId,
    fields: crate::report::ReportFields,
    photos: Vec<ProcessedPhoto>,
    digest: Sha256,
) -> Result<Option<Sha256>, Error> {
    let exifs: Vec<&civicprobe_model::PhotoExif> = photos.iter().map(|p| &p.exif).collect();
    let position = evidence::position(fields.location, &exifs)?;
    // Every check passed: only now does anything get written.
    for p in &photos {
        let store = &state.inner.photos;
        store
            .put_for_report(p.photo_ref.sha256.to_string(), p.bytes.clone())
            .await?;
        if let Some(thumb) = p.photo_ref.thumbnail_sha256 {
            store
                .put_for_report(thumb.to_string(), p.thumbnail.clone())
                .await?;
        }
    }
    let report = submitted(state, report_id, courier_id, (fields, position), photos);
    let local = state.inner.shared.local().await?;
    if let Some(earlier) = local.accept(&report, digest).await? {
        return Ok(Some(earlier.request_sha256));
    }
    for p in &report.photos {
        if let Some(h) = p.phash {
            state.inner.shared.reuse.insert(h, report_id);
        }
    }
    state.inner.wake.notify_one();
    Ok(None)
}

/// Checks and strips every photo before any is stored, one core each.
pub(crate) async fn process_photos(
    state: &IngestState,
    raw: Vec<Bytes>,
) -> Result<Vec<ProcessedPhoto>, Error> {
    let mut processed = Vec::with_capacity(raw.len());
    for bytes in raw {
        let _core = state
            .inner
            .cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::internal("waiting for a photo worker", e))?;
        processed.push(photo::process(bytes, state.photo_limits()).await?);
    }
    Ok(processed)
}

/// The event for an accepted report at its position, received now, with
/// its evidence.
fn submitted(
    state: &IngestState,
    report_id: ReportId,
    courier_id: CourierId,
    (fields, position): (crate::report::ReportFields, evidence::Position),
    photos: Vec<ProcessedPhoto>,
) -> ReportSubmitted {
    let received_at = OffsetDateTime::now_utc();
    let facts: Vec<PhotoFacts<'_>> = photos
        .iter()
        .map(|p| PhotoFacts {
            exif: &p.exif,
            exif_unreadable: p.exif_unreadable.as_deref(),
            phash: p.photo_ref.phash,
        })
        .collect();
    let flags = evidence::flags(
        report_id,
        &position,
        received_at,
        &facts,
        &state.inner.shared.reuse,
        state.thresholds(),
    );
    for flag in &flags {
        tracing::info!(?flag, "evidence flag raised");
        metrics::counter!("civicprobe_ingest_evidence_flags_total", "flag" => flag.name())
            .increment(1);
    }
    let evidence = Evidence {
        photos: photos.iter().map(|p| p.exif.clone()).collect(),
        flags,
    };
    ReportSubmitted {
        report_id,
        courier_id,
        location: position.location,
        // Only a position sent in the report has a datum of its own.
        position_as_sent: fields.position_as_sent,
        accuracy_m: fields.accuracy_m,
        category_hint: fields.category_hint,
        text: fields.text,
        reported_at: fields.reported_at,
        received_at,
        photos: photos.into_iter().map(|p| p.photo_ref).collect(),
        evidence,
        open311: fields.open311,
    }
}
