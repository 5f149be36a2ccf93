//! Disputes: a `not_our_area` rejection that a supervisor must settle, by
//! rerouting the ticket or upholding the rejection.
//!
//! # Layout
//!
//! - [`settle`]: opening and settling a dispute.
//! - `queue`: what supervisors read (the queue, a ticket's mark).
//! - `http`: `GET /v1/disputes`, `POST /v1/disputes/{id}/uphold`.

pub(crate) mod http;
pub(crate) mod queue;
pub mod settle;
