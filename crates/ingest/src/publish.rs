//! The `REPORTS` stream and the acknowledged, de-duplicated publish.

use crate::Error;
use async_nats::jetstream::{self, context::PublishAckFuture, publish::PublishAck, stream};
use civicprobe_model::nats::{
    DUPLICATE_WINDOW_SECS, MSG_ID_HEADER, REPORTS_STREAM, REPORTS_SUBJECTS, REPORT_SUBMITTED,
};
use civicprobe_model::ReportSubmitted;
use std::time::Duration;

fn unavailable(source: impl Into<crate::BoxError>) -> Error {
    Error::Unavailable {
        what: "JetStream",
        source: source.into(),
    }
}

/// Creates the `REPORTS` stream (file storage, a day-long duplicate
/// window) unless it exists; safe to call on every start.
pub async fn ensure_reports_stream(js: &jetstream::Context) -> Result<(), Error> {
    js.get_or_create_stream(stream::Config {
        name: REPORTS_STREAM.to_owned(),
        subjects: vec![REPORTS_SUBJECTS.to_owned()],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(DUPLICATE_WINDOW_SECS),
        ..Default::default()
    })
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// Publishes `report` on `civic.report.submitted` with
/// `Nats-Msg-Id = report_id` and waits for JetStream's acknowledgement.
/// `ack.duplicate` is true when the stream already held this report.
pub async fn publish_report(
    js: &jetstream::Context,
    report: &ReportSubmitted,
) -> Result<PublishAck, Error> {
    let payload = serde_json::to_vec(report).map_err(|e| Error::Internal {
        what: "encoding a report",
        source: e.into(),
    })?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(MSG_ID_HEADER, report.report_id.to_string().as_str());
    let sent: PublishAckFuture = js
        .publish_with_headers(REPORT_SUBMITTED, headers, payload.into())
        .await
        .map_err(unavailable)?;
    sent.await.map_err(unavailable)
}
