//! Recording the proof and verification photos a split ingest announces
//! on `UPLOADS` ([`civicprobe_model::upload`]), with the scope ingest
//! could not check: a proof photo from the ticket's own office or a
//! supervisor; a verification photo from a courier while the ticket is
//! resolved. An announcement out of scope is acked and dropped (counted),
//! so no resolve or verify can cite that photo.
//!
//! [`run_uploads`] records announcements as they come (durable consumer
//! `tracker-uploads`, shared by every tracker; acked after the record
//! committed). An office resolving at once after its upload, or a courier
//! verifying at once, may be faster than that consumer: the resolve and
//! verify handlers then call [`Store::catch_up_upload`], which looks the
//! photo's subject up on the stream (`get_last_raw_message_by_subject`)
//! and records it then. Recording twice changes nothing.

use crate::consumer::pull_each;
use crate::verification::photos::VerificationPhoto;
use crate::{Error, Store};
use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::{self, AckKind};
use civicprobe_jetstream::Pace;
use civicprobe_model::nats::{
    upload_subject, UPLOADS_CONSUMER, UPLOADS_STREAM, UPLOAD_SCOPE_QUEUE, UPLOAD_SCOPE_SUBJECT,
    UPLOAD_SUBJECTS,
};
use civicprobe_model::{
    PhotoUploaded, Principal, TicketId, TicketState, UploadKind, UploadPurpose, UploadScopeAnswer,
    UploadScopeAsked,
};
use std::future::Future;
use std::time::Duration;

/// The redelivery delay after a database failure.
const RETRY_DELAY: Duration = Duration::from_secs(2);

impl Store {
    /// Whether `who` may add a photo for `purpose` to `ticket` now: a
    /// proof photo the ticket's own office or a supervisor; a verification
    /// photo a courier, while the ticket is resolved. `false` for an
    /// unknown ticket. The one rule behind ingest's question before it
    /// stores ([`answer_upload_scope`], and `up`'s embedded ingest) and
    /// behind recording an announcement ([`Store::record_upload`]).
    pub async fn may_upload(
        &self,
        who: &Principal,
        ticket: TicketId,
        purpose: UploadPurpose,
    ) -> Result<bool, Error> {
        let Some(ticket) = self.ticket(ticket).await? else {
            return Ok(false);
        };
        Ok(match (purpose, who) {
            (UploadPurpose::Proof, Principal::Office { office_id, .. }) => {
                *office_id == ticket.office_id
            }
            (UploadPurpose::Proof, Principal::Supervisor { .. }) => true,
            (UploadPurpose::Verification, Principal::Courier { .. }) => {
                ticket.state == TicketState::Resolved
            }
            _ => false,
        })
    }

    /// Records `upload` if it is in scope ([`Store::may_upload`]); `false`
    /// if it is not (or its ticket is unknown).
    pub async fn record_upload(&self, upload: &PhotoUploaded) -> Result<bool, Error> {
        let (ticket_id, who) = (upload.ticket_id, &upload.uploader);
        if !self
            .may_upload(who, ticket_id, upload.kind.purpose())
            .await?
        {
            return Ok(false);
        }
        match (&upload.kind, who) {
            (UploadKind::Proof, _) => {
                self.record_proof_photo(ticket_id, upload.sha256, &who.actor(), upload.uploaded_at)
                    .await?;
            }
            (
                UploadKind::Verification {
                    thumbnail_sha256,
                    taken_at,
                    gps,
                    phash,
                },
                Principal::Courier { courier_id, .. },
            ) => {
                let photo = VerificationPhoto {
                    ticket_id,
                    courier_id: *courier_id,
                    sha256: upload.sha256,
                    thumbnail_sha256: *thumbnail_sha256,
                    taken_at: *taken_at,
                    gps: *gps,
                    phash: *phash,
                    uploaded_at: upload.uploaded_at,
                };
                self.record_verification_photo(&photo).await?;
            }
            // may_upload allows verification photos from couriers only.
            (UploadKind::Verification { .. }, _) => return Ok(false),
        }
        Ok(true)
    }

    /// Reads the uploaded photo's announcement from the stream and records
    /// it (for a resolve or verify faster than [`run_uploads`]). `false`
    /// when there is no such announcement, it is out of scope, or this
    /// store has no stream to look at ([`Store::with_uploads`]).
    pub async fn catch_up_upload(
        &self,
        kind: &str,
        ticket: TicketId,
        sha256: civicprobe_model::Sha256,
    ) -> Result<bool, Error> {
        let Some(js) = self.uploads() else {
            return Ok(false);
        };
        let Ok(stream) = js.get_stream(UPLOADS_STREAM).await else {
            return Ok(false);
        };
        let subject = upload_subject(kind, ticket, sha256);
        let Ok(message) = stream.get_last_raw_message_by_subject(&subject).await else {
            return Ok(false);
        };
        let Ok(upload) = serde_json::from_slice::<PhotoUploaded>(&message.payload) else {
            return Ok(false);
        };
        tracing::info!(ticket_id = %ticket, %subject, "upload recorded ahead of its consumer");
        self.record_upload(&upload).await
    }
}

