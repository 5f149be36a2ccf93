//! What a courier submits, as ingest publishes it.

use crate::{Category, CourierId, Evidence, Location, PositionAsSent, ReportId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A stored photo, by reference: events never carry the bytes (NATS
/// messages are limited to 1 MB; phone photos are larger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    /// Lower-case hex sha256 of the stored (metadata-free) bytes; also its
    /// name in the photo store.
    pub sha256: crate::Sha256,
    /// `image/jpeg` or `image/png`, from the bytes.
    pub media_type: String,
    /// Pixel width.
    pub width: u32,
    /// Pixel height.
    pub height: u32,
    /// Stored size in bytes.
    pub bytes: u64,
    /// Perceptual hash (photo reuse and duplicate detection compare these
    /// by Hamming distance); 16 lower-case hex digits in the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<crate::PhotoHash>,
    /// sha256 of the thumbnail (long edge at most 320 px) in the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_sha256: Option<crate::Sha256>,
}

/// Published by ingest on `civic.report.submitted` once a report is accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSubmitted {
    /// Deterministic per courier and `Idempotency-Key`.
    pub report_id: ReportId,
    /// Who reported it (earns the points).
    pub courier_id: CourierId,
    /// Where the hazard is: the position sent, or (when none was, flagged
    /// `position_from_exif`) a photo's EXIF GPS position.
    pub location: Location,
    /// The position as the courier sent it, when they declared a datum
    /// other than WGS-84 (`location` is its WGS-84 conversion); absent for
    /// WGS-84 positions and EXIF ones, which are WGS-84 by definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_as_sent: Option<PositionAsSent>,
    /// The phone's stated accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// The courier's category choice, if any.
    pub category_hint: Option<Category>,
    /// Free text, Chinese or English.
    pub text: Option<String>,
    /// The device clock at submission; informative only.
    #[serde(with = "time::serde::rfc3339::option")]
    pub reported_at: Option<OffsetDateTime>,
    /// The ingest clock at acceptance: the start of every SLA.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The photos, stored content-addressed.
    pub photos: Vec<PhotoRef>,
    /// What the photos' metadata said before it was stripped, and the
    /// flags raised on it. Flags never reject a report.
    #[serde(default)]
    pub evidence: Evidence,
    /// What an Open311 client sent beside the report; `None` for the
    /// courier app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open311: Option<Open311Details>,
}

/// An Open311 request's own fields, kept with its report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open311Details {
    /// `attribute[code]` (one value) and `attribute[code][]` (several),
    /// by code, in the order sent.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub attributes: std::collections::BTreeMap<String, Vec<String>>,
    /// The client's own `media_url` (never fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}
