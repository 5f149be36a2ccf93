//! Photo-upload scope in a split deployment, where ingest has no ticket
//! store ([`StreamAccess`]). Ingest knows who uploads (their token, from
//! [`crate::CredentialDirectory`]) but not a ticket's office or state. It
//! lets each role try its kind of photo (proof: office staff and
//! supervisors; verification: couriers), then asks a tracker whether this
//! uploader may add it to this ticket now (the ticket's own office; a
//! courier while the ticket is resolved): a core NATS request on
//! [`UPLOAD_SCOPE_SUBJECT`], bounded by [`SCOPE_BOUND`]. No answer (no
//! tracker, NATS away) is a `503`, so a photo nobody would record is never
//! answered `201`. Once stored, the photo is announced on the `UPLOADS`
//! stream ([`civicprobe_model::PhotoUploaded`]); the tracker records an
//! announcement only if it is still in scope, so no resolve can cite a
//! photo stored for another office's ticket. The upload answers `201`
//! only after JetStream acknowledged the announcement.
//!
//! The photo reads are the tracker's ([`crate::photo_app`]); this access
//! serves none.

use crate::access::{ReportAccess, VerificationEvidence, Viewer};
use crate::{BoxError, CredentialDirectory};
use async_nats::jetstream;
use civicprobe_model::nats::{MSG_ID_HEADER, UPLOAD_SCOPE_SUBJECT};
use civicprobe_model::{
    PhotoUploaded, Principal, ReportId, TicketId, UploadKind, UploadPurpose, UploadScopeAnswer,
    UploadScopeAsked,
};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// How long ingest waits for a tracker to answer whether an upload is in
/// scope.
pub const SCOPE_BOUND: Duration = Duration::from_secs(3);

/// Upload scope by role from the token directory, recording by
/// announcement on `UPLOADS`.
#[derive(Debug)]
pub struct StreamAccess {
    /// Who holds which token.
    pub directory: Arc<CredentialDirectory>,
    /// Where announcements go.
    pub js: jetstream::Context,
}

impl StreamAccess {
    /// `Unknown` for an unknown token; `Allowed` only if the role fits and
    /// a tracker says this uploader may add a `purpose` photo to `ticket`.
    async fn may_upload(
        &self,
        token: &str,
        ticket: TicketId,
        purpose: UploadPurpose,
        role_fits: impl Fn(&Principal) -> bool,
    ) -> Result<Viewer, BoxError> {
        let Some(uploader) = self.directory.principal(token) else {
            return Ok(Viewer::Unknown);
        };
        if !role_fits(&uploader) {
            return Ok(Viewer::Denied);
        }
        let question = UploadScopeAsked {
            ticket_id: ticket,
            uploader,
            purpose,
        };
        let client = self.js.client();
        let asked = client.request(UPLOAD_SCOPE_SUBJECT, serde_json::to_vec(&question)?.into());
        let answer = tokio::time::timeout(SCOPE_BOUND, asked)
            .await
            .map_err(|_| format!("no tracker answered within {SCOPE_BOUND:?}"))??;
        let answer: UploadScopeAnswer = serde_json::from_slice(&answer.payload)?;
        Ok(if answer.allowed {
            Viewer::Allowed
        } else {
            Viewer::Denied
        })
    }

    async fn announce(
        &self,
        token: &str,
        ticket: TicketId,
        sha256: civicprobe_model::Sha256,
        kind: UploadKind,
    ) -> Result<(), BoxError> {
        let uploader = self.directory.principal(token).ok_or("unknown token")?;
        let upload = PhotoUploaded {
            ticket_id: ticket,
            sha256,
            uploader,
            uploaded_at: time::OffsetDateTime::now_utc(),
            kind,
        };
        let subject = upload.subject();
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(MSG_ID_HEADER, subject.as_str());
        self.js
            .publish_with_headers(subject, headers, serde_json::to_vec(&upload)?.into())
            .await?
            .await?;
        Ok(())
    }
}

impl ReportAccess for StreamAccess {
    /// Report photos are read through the tracker.
    fn viewer<'a>(
        &'a self,
        token: &'a str,
        _report: ReportId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        let viewer = match self.directory.principal(token) {
            None => Viewer::Unknown,
            Some(_) => Viewer::Denied,
        };
        Box::pin(async move { Ok(viewer) })
    }

    fn ticket_viewer<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        Box::pin(self.may_upload(token, ticket, UploadPurpose::Proof, |p| {
            !matches!(p, Principal::Courier { .. })
        }))
    }

    fn proof_photo_stored<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
        sha256: civicprobe_model::Sha256,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(self.announce(token, ticket, sha256, UploadKind::Proof))
    }

    fn verification_viewer<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, BoxError>> {
        Box::pin(
            self.may_upload(token, ticket, UploadPurpose::Verification, |p| {
                matches!(p, Principal::Courier { .. })
            }),
        )
    }

    fn verification_photo_stored<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
        evidence: &'a VerificationEvidence,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        let kind = UploadKind::Verification {
            thumbnail_sha256: evidence.thumbnail_sha256,
            taken_at: evidence.taken_at,
            gps: evidence.gps,
            phash: evidence.phash,
        };
        Box::pin(self.announce(token, ticket, evidence.sha256, kind))
    }
}