/// Answers split ingests' questions before they store a proof or
/// verification photo ([`UploadScopeAsked`] on [`UPLOAD_SCOPE_SUBJECT`],
/// queue group [`UPLOAD_SCOPE_QUEUE`], so one tracker answers each) until
/// `shutdown` completes. A question that does not decode, or that the
/// database cannot answer now, gets no answer: ingest's request times out
/// and it answers `503`, never `201` for a photo nobody will record.
pub async fn answer_upload_scope(
    client: async_nats::Client,
    store: Store,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let answer = |payload: bytes::Bytes| {
        let store = store.clone();
        async move {
            let question: UploadScopeAsked = match serde_json::from_slice(&payload) {
                Ok(question) => question,
                Err(error) => {
                    tracing::warn!(%error, "upload scope: a question that does not decode");
                    return None;
                }
            };
            let asked = store.may_upload(&question.uploader, question.ticket_id, question.purpose);
            match asked.await {
                Ok(allowed) => serde_json::to_vec(&UploadScopeAnswer { allowed }).ok(),
                Err(error) => {
                    tracing::warn!(ticket_id = %question.ticket_id, %error, "upload scope: not answered");
                    None
                }
            }
        }
    };
    let subject = UPLOAD_SCOPE_SUBJECT;
    civicprobe_jetstream::answer_requests(
        client,
        subject,
        Some(UPLOAD_SCOPE_QUEUE),
        shutdown,
        answer,
    )
    .await
    .map_err(Error::nats)
}

/// Records `UPLOADS` announcements until `shutdown` completes. Needs the
/// stream (`civicprobe_jetstream::ensure_uploads_stream`).
pub async fn run_uploads(
    js: jetstream::Context,
    store: Store,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    let made = crate::consumer::ensured(UPLOADS_CONSUMER, &mut shutdown, || {
        ensure_uploads_consumer(&js)
    })
    .await;
    let Some(consumer) = made else {
        return Ok(());
    };
    pull_each(&consumer, UPLOADS_CONSUMER, shutdown, |msg| {
        handle(&store, msg)
    })
    .await
}

/// The durable `tracker-uploads` consumer on `UPLOADS`, with the
/// pipeline's ack wait ([`civicprobe_jetstream::ensure_durable`]).
async fn ensure_uploads_consumer(
    js: &jetstream::Context,
) -> Result<jetstream::consumer::PullConsumer, Error> {
    let stream = js.get_stream(UPLOADS_STREAM).await.map_err(Error::nats)?;
    civicprobe_jetstream::ensure_durable(
        &stream,
        pull::Config {
            durable_name: Some(UPLOADS_CONSUMER.to_owned()),
            filter_subject: UPLOAD_SUBJECTS.to_owned(),
            ack_policy: AckPolicy::Explicit,
            description: Some("civicprobe tracker: proof and verification photos".into()),
            ..Default::default()
        },
    )
    .await
    .map_err(Error::nats)
}

/// Records one announcement and acks, terms or naks it.
async fn handle(store: &Store, msg: jetstream::Message) -> Pace {
    let (ack, pace) = match serde_json::from_slice::<PhotoUploaded>(&msg.payload) {
        Err(e) => {
            tracing::warn!(subject = %msg.subject, error = %e, "uploads: malformed; dropped");
            (AckKind::Term, Pace::Next)
        }
        Ok(upload) => match store.record_upload(&upload).await {
            Ok(recorded) => {
                let outcome = if recorded { "recorded" } else { "out_of_scope" };
                metrics::counter!("civicprobe_tracker_uploads_total", "outcome" => outcome)
                    .increment(1);
                tracing::info!(ticket_id = %upload.ticket_id, sha256 = %upload.sha256, outcome, "upload");
                (AckKind::Ack, Pace::Next)
            }
            Err(e) => {
                tracing::warn!(ticket_id = %upload.ticket_id, error = %e, "uploads: not recorded; will retry");
                (AckKind::Nak(Some(RETRY_DELAY)), Pace::Back)
            }
        },
    };
    if let Err(e) = msg.ack_with(ack).await {
        tracing::warn!(error = %e, "uploads: ack failed");
    }
    pace
}
