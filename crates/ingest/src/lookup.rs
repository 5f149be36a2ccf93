//! Accepted reports found across instances. In a split deployment the
//! courier's (or an Open311 client's) `POST` lands on one ingest, and the
//! read that follows at once lands on a tracker that has not seen the
//! report yet: the router has not routed it, or is away. The tracker asks
//! the ingests ([`ask`], a core NATS request on [`REPORT_LOOKUP_SUBJECT`]
//! bounded by [`LOOKUP_BOUND`]); the one holding the report in its local
//! store answers with it ([`answer`]), the others stay silent. No answer
//! in time is "unknown", as before.

use crate::{BoxError, Error, IngestState};
use async_nats::jetstream;
use civicprobe_model::nats::REPORT_LOOKUP_SUBJECT;
use civicprobe_model::{ReportId, ReportSubmitted};
use std::future::Future;
use std::time::Duration;

/// How long a tracker waits for the ingest holding a report: an unknown
/// id costs this much before its `404`.
pub const LOOKUP_BOUND: Duration = Duration::from_millis(500);

/// Answers lookups for the reports this instance accepted, until `stop`.
pub async fn answer(
    state: IngestState,
    client: async_nats::Client,
    stop: impl Future<Output = ()> + Send,
) -> Result<(), BoxError> {
    let answer = |payload: bytes::Bytes| {
        let state = state.clone();
        async move {
            let id = std::str::from_utf8(&payload)
                .ok()
                .and_then(|id| id.parse::<ReportId>().ok())?;
            match state.accepted_report(id).await {
                Ok(report) => serde_json::to_vec(&report?).ok(),
                Err(error) => {
                    tracing::warn!(report_id = %id, %error, "report lookup: the local store did not answer");
                    None
                }
            }
        }
    };
    civicprobe_jetstream::answer_requests(client, REPORT_LOOKUP_SUBJECT, None, stop, answer)
        .await?;
    Ok(())
}

/// The report `id` from whichever ingest accepted it; `None` when none
/// answers within [`LOOKUP_BOUND`] (none holds it) or no ingest listens.
/// An error only when NATS itself cannot be asked.
pub(crate) async fn ask(
    js: &jetstream::Context,
    id: ReportId,
) -> Result<Option<ReportSubmitted>, Error> {
    use async_nats::RequestErrorKind;
    let client = js.client();
    let asked = client.request(REPORT_LOOKUP_SUBJECT, id.to_string().into());
    let answer = match tokio::time::timeout(LOOKUP_BOUND, asked).await {
        Err(_) => return Ok(None),
        Ok(Err(e))
            if matches!(
                e.kind(),
                RequestErrorKind::NoResponders | RequestErrorKind::TimedOut
            ) =>
        {
            return Ok(None)
        }
        Ok(Err(e)) => {
            return Err(Error::Unavailable {
                what: "NATS",
                source: e.into(),
            })
        }
        Ok(Ok(answer)) => answer,
    };
    serde_json::from_slice(&answer.payload)
        .map(Some)
        .map_err(|e| Error::internal("reading a looked-up report", e))
}
