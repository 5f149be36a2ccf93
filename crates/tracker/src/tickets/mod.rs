//! Tickets and their life cycle: what the router opens and merges, how a
//! ticket moves along (acknowledge, make safe, start, resolve with a proof
//! photo, reject), and reading tickets back.
//!
//! # Layout
//!
//! - [`opened`]: writing what the router sends (a ticket, an unrouted
//!   report); [`merge`]: duplicates attached to an open ticket.
//! - [`lifecycle`]: a person's transition or a system step;
//!   `step_record`: one step recorded once, as its chained event and its
//!   outbox message.
//! - [`queries`]: one ticket and its history, an office's queue;
//!   [`reports`]: every report of a ticket with its evidence;
//!   `positions`: where recent reports were (the jurisdictions check).
//! - [`rows`]: the row types handed out and how a row becomes one.
//! - `proof_photos`: proof photos ingest stored (what a resolve may
//!   cite); `proof`: checking a resolve's citation.
//! - [`http`]: the queue, the ticket page's JSON and the actions;
//!   [`navigate`]: 导航 links in each map's datum.

pub mod http;
pub mod lifecycle;
pub mod merge;
pub mod navigate;
pub mod opened;
pub(crate) mod positions;
pub(crate) mod proof;
pub(crate) mod proof_photos;
pub mod queries;
pub mod reports;
pub mod rows;
pub(crate) mod step_record;
