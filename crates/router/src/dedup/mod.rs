//! Duplicate detection: the index of open tickets ([`OpenTickets`], pure),
//! the feeds that keep it current from JetStream ([`feed`]) and the claims
//! that serialise ticket opening between routers ([`claim`]). See the crate
//! documentation for the design.

pub mod claim;
pub mod feed;
mod index;
mod settle;

pub use index::{phashes, Match, OpenTicket, OpenTickets};
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

/// A 16-hex-digit perceptual hash as a number; anything else, and
/// uninformative hashes, are ignored.
pub fn parse_phash(hex: &str) -> Option<u64> {
    let h = (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()?;
    (MIN_PHASH_BITS..=64 - MIN_PHASH_BITS)
        .contains(&h.count_ones())
        .then_some(h)
}
