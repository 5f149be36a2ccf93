//! Evidence read from a report's photos before their metadata is stripped,
//! and the flags raised on it. A flag is information for the router, the
//! points ledger and supervisors; it never rejects a report.

use crate::{Location, ReportId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Everything ingest learned about a report's photos.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// One entry per photo, in the report's photo order.
    #[serde(default)]
    pub photos: Vec<PhotoExif>,
    /// Flags raised, each with its measured value and threshold.
    #[serde(default)]
    pub flags: Vec<EvidenceFlag>,
}

/// What a photo's EXIF said (before it was stripped).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhotoExif {
    /// EXIF GPS position, if present and valid.
    pub gps: Option<Location>,
    /// EXIF DateTimeOriginal (taken as UTC+8 when no offset is given).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub taken_at: Option<OffsetDateTime>,
    /// EXIF orientation, 1 to 8.
    pub orientation: Option<u16>,
    /// EXIF Make and Model ("HUAWEI ELS-AN00"), control characters
    /// removed, at most 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
}

/// A reason to look twice at a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum EvidenceFlag {
    /// The photo was taken long before it was submitted.
    TakenLongBefore {
        /// Index of the photo in the report.
        photo: usize,
        /// received_at − taken_at, seconds.
        age_s: i64,
        /// The configured limit, seconds.
        threshold_s: i64,
    },
    /// The photo's EXIF position is far from the reported position.
    FarFromReported {
        /// Index of the photo in the report.
        photo: usize,
        /// Distance, metres.
        distance_m: f64,
        /// The configured limit, metres.
        threshold_m: f64,
    },
    /// The same picture (by perceptual hash) was in an earlier report.
    PhotoReuse {
        /// Index of the photo in the report.
        photo: usize,
        /// This photo's perceptual hash.
        phash: crate::PhotoHash,
        /// The earlier report that had it.
        earlier_report: ReportId,
        /// Hamming distance between the two hashes, bits.
        distance_bits: u32,
        /// The configured limit, bits.
        threshold_bits: u32,
    },
    /// The photo's EXIF (all of it, or a part such as its GPS block) was
    /// malformed, truncated, contradictory or absurd: that part was
    /// dropped, the photo kept. Only what was sound is in
    /// [`Evidence::photos`].
    ExifUnreadable {
        /// Index of the photo in the report.
        photo: usize,
        /// Why, in words, part by part ("GPS: GPSLatitude has a zero
        /// denominator (0/0)"), for the office to read.
        reason: String,
    },
    /// The report came without a position; its position is this photo's
    /// EXIF GPS position (so no far-from-reported check was made).
    PositionFromExif {
        /// Index of the photo whose position the report took.
        photo: usize,
    },
}

impl EvidenceFlag {
    /// The flag's name as serialised (`exif_unreadable`, …), e.g. for a
    /// metric's label.
    pub fn name(&self) -> &'static str {
        match self {
            EvidenceFlag::TakenLongBefore { .. } => "taken_long_before",
            EvidenceFlag::FarFromReported { .. } => "far_from_reported",
            EvidenceFlag::PhotoReuse { .. } => "photo_reuse",
            EvidenceFlag::ExifUnreadable { .. } => "exif_unreadable",
            EvidenceFlag::PositionFromExif { .. } => "position_from_exif",
        }
    }
}

impl Evidence {
    /// Whether any photo was seen in an earlier report (earns no points).
    pub fn photo_reuse(&self) -> bool {
        self.flags
            .iter()
            .any(|f| matches!(f, EvidenceFlag::PhotoReuse { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_tagged_and_old_reports_without_evidence_still_parse() {
        let flag = EvidenceFlag::FarFromReported {
            photo: 0,
            distance_m: 850.0,
            threshold_m: 500.0,
        };
        let json = serde_json::to_value(&flag).unwrap();
        assert_eq!(json["flag"], "far_from_reported");
        let unreadable = EvidenceFlag::ExifUnreadable {
            photo: 1,
            reason: "GPS: GPSLatitude has a zero denominator (0/0)".into(),
        };
        let json = serde_json::to_value(&unreadable).unwrap();
        assert_eq!(json["flag"], "exif_unreadable");
        assert_eq!(unreadable.name(), "exif_unreadable");
        assert_eq!(flag.name(), "far_from_reported");
        assert_eq!(
            json["reason"],
            "GPS: GPSLatitude has a zero denominator (0/0)"
        );
        let from_exif = serde_json::to_value(EvidenceFlag::PositionFromExif { photo: 0 }).unwrap();
        assert_eq!(
            from_exif,
            serde_json::json!({"flag": "position_from_exif", "photo": 0})
        );
        let back: EvidenceFlag = serde_json::from_value(json).unwrap();
        assert_eq!(back, unreadable);
        let evidence: Evidence = serde_json::from_str("{}").unwrap();
        assert!(!evidence.photo_reuse());
    }
}
