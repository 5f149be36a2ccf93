//! Duplicate detection: the index of open tickets ([`OpenTickets`], pure),
//! the feeds that keep it current from JetStream ([`feed`]) and the claims
//! that serialise ticket opening between routers ([`claim`]). See the crate
//! documentation for the design.

pub mod claim;
pub mod feed;
mod index;
mod settle;

pub use index::{phashes, Match, OpenTicket, OpenTickets};

use civicprobe_model::PhotoHash;
pub use settle::settle;

/// When a report duplicates an open ticket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DuplicateRules {
    /// Same category within this many metres.
    pub radius_m: f64,
    /// Received within this long of the ticket's report.
    pub window: time::Duration,
    /// Perceptual hashes within this many bits (Hamming) are the same photo.
    pub phash_bits: u32,
    /// ... but only for a ticket of the same office within this many metres.
    pub photo_radius_m: f64,
}

/// Default [`DuplicateRules::photo_radius_m`], metres.
pub const DEFAULT_PHOTO_RADIUS_M: f64 = 1000.0;

impl Default for DuplicateRules {
    /// 30 m, 72 h, 4 bits, photos within 1 km.
    fn default() -> Self {
        Self {
            radius_m: 30.0,
            window: time::Duration::hours(72),
            phash_bits: 4,
            photo_radius_m: DEFAULT_PHOTO_RADIUS_M,
        }
    }
}

/// Hashes with fewer set bits than this (or more than `64 -` this) come
/// from near-uniform pictures (a dark photo, a test pattern) and say
/// nothing about what was photographed; they never match.
const MIN_PHASH_BITS: u32 = 8;

/// Whether a hash says something about what was photographed.
pub fn informative(hash: PhotoHash) -> bool {
    (MIN_PHASH_BITS..=64 - MIN_PHASH_BITS).contains(&hash.ones())
}
