//! Programmatic intake: a report that did not come through
//! `POST /v1/reports` (the Open311 front end), taken through the same
//! pipeline: rate limit, photo checks and stripping, evidence flags,
//! content-addressed photo store, local outbox, idempotency.
//!
//! Unlike the courier app's endpoint, zero photos are accepted here: an
//! Open311 request may carry none (its `media` is optional). Downstream
//! (router, tracker) a report with an empty photo list is an ordinary one.

use crate::form::MAX_PHOTOS;
use crate::report::ReportFields;
use crate::{submit, Error, IngestState};
use bytes::Bytes;
use civicprobe_model::{CourierId, ReportId, Sha256};
use sha2::Digest;

/// Takes in one report for `courier` under `idempotency_key` (any string
/// up to 128 characters; the same key and the same content answer the
/// same id again, the same key with other content is
/// [`Error::IdempotencyConflict`]). Returns the report's id once the report
/// is committed to the local outbox.
#[tracing::instrument(name = "intake", skip_all, fields(courier_id = %courier, report_id = tracing::field::Empty))]
pub async fn accept(
    state: &IngestState,
    courier: CourierId,
    idempotency_key: &str,
    fields: ReportFields,
    photos: Vec<Bytes>,
) -> Result<ReportId, Error> {
    if idempotency_key.is_empty() || idempotency_key.chars().count() > 128 {
        return Err(Error::invalid(
            "idempotency_key",
            "must be 1 to 128 characters",
        ));
    }
    fields.check_text()?;
    if photos.len() > MAX_PHOTOS {
        return Err(Error::invalid(
            "media",
            format!("at most {MAX_PHOTOS} photos are allowed"),
        ));
    }
    let report_id = ReportId::for_submission(courier, idempotency_key);
    tracing::Span::current().record("report_id", tracing::field::display(report_id));
    state.inner.limiter.check(courier)?;
    let digest = digest(&fields, &photos);
    let local = state.inner.shared.local().await?;
    if let Some(earlier) = local.earlier(report_id).await? {
        return replay(report_id, earlier.request_sha256, digest);
    }
    let processed = submit::process_photos(state, photos).await?;
    let committed = submit::commit(state, report_id, courier, fields, processed, digest);
    if let Some(earlier) = committed.await? {
        return replay(report_id, earlier, digest);
    }
    metrics::counter!("civicprobe_ingest_reports_total", "outcome" => "accepted_intake")
        .increment(1);
    Ok(report_id)
}

/// The same request again: its id; other content under the key: `409`.
fn replay(report_id: ReportId, earlier: Sha256, now: Sha256) -> Result<ReportId, Error> {
    if earlier == now {
        Ok(report_id)
    } else {
        Err(Error::IdempotencyConflict)
    }
}

/// sha256 over the fields and every photo: what makes a retry "the same".
fn digest(fields: &ReportFields, photos: &[Bytes]) -> Sha256 {
    let mut d = sha2::Sha256::new();
    let described = format!(
        "intake\n{}\n{}\n{:?}\n{:?}\n{:?}\n{:?}{}",
        fields.location.map_or(f64::NAN, |l| l.lat()),
        fields.location.map_or(f64::NAN, |l| l.lon()),
        fields.accuracy_m,
        fields.category_hint,
        fields.text,
        fields.reported_at.map(|t| t.unix_timestamp()),
        // Only when sent, so a courier report's digest is as before.
        fields
            .open311
            .as_ref()
            .map_or(String::new(), |o| format!("\n{o:?}")),
    );
    d.update(described.as_bytes());
    for p in photos {
        d.update((p.len() as u64).to_be_bytes());
        d.update(p);
    }
    Sha256::from_hasher(d)
}
