//! The civicprobe **tracker**: the system of record for tickets.
//!
//! It consumes the `TICKETS` stream (tickets the router opened, duplicates
//! it merged, reports it could not route), stores them with sqlx on SQLite
//! (the embedded default) or PostgreSQL (chosen by a `postgres://` URL),
//! and serves street offices, supervisors and couriers over HTTP: an
//! office's queue ordered by the nearest deadline; the whole ticket life
//! cycle (acknowledge, make safe, start, resolve with an optional proof
//! photo, reject, verify or reopen, reroute) as an append-only,
//! hash-chained event history; verification before points (核查: the
//! reporter, a supervisor, a courier passing by with a fresh photo, or
//! automatically after N days without a dispute); an outbox that publishes
//! each of its own steps exactly once per event id; an SLA clock that
//! escalates each breach once and verifies quiet resolved tickets; the
//! overdue list; the response-time audit (JSON, CSV, terminal table); a
//! points ledger, and a rewards catalogue couriers spend their points on.
//!
//! One set of SQL runs on both databases through sqlx's `Any` driver:
//! uuids are `TEXT`, timestamps `BIGINT` unix milliseconds (UTC), flags
//! `0/1` integers, JSON `TEXT`. Each backend has its own migrations
//! (`migrations/sqlite`, `migrations/postgres`). The audit groups and
//! ranks in Rust on both; PostgreSQL streams it only a few integers per
//! ticket through binary `COPY`, on a PostgreSQL-only pool.
//!
//! # Layout
//!
//! The tracker is cut by domain; each domain module owns its SQL (as
//! `impl Store` blocks) and its HTTP handlers (a `routes()` that
//! [`http::app`] merges):
//!
//! - [`Config`]: the tracker's database setting; [`SlaConfig`] the SLA
//!   clock's, with [`VerifyConfig`] (a nearby courier's check).
//! - [`store`]: [`Store`], the connection: sqlx's `Any` pool, the backend,
//!   the clock, migrations, and the few settings every domain reads.
//! - [`tickets`]: what the router opens and merges, the life cycle
//!   (acknowledge … resolve with a proof photo, reject), each step
//!   recorded once as its chained event and outbox message, reading
//!   tickets and every report with its evidence, the 导航 links.
//! - [`routing`]: supervisors' reroutes and routing unrouted reports,
//!   re-triage of category or urgency, the offices a move may target.
//! - [`disputes`]: `not_our_area` rejections a supervisor settles.
//! - [`verification`]: 核查 before points: verdicts, auto-verification,
//!   the photos couriers take, the nearby and disputed lists.
//! - [`points`]: the ledger, the rewards catalogue, redemptions and fraud
//!   reversals, serialised per courier by a private wallet lock.
//! - [`identity`]: tokens, `token list|revoke|rotate`, web sessions, and
//!   the live credentials reconciled onto `TOKENS` ([`run_token_feed`]).
//! - [`couriers`]: a courier's view of a ticket and their reports.
//! - [`open311`]: requests, public listings and hidden photos.
//! - [`alerts`]: alerts that leave the building: delivery channels of
//!   offices and supervisors (WeCom, DingTalk, Feishu, JSON webhooks), the
//!   `alerts` consumer on `TICKETS`, the delivery outbox and its sender,
//!   the daily digest ([`alerts::run`]).
//! - [`outbox`]: the transactional outbox and its publisher [`run_outbox`].
//! - [`uploads`]: proof and verification photos a split ingest announced
//!   on `UPLOADS`, recorded in scope ([`run_uploads`]), or looked up when a
//!   resolve or verify is faster than the consumer; and the answer to
//!   ingest's question before it stores one ([`answer_upload_scope`]).
//! - [`sla`]: the SLA clock task [`run_sla_clock`], escalations and the
//!   overdue list ([`sla::breaches`]).
//! - [`clock`]: where "now" comes from ([`SystemClock`], [`MockClock`]).
//! - [`audit`]: response-time figures ([`audit::collect`]), reading them
//!   ([`audit::sql`], PostgreSQL's COPY in [`audit::copy`] and
//!   [`audit::binary`]) and rendering as CSV or a table ([`audit::render`]);
//!   the KPIs offices are judged by ([`audit::kpi`], [`audit::kpi_render`]);
//!   the streamed ticket export ([`audit::export`]).
//! - [`anchor`]: the chain's head signed with the district's Ed25519 key,
//!   published on `ANCHORS` ([`anchor::stream`]), and the chain held to it
//!   ([`anchor::check`]).
//! - [`consumer`]: the durable JetStream pull consumer that feeds the store;
//!   acks only after the commit.
//! - [`events`]: `GET /v1/events`, the live event stream fed from
//!   `TICKETS` by one [`events::Hub`] per process ([`events::router`]).
//! - [`http`]: [`app`], the axum router: bearer authentication, scoping by
//!   role and office, problem+json errors.
//! - [`cli`]: `civicprobe audit [kpis|verify|anchor|keygen|export]`.
//! - [`error`]: the crate's [`Error`].

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod alerts;
pub mod anchor;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod consumer;
pub mod couriers;
pub mod disputes;
pub mod error;
pub mod events;
pub mod http;
pub mod identity;
pub mod open311;
pub mod outbox;
pub mod points;
pub mod routing;
pub mod sla;
pub mod store;
pub mod tickets;
mod time_ms;
pub mod uploads;
pub mod verification;

