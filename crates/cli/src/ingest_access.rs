//! Ingest wired to the tracker's store: its courier directory (which
//! tokens are couriers) and its report access (who may fetch which photos,
//! upload proof and verification photos, and where ingest records them).
//! `up` and the separate `civicprobe ingest` use the same wiring.

use civicprobe_ingest::access::VerificationEvidence;
use civicprobe_ingest::{CourierDirectory, IngestState, ReportAccess, Viewer};
use civicprobe_model::{CourierId, Principal, ReportId, TicketId, UploadPurpose};
use civicprobe_tracker::verification::photos::VerificationPhoto;
use civicprobe_tracker::Store;
use futures::future::BoxFuture;
use std::sync::Arc;

/// Ingest's view of the token store: courier tokens only.
#[derive(Debug)]
struct StoreCouriers(Store);

impl CourierDirectory for StoreCouriers {
    fn courier_for_token<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<CourierId>, civicprobe_ingest::BoxError>> {
        Box::pin(async move {
            match self.0.authenticate(token).await? {
                Some(Principal::Courier { courier_id, .. }) => Ok(Some(courier_id)),
                _ => Ok(None),
            }
        })
    }
}

/// Ingest's view of who may fetch a report's photos: supervisors all, an
/// office the reports of its tickets (merged duplicates included), a
/// courier their own reports (unrouted ones included). Also where ingest
/// records the proof photos it stored, so a resolve can cite only those.
#[derive(Debug)]
struct TrackerAccess(Store);

impl ReportAccess for TrackerAccess {
    fn viewer<'a>(
        &'a self,
        token: &'a str,
        report: ReportId,
    ) -> BoxFuture<'a, Result<Viewer, civicprobe_ingest::BoxError>> {
        Box::pin(async move {
            let Some(who) = self.0.authenticate(token).await? else {
                return Ok(Viewer::Unknown);
            };
            let Some((ticket_id, reporter)) = self.0.report_ticket(report).await? else {
                return Ok(self.unrouted_viewer(&who, report).await?);
            };
            let allowed = match &who {
                Principal::Supervisor { .. } => true,
                Principal::Courier { courier_id, .. } => *courier_id == reporter,
                Principal::Office { office_id, .. } => self
                    .0
                    .ticket(ticket_id)
                    .await?
                    .is_some_and(|t| &t.office_id == office_id),
            };
            Ok(viewer_if(allowed))
        })
    }

    /// Proof photos: the ticket's office and supervisors.
    fn ticket_viewer<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, civicprobe_ingest::BoxError>> {
        Box::pin(self.may_upload(token, ticket, UploadPurpose::Proof))
    }

    /// Reading proof photos: also the ticket's reporting couriers (the
    /// opener and merged duplicates' couriers), who see how it was fixed.
    fn proof_photo_reader<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, civicprobe_ingest::BoxError>> {
        Box::pin(async move {
            let Some(Principal::Courier { courier_id, .. }) = self.0.authenticate(token).await?
            else {
                return self.ticket_viewer(token, ticket).await;
            };
            Ok(viewer_if(self.0.is_reporter(ticket, courier_id).await?))
        })
    }

    /// Records the proof photo in the tracker's store, with its uploader.
    fn proof_photo_stored<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
        sha256: civicprobe_model::Sha256,
    ) -> BoxFuture<'a, Result<(), civicprobe_ingest::BoxError>> {
        Box::pin(async move {
            let who = self.0.authenticate(token).await?.ok_or("unknown token")?;
            let at = self.0.now();
            Ok(self
                .0
                .record_proof_photo(ticket, sha256, &who.actor(), at)
                .await?)
        })
    }

    /// Verification photos: any courier, while the ticket is resolved.
    fn verification_viewer<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
    ) -> BoxFuture<'a, Result<Viewer, civicprobe_ingest::BoxError>> {
        Box::pin(self.may_upload(token, ticket, UploadPurpose::Verification))
    }

    /// Records the verification photo and its evidence for its courier.
    fn verification_photo_stored<'a>(
        &'a self,
        token: &'a str,
        ticket: TicketId,
        evidence: &'a VerificationEvidence,
    ) -> BoxFuture<'a, Result<(), civicprobe_ingest::BoxError>> {
        Box::pin(async move {
            let Some(Principal::Courier { courier_id, .. }) = self.0.authenticate(token).await?
            else {
                return Err("not a courier's token".into());
            };
            let photo = VerificationPhoto {
                ticket_id: ticket,
                courier_id,
                sha256: evidence.sha256,
                thumbnail_sha256: evidence.thumbnail_sha256,
                taken_at: evidence.taken_at,
                gps: evidence.gps,
                phash: evidence.phash,
                uploaded_at: self.0.now(),
            };
            Ok(self.0.record_verification_photo(&photo).await?)
        })
    }
}

/// `Allowed` or, for a known holder outside the scope, `Denied`.
fn viewer_if(allowed: bool) -> Viewer {
    if allowed {
        Viewer::Allowed
    } else {
        Viewer::Denied
    }
}

impl TrackerAccess {
    /// Whether the holder of `token` may add a photo for `purpose` to
    /// `ticket` ([`Store::may_upload`], the rule a split tracker answers
    /// ingest's question with).
    async fn may_upload(
        &self,
        token: &str,
        ticket: TicketId,
        purpose: UploadPurpose,
    ) -> Result<Viewer, civicprobe_ingest::BoxError> {
        let Some(who) = self.0.authenticate(token).await? else {
            return Ok(Viewer::Unknown);
        };
        Ok(viewer_if(self.0.may_upload(&who, ticket, purpose).await?))
    }

    /// A report that is part of no ticket: supervisors may see it, and its
    /// courier while it is unrouted (outside every area); nobody else.
    async fn unrouted_viewer(
        &self,
        who: &Principal,
        report: ReportId,
    ) -> Result<Viewer, civicprobe_tracker::Error> {
        let allowed = match who {
            Principal::Supervisor { .. } => true,
            Principal::Courier { courier_id, .. } => {
                self.0.unrouted_courier(report).await? == Some(*courier_id)
            }
            Principal::Office { .. } => false,
        };
        Ok(viewer_if(allowed))
    }
}

/// Ingest wired to the tracker's store for tokens and photo scope.
pub fn ingest_state(
    config: civicprobe_ingest::Config,
    js: async_nats::jetstream::Context,
    store: &Store,
) -> IngestState {
    IngestState::new(config, js, couriers(store))
        .with_report_access(Arc::new(TrackerAccess(store.clone())))
}

/// The token store as ingest's courier directory.
pub fn couriers(store: &Store) -> Arc<dyn CourierDirectory> {
    Arc::new(StoreCouriers(store.clone()))
}

/// The photo store read-only, scoped by the tracker's store: the tracker
/// process's `GET` photo routes (`civicprobe_ingest::photo_app`) over the
/// photo store ingest writes (the JetStream object store when split).
pub fn photo_reader(
    config: civicprobe_ingest::Config,
    js: async_nats::jetstream::Context,
    store: &Store,
) -> IngestState {
    IngestState::photo_reader(config, js, couriers(store))
        .with_report_access(Arc::new(TrackerAccess(store.clone())))
}
