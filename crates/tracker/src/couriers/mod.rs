//! What a courier sees: their view of a ticket, which cannot carry another
//! reporter's data, and their reports with the office's notes and proof
//! photo (`GET /v1/couriers/me`).
//!
//! # Layout
//!
//! - [`view`]: one ticket as its reporting courier sees it.
//! - [`reports`]: a courier's reports.
//! - `http`: `GET /v1/couriers/me`.

pub(crate) mod http;
pub mod reports;
pub mod view;
