//! Claims: the candidate ticket published on `civic.claim.<office>.<category>`
//! in the `ROUTER_CLAIMS` stream with `Nats-Expected-Last-Subject-Sequence`,
//! so of two routers opening a ticket for the same office and category at
//! the same moment only one succeeds; the other sees the winner's claim
//! and merges into it.

use async_nats::{
    header::{NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, NATS_MESSAGE_ID},
    jetstream::{
        self,
        context::{PublishError, PublishErrorKind},
        stream, ErrorCode,
    },
    HeaderMap,
};
use std::time::Duration;

use super::OpenTicket;
use crate::Error;

/// How long claims are kept: far longer than any duplicate window.
const CLAIMS_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

pub use civicprobe_model::nats::{claim_subject, CLAIMS_STREAM, CLAIM_SUBJECTS};

/// Creates the claims stream unless it exists, with `settings.replicas`
/// (an existing one is updated to them). Idempotent.
pub async fn ensure_claims_stream(
    js: &jetstream::Context,
    settings: &civicprobe_model::nats::JetStreamSettings,
) -> Result<(), Error> {
    let config = stream::Config {
        name: CLAIMS_STREAM.to_owned(),
        subjects: vec![CLAIM_SUBJECTS.to_owned()],
        storage: stream::StorageType::File,
        max_age: CLAIMS_MAX_AGE,
        duplicate_window: Duration::from_secs(civicprobe_model::nats::DUPLICATE_WINDOW_SECS),
        ..Default::default()
    };
    civicprobe_jetstream::ensure_stream(js, config, settings)
        .await
        .map_err(Error::nats("creating the claims stream"))?;
    Ok(())
}

/// How a claim went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// Stored at this stream sequence (or was already, for a redelivery).
    Won(u64),
    /// Another claim was stored first; the subject's last sequence is this.
    Lost(u64),
}

/// Publishes `ticket` as a claim, expecting `expected_last` (0: none yet)
/// to be the subject's last sequence.
pub async fn claim(
    js: &jetstream::Context,
    ticket: &OpenTicket,
    expected_last: u64,
) -> Result<Claimed, Error> {
    let subject = claim_subject(&ticket.office_id, ticket.category);
    let body = serde_json::to_vec(ticket).map_err(Error::Encode)?;
    let mut headers = HeaderMap::new();
    headers.insert(NATS_MESSAGE_ID, format!("claim-{}", ticket.ticket_id));
    headers.insert(
        NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
        expected_last.to_string(),
    );
    let ack = js
        .publish_with_headers(subject.clone(), headers, body.into())
        .await
        .map_err(Error::nats("publishing a claim"))?
        .await;
    match ack {
        Ok(ack) => Ok(Claimed::Won(ack.sequence)),
        Err(e) if lost_the_race(&e) => {
            let last = js
                .get_stream(CLAIMS_STREAM)
                .await
                .map_err(Error::nats("getting the claims stream"))?
                .get_last_raw_message_by_subject(&subject)
                .await
                .map_err(Error::nats("reading the last claim"))?;
            Ok(Claimed::Lost(last.sequence))
        }
        Err(e) => Err(Error::nats("awaiting the claim ack")(e)),
    }
}

/// Whether a claim was refused because the subject's last sequence was not
/// the expected one (another router claimed first). nats-server answers
/// error code 10071 ("wrong last sequence: N"), or, clustered from 2.11 on,
/// 10164 (the same without the number), which async-nats 0.51 does not map
/// to [`PublishErrorKind::WrongLastSequence`]: taken for a failure, a lost
/// race was retried after a back-off (2 s waits on a current cluster).
fn lost_the_race(e: &PublishError) -> bool {
    if e.kind() == PublishErrorKind::WrongLastSequence {
        return true;
    }
    std::error::Error::source(e)
        .and_then(|source| source.downcast_ref::<jetstream::Error>())
        .is_some_and(|answer| answer.error_code() == ErrorCode::STREAM_WRONG_LAST_SEQUENCE_CONSTANT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's answer as the publish ack carries it.
    fn refused(code: u64, description: &str) -> PublishError {
        let answer: jetstream::Error = serde_json::from_value(serde_json::json!({
            "code": 400, "err_code": code, "description": description,
        }))
        .expect("a JetStream error");
        PublishError::with_source(PublishErrorKind::Other, answer)
    }

    #[test]
    fn both_forms_of_wrong_last_sequence_lose_the_race() {
        assert!(lost_the_race(&PublishError::new(
            PublishErrorKind::WrongLastSequence
        )));
        assert!(lost_the_race(&refused(10164, "wrong last sequence")));
        // Not ready after a leader change, or anything else: a failure.
        assert!(!lost_the_race(&refused(
            10163,
            "expected last sequence per subject temporarily unavailable"
        )));
        assert!(!lost_the_race(&PublishError::new(
            PublishErrorKind::StreamNotFound
        )));
    }
}
