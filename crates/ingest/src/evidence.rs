//! Evidence flags: each with its measured value and the configured
//! threshold; a flag never rejects a report.
//!
//! - EXIF unreadable: (part of) a photo's EXIF was dropped, and why;
//! - position from EXIF: the report came without lat/lon and took the
//!   first photo's EXIF GPS position ([`position`]);
//! - taken long before submission (EXIF DateTimeOriginal vs `received_at`);
//! - EXIF position far from the reported position (not checked when the
//!   position came from a photo: it would be measured against itself);
//! - photo reuse: a perceptual hash within a few bits of one in an earlier
//!   report, looked up in [`ReuseIndex`] (in memory, seeded from the local
//!   store at start, the last [`REUSE_WINDOW_DAYS`] days, and kept up with
//!   every instance's reports by [`crate::reuse_feed`]).

use crate::Error;
use civicprobe_model::{EvidenceFlag, Location, PhotoExif, PhotoHash, ReportId};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use time::OffsetDateTime;

/// How far back photo reuse is looked for.
pub const REUSE_WINDOW_DAYS: i64 = 90;

/// The most hashes kept in memory (oldest dropped first).
pub const MAX_INDEXED: usize = 1_000_000;

/// The thresholds, from [`crate::Config`].
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// Seconds between taking and submitting a photo.
    pub age_s: i64,
    /// Metres between EXIF and reported positions.
    pub distance_m: f64,
    /// Hamming distance for "the same picture".
    pub reuse_bits: u32,
}

/// Recent perceptual hashes and the report each came in.
#[derive(Debug, Default)]
pub struct ReuseIndex {
    inner: Mutex<Indexed>,
}

#[derive(Debug, Default)]
struct Indexed {
    /// `(phash, report)`, oldest first.
    entries: VecDeque<(PhotoHash, ReportId)>,
    /// The same pairs, to index each once.
    held: HashSet<(PhotoHash, ReportId)>,
}

impl ReuseIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, Indexed> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The nearest earlier hash to `phash` from another report, if within
    /// `max_bits`.
    pub fn nearest(
        &self,
        phash: PhotoHash,
        not: ReportId,
        max_bits: u32,
    ) -> Option<(ReportId, u32)> {
        self.lock()
            .entries
            .iter()
            .filter(|(_, report)| *report != not)
            .map(|(h, report)| (*report, h.distance(phash)))
            .filter(|(_, bits)| *bits <= max_bits)
            .min_by_key(|(_, bits)| *bits)
    }

    /// Remembers an accepted photo's hash (once: the same pair again, as
    /// the reuse feed brings an instance's own reports back, is ignored).
    pub fn insert(&self, phash: PhotoHash, report: ReportId) {
        let mut indexed = self.lock();
        if !indexed.held.insert((phash, report)) {
            return;
        }
        indexed.entries.push_back((phash, report));
        while indexed.entries.len() > MAX_INDEXED {
            if let Some(oldest) = indexed.entries.pop_front() {
                indexed.held.remove(&oldest);
            }
        }
    }

    /// How many hashes are indexed.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A photo as the flags see it.
#[derive(Clone, Copy, Debug)]
pub struct PhotoFacts<'a> {
    /// Its EXIF evidence (the sound parts).
    pub exif: &'a PhotoExif,
    /// Why part of its EXIF was dropped, if it was.
    pub exif_unreadable: Option<&'a str>,
    /// Its perceptual hash.
    pub phash: Option<PhotoHash>,
}

/// Where a report is, and whether a photo said so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    /// The report's position.
    pub location: Location,
    /// `Some(n)`: no lat/lon was sent; this is photo `n`'s EXIF GPS.
    pub from_photo: Option<usize>,
}

/// The report's position: the one sent, else the first photo's EXIF GPS
/// position; neither is a `400` naming `lat`.
pub fn position(sent: Option<Location>, photos: &[&PhotoExif]) -> Result<Position, Error> {
    if let Some(location) = sent {
        return Ok(Position {
            location,
            from_photo: None,
        });
    }
    photos
        .iter()
        .enumerate()
        .find_map(|(n, exif)| {
            exif.gps.map(|location| Position {
                location,
                from_photo: Some(n),
            })
        })
        .ok_or_else(|| {
            Error::invalid(
                "lat",
                "is required: no position was sent and no photo carries an EXIF GPS position",
            )
        })
}

