//! Sending work to the right office: supervisors rerouting a ticket or
//! routing an unrouted report, offices and supervisors re-triaging what
//! the router decided, and the known offices such moves may target.
//!
//! # Layout
//!
//! - [`reroute`] and `reroute_http`: a ticket to another office, an
//!   unrouted report into a ticket, or closing it.
//! - [`triage`] and `triage_http`: correcting category or urgency; an
//!   urgent duplicate making its ticket urgent.
//! - `offices`: the offices a move may target.

pub(crate) mod offices;
pub mod reroute;
pub(crate) mod reroute_http;
pub mod triage;
pub(crate) mod triage_http;
