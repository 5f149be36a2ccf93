//! Verification before points (核查): the reporter, a supervisor, or a
//! courier passing by with a fresh photo confirms that a fix holds, or a
//! quiet resolved ticket is verified automatically after N days.
//!
//! # Layout
//!
//! - [`verdicts`]: recording a verdict and auto-verification.
//! - [`status`]: a ticket's verification state and open dispute.
//! - [`photos`]: the photos couriers take to verify.
//! - [`queue`] and `queue_http`: tickets near a courier to check, and
//!   the disputed verdicts supervisors settle.
//! - `http` and `evidence`: `verify`, `reopen`, `close`, and the
//!   evidence a passer-by's verdict must carry.

pub(crate) mod evidence;
pub(crate) mod http;
pub mod photos;
pub mod queue;
pub(crate) mod queue_http;
pub mod status;
pub mod verdicts;