pub use alerts::AlertConfig;
pub use audit::chain::ChainReport;
pub use audit::{Dimension, ResponseTimes};
pub use clock::{Clock, MockClock, SystemClock};
pub use consumer::{ensure_tracker_consumer, run_consumer};
pub use couriers::view::{CourierEvent, CourierTicket};
pub use error::Error;
pub use http::app;
pub use identity::feed::{ensure_tokens_stream, run_token_feed};
pub use identity::sessions::{SessionConfig, SessionPolicy};
pub use identity::token_admin::{Revocation, TokenInfo};
pub use identity::tokens::{default_lifetime, Issued};
pub use outbox::run_outbox;
pub use routing::triage::{Triage, TriageCorrection};
pub use sla::{run_sla_clock, SlaConfig, VerifyConfig};
pub use store::Store;
pub use tickets::reports::TicketReport;
pub use tickets::rows::{CourierReport, Ticket, TicketEvent, Transition, UnroutedReport};
pub use uploads::{answer_upload_scope, run_uploads};

use std::path::Path;

/// The tracker's settings, flattened into the CLI.
#[derive(clap::Args, Clone)]
#[group(id = "tracker_config")]
pub struct Config {
    /// Database URL: `sqlite://path/civicprobe.db` or
    /// `postgres://user:pass@host/db`. Unset: a SQLite file
    /// `civicprobe.db` in the data directory.
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl Config {
    /// The URL to hand to [`Store::connect`]: the configured one, or the
    /// SQLite file `<data_dir>/civicprobe.db` (created on first use).
    pub fn database_url_or_default(&self, data_dir: &Path) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("civicprobe.db").display()
            ),
        }
    }
}

impl std::fmt::Debug for Config {
    /// Masks a password in the URL.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &self.database_url.as_deref().map(mask_password),
            )
            .finish()
    }
}

/// A URL fit for a log line: `scheme://user:secret@host/…?password=x` →
/// `scheme://user:***@host/…?password=***`. The user information ends at
/// the last `@` before the host, so a password holding `@` is masked
/// whole; a user-only part is kept except for NATS, where it is a token.
pub fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return mask_query_password(url);
    };
    let (authority_and_path, query) = match rest.find(['?', '#']) {
        // A `?` before the last `@` is part of the password, not a query.
        Some(q) if !rest[q..].contains('@') || rest[..q].contains('/') => rest.split_at(q),
        _ => (rest, ""),
    };
    let masked = match userinfo_end(authority_and_path) {
        Some(at) => {
            let (userinfo, host) = (&authority_and_path[..at], &authority_and_path[at..]);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***{host}"),
                None if scheme.starts_with("nats") || scheme.starts_with("tls") => {
                    format!("{scheme}://***{host}")
                }
                None => format!("{scheme}://{userinfo}{host}"),
            }
        }
        None => format!("{scheme}://{authority_and_path}"),
    };
    format!("{masked}{}", mask_query_password(query))
}

/// Where the user information ends: the last `@`, unless it is in the
/// path (after a `/` that follows a plain host).
fn userinfo_end(authority_and_path: &str) -> Option<usize> {
    let at = authority_and_path.rfind('@')?;
    let in_path = authority_and_path
        .find('/')
        .is_some_and(|slash| slash < at && !authority_and_path[..slash].contains(['@', ':']));
    (!in_path).then_some(at)
}

/// `…password=secret&…` → `…password=***&…` (any case, any position).
fn mask_query_password(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(i) = rest.find(['?', '&', ';']) {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let key_end = rest.find('=').unwrap_or(rest.len());
        let key = &rest[..key_end];
        let secret = ["password", "pass", "passwd", "pwd", "token", "auth_token"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k));
        if secret && key_end < rest.len() {
            out.push_str(key);
            out.push_str("=***");
            rest = &rest[key_end + 1..];
            rest = &rest[rest.find(['&', '#', ';']).unwrap_or(rest.len())..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_database_password() {
        let config = Config {
            database_url: Some("postgres://civic:hunter2@db/civic".into()),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://civic:***@db/civic"));
    }

    #[test]
    fn passwords_are_masked_wherever_they_are() {
        for (url, shown) in [
            (
                "postgres://civic:hunter2@db/civic",
                "postgres://civic:***@db/civic",
            ),
            (
                "postgres://civic:p@ss@db:5432/civic",
                "postgres://civic:***@db:5432/civic",
            ),
            (
                "postgres://civic:a@b?c@db/civic",
                "postgres://civic:***@db/civic",
            ),
            (
                "postgres://db/civic?user=civic&password=hunter2&sslmode=require",
                "postgres://db/civic?user=civic&password=***&sslmode=require",
            ),
            (
                "postgres://db/civic?PASSWORD=hunter2",
                "postgres://db/civic?PASSWORD=***",
            ),
            (
                "nats://u:p@ss@127.0.0.1:4222",
                "nats://u:***@127.0.0.1:4222",
            ),
            (
                "nats://s3cr3t-token@127.0.0.1:4222",
                "nats://***@127.0.0.1:4222",
            ),
            ("postgres://civic@db/civic", "postgres://civic@db/civic"),
            ("sqlite:///var/x.db?mode=rwc", "sqlite:///var/x.db?mode=rwc"),
            ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ] {
            assert_eq!(mask_password(url), shown, "{url}");
        }
        for secret in ["hunter2", "p@ss", "a@b?c", "s3cr3t"] {
            let url = format!("postgres://u:{secret}@h/d?password={secret}");
            assert!(!mask_password(&url).contains(secret), "{url}");
        }
    }

    #[test]
    fn default_url_is_a_sqlite_file_in_the_data_dir() {
        let config = Config { database_url: None };
        let url = config.database_url_or_default(Path::new("/var/lib/civicprobe"));
        assert_eq!(url, "sqlite:///var/lib/civicprobe/civicprobe.db?mode=rwc");
    }
}
