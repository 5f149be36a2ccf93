//! A photo ingest stored for a ticket, announced to the tracker on the
//! `UPLOADS` stream ([`crate::nats::UPLOADS_STREAM`]) in a split
//! deployment, where ingest knows who uploads (from the token) but not the
//! ticket's office or state. The tracker applies the scope when it records
//! the announcement: a proof photo from the ticket's own office (or a
//! supervisor), a verification photo from a courier while the ticket is
//! resolved. Anything else is dropped, so a resolve or verify cannot cite it.
//!
//! Before it stores such a photo, ingest asks a tracker whether the
//! uploader may ([`UploadScopeAsked`] on
//! [`crate::nats::UPLOAD_SCOPE_SUBJECT`]), so that an upload out of scope
//! is answered `404` rather than `201` and dropped.

use crate::{Location, Principal, TicketId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One stored photo of a ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhotoUploaded {
    /// The ticket it was uploaded for.
    pub ticket_id: TicketId,
    /// The stored (metadata-free) photo's sha256.
    pub sha256: crate::Sha256,
    /// Who uploaded it, as ingest's token directory knew them.
    pub uploader: Principal,
    /// When ingest stored it.
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
    /// Which kind of photo, with what the kind needs.
    pub kind: UploadKind,
}

/// Proof of a repair, or a courier's check of a resolved ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadKind {
    /// An office's (or supervisor's) photo of the repair.
    Proof,
    /// A courier's fresh photo of the spot, with what its EXIF said
    /// before stripping.
    Verification {
        /// Its thumbnail's sha256.
        thumbnail_sha256: Option<crate::Sha256>,
        /// EXIF DateTimeOriginal: is the photo fresh?
        #[serde(default, with = "time::serde::rfc3339::option")]
        taken_at: Option<OffsetDateTime>,
        /// EXIF GPS: was it taken at the spot?
        gps: Option<Location>,
        /// Perceptual hash.
        phash: Option<crate::PhotoHash>,
    },
}

/// What a photo of a ticket is for: the part of [`UploadKind`] that
/// decides who may upload it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadPurpose {
    /// Proof of a repair: the ticket's office, or a supervisor.
    Proof,
    /// A courier's check: any courier, while the ticket is resolved.
    Verification,
}

impl UploadKind {
    /// What the photo is for.
    pub fn purpose(&self) -> UploadPurpose {
        match self {
            UploadKind::Proof => UploadPurpose::Proof,
            UploadKind::Verification { .. } => UploadPurpose::Verification,
        }
    }
}

/// Ingest's question to a tracker before storing a photo of a ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadScopeAsked {
    /// The ticket the photo would be for.
    pub ticket_id: TicketId,
    /// Who uploads, as ingest's token directory knows them.
    pub uploader: Principal,
    /// What the photo is for.
    pub purpose: UploadPurpose,
}

/// A tracker's answer to [`UploadScopeAsked`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadScopeAnswer {
    /// Whether the ticket exists and the uploader may add this photo to
    /// it now.
    pub allowed: bool,
}

impl PhotoUploaded {
    /// Where it is announced: [`crate::nats::upload_subject`].
    pub fn subject(&self) -> String {
        let kind = match self.kind {
            UploadKind::Proof => crate::nats::PROOF_UPLOAD,
            UploadKind::Verification { .. } => crate::nats::VERIFICATION_UPLOAD,
        };
        crate::nats::upload_subject(kind, self.ticket_id, self.sha256)
    }
}