/// Every flag raised on a report's photos.
pub fn flags(
    report_id: ReportId,
    position: &Position,
    received_at: OffsetDateTime,
    photos: &[PhotoFacts<'_>],
    index: &ReuseIndex,
    t: Thresholds,
) -> Vec<EvidenceFlag> {
    let mut flags = Vec::new();
    for (photo, facts) in photos.iter().enumerate() {
        if let Some(reason) = facts.exif_unreadable {
            flags.push(EvidenceFlag::ExifUnreadable {
                photo,
                reason: reason.to_owned(),
            });
        }
        if position.from_photo == Some(photo) {
            flags.push(EvidenceFlag::PositionFromExif { photo });
        }
        if let Some(taken) = facts.exif.taken_at {
            let age_s = (received_at - taken).whole_seconds();
            if age_s > t.age_s {
                flags.push(EvidenceFlag::TakenLongBefore {
                    photo,
                    age_s,
                    threshold_s: t.age_s,
                });
            }
        }
        if let Some(gps) = facts.exif.gps.filter(|_| position.from_photo.is_none()) {
            let distance_m = gps.distance_m(&position.location);
            if distance_m > t.distance_m {
                flags.push(EvidenceFlag::FarFromReported {
                    photo,
                    distance_m,
                    threshold_m: t.distance_m,
                });
            }
        }
        if let Some(phash) = facts.phash {
            if let Some((earlier, bits)) = index.nearest(phash, report_id, t.reuse_bits) {
                flags.push(EvidenceFlag::PhotoReuse {
                    photo,
                    phash,
                    earlier_report: earlier,
                    distance_bits: bits,
                    threshold_bits: t.reuse_bits,
                });
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_model::CourierId;
    use time::macros::datetime;

    const T: Thresholds = Thresholds {
        age_s: 3600,
        distance_m: 500.0,
        reuse_bits: 4,
    };

    #[test]
    fn each_flag_carries_its_measure_and_threshold() {
        let here = Location::new(29.8413, 114.3225).unwrap();
        let far = Location::new(29.8513, 114.3225).unwrap();
        let now = datetime!(2025-05-01 12:00 UTC);
        let exif = PhotoExif {
            gps: Some(far),
            taken_at: Some(now - time::Duration::hours(2)),
            orientation: None,
            camera: None,
        };
        let index = ReuseIndex::default();
        let earlier = ReportId::for_submission(CourierId::new(), "a");
        let this = ReportId::for_submission(CourierId::new(), "b");
        index.insert(PhotoHash(0xFFFF_0000_FFFF_0000), earlier);
        index.insert(PhotoHash(0x0F0F), this);
        // The reuse feed brings known pairs back: each is indexed once.
        index.insert(PhotoHash(0xFFFF_0000_FFFF_0000), earlier);
        assert_eq!(index.len(), 2);
        let facts = [PhotoFacts {
            exif: &exif,
            exif_unreadable: None,
            phash: Some(PhotoHash(0xFFFF_0000_FFFF_0007)),
        }];
        let sent = position(Some(here), &[&exif]).unwrap();
        let flags = flags(this, &sent, now, &facts, &index, T);
        assert_eq!(flags.len(), 3, "{flags:?}");
        assert!(matches!(
            flags[0],
            EvidenceFlag::TakenLongBefore {
                age_s: 7200,
                threshold_s: 3600,
                ..
            }
        ));
        assert!(
            matches!(flags[1], EvidenceFlag::FarFromReported { distance_m, .. } if (1100.0..1130.0).contains(&distance_m))
        );
        assert!(
            matches!(&flags[2], EvidenceFlag::PhotoReuse { earlier_report, distance_bits: 3, .. } if *earlier_report == earlier)
        );

        let fresh = PhotoExif {
            gps: Some(here),
            taken_at: Some(now),
            orientation: None,
            camera: None,
        };
        let facts = [PhotoFacts {
            exif: &fresh,
            exif_unreadable: None,
            phash: Some(PhotoHash(0x0F0F)),
        }];
        assert!(
            super::flags(this, &sent, now, &facts, &index, T).is_empty(),
            "own hash is no reuse"
        );
    }

    #[test]
    fn a_position_from_a_photo_is_flagged_and_never_far_from_itself() {
        let far = Location::new(29.8513, 114.3225).unwrap();
        let now = datetime!(2025-05-01 12:00 UTC);
        let none = PhotoExif::default();
        let with_gps = PhotoExif {
            gps: Some(far),
            ..PhotoExif::default()
        };
        let err = position(None, &[&none]).unwrap_err();
        assert_eq!(err.problem().field.as_deref(), Some("lat"));
        assert_eq!(err.status().as_u16(), 400);
        let taken = position(None, &[&none, &with_gps]).unwrap();
        assert_eq!(
            taken,
            Position {
                location: far,
                from_photo: Some(1)
            }
        );
        let facts = [
            PhotoFacts {
                exif: &none,
                exif_unreadable: Some("GPSLatitude has a zero denominator (0/0)"),
                phash: None,
            },
            PhotoFacts {
                exif: &with_gps,
                exif_unreadable: None,
                phash: None,
            },
        ];
        let id = ReportId::for_submission(CourierId::new(), "c");
        let index = ReuseIndex::default();
        let raised = flags(id, &taken, now, &facts, &index, T);
        assert_eq!(
            raised,
            [
                EvidenceFlag::ExifUnreadable {
                    photo: 0,
                    reason: "GPSLatitude has a zero denominator (0/0)".into()
                },
                EvidenceFlag::PositionFromExif { photo: 1 },
            ]
        );
        // The same photo against a sent position 1.1 km away is far.
        let sent = position(Some(Location::new(29.8413, 114.3225).unwrap()), &[]).unwrap();
        let raised = flags(id, &sent, now, &facts, &index, T);
        assert!(
            matches!(raised[1], EvidenceFlag::FarFromReported { photo: 1, .. }),
            "{raised:?}"
        );
    }
}
