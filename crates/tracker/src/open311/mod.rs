//! What the tracker keeps for Open311 (GeoReport v2): requests and their
//! service request ids, public listings by date, category and state, and
//! the photos a supervisor hid from them.
//!
//! # Layout
//!
//! - [`requests`]: requests by id, with their public details.
//! - `listing`: listings by date, category and state.
//! - `photo_visibility` and `photos_http`: hiding a photo from Open311.

mod listing;
mod photo_visibility;
pub(crate) mod photos_http;
pub mod requests;
