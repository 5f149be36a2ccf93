//! Pure domain types of civicprobe.
//!
//! Everything the services exchange is defined here once, so that ingest,
//! router and tracker cannot drift apart: a value of these types is valid by
//! construction (a [`Location`] cannot hold NaN, an [`OfficeId`] cannot break
//! a NATS subject), and the ticket life cycle is data ([`TicketState::apply`]).
//! This crate does no IO: no tokio, no sqlx, no NATS client.
//!
//! # Layout
//!
//! - [`ids`]: report, ticket, event and courier ids (UUIDs; ticket ids are
//!   derived from report ids so a redelivered report opens nothing twice).
//! - [`category`]: the hazard categories and the urgency flag.
//! - [`location`]: a validated WGS84 position.
//! - [`datum`]: WGS-84, GCJ-02 and BD-09, and conversion to WGS-84.
//! - [`office`]: street-office ids, safe to embed in a NATS subject.
//! - [`report`]: what a courier submits and ingest publishes.
//! - [`ticket`]: ticket states, actions and the transition table.
//! - [`event`]: the messages on the `REPORTS` and `TICKETS` streams.
//! - [`evidence`]: photo metadata read before stripping, and its flags.
//! - [`photo_hash`]: a photo's 64-bit perceptual hash, hex only at the
//!   edges.
//! - [`sha256`]: a SHA-256 digest, hex only at the edges.
//! - [`nats`]: every stream, subject and consumer name, the dead-letter
//!   headers, the ack wait, and [`nats::JetStreamSettings`].
//! - [`role`]: who is acting: courier, office or supervisor.
//! - [`upload`]: a proof or verification photo ingest stored, announced
//!   to the tracker on `UPLOADS`.
//! - [`credential`]: a token's or session's grant as the tracker publishes
//!   it to ingest on `TOKENS` (hashes only).
//! - [`sla`]: the deadline policy ([`SlaPolicy::deadlines`]), shared by the
//!   router and the tracker.
//! - [`problem`]: the `application/problem+json` error body.
//! - [`text`]: the rule on control characters in free text.

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod category;
pub mod credential;
pub mod datum;
pub mod event;
pub mod event_kind;
pub mod evidence;
pub mod ids;
pub mod location;
pub mod nats;
pub mod office;
pub mod photo_hash;
pub mod problem;
pub mod report;
pub mod role;
pub mod sha256;
pub mod sla;
pub mod text;
pub mod ticket;
pub mod unix_ms;
pub mod upload;

pub use category::Category;
pub use credential::{CredentialGrant, CredentialState};
pub use datum::{Datum, DatumError, PositionAsSent};
pub use event::{
    Deadlines, MergeReason, ReportUnrouted, TicketChanged, TicketMerged, TicketOpened,
};
pub use event_kind::{EventKind, UnknownEventKind};
pub use evidence::{Evidence, EvidenceFlag, PhotoExif};
pub use ids::{CourierId, EventId, PersonId, ReportId, TicketId};
pub use location::{Location, LocationError};
pub use office::{OfficeId, OfficeIdError};
pub use photo_hash::{PhotoHash, PhotoHashError};
pub use problem::{Problem, PROBLEM_JSON};
pub use report::{Open311Details, PhotoRef, ReportSubmitted};
pub use role::{bearer_token, Actor, Person, Principal, Role};
pub use sha256::{Sha256, Sha256Error};
pub use sla::{SlaPolicy, StepDurations};
pub use ticket::{IllegalTransition, RejectReason, TicketAction, TicketState};
pub use upload::{PhotoUploaded, UploadKind, UploadPurpose, UploadScopeAnswer, UploadScopeAsked};
