//! The `civicprobe` binary's library: it composes ingest, router and tracker
//! into one process (`civicprobe up`) or runs each alone, and holds the
//! courier-side `submit` client.
//!
//! # Layout
//!
//! - [`admin`]: `courier|office|supervisor add` and `token list|revoke|rotate`
//!   against the store the services use.
//! - [`alerts`]: `office alert`, `supervisor alert`, `alerts list|remove`:
//!   the tracker's alert channels.
//! - [`rewards`]: `rewards add|list|retire`: the tracker's rewards
//!   catalogue.
//! - [`answers`]: [`answers::harden`] makes every error answer a problem
//!   (or an Open311 error document) and turns a panic into a 500.
//! - [`stack`]: [`stack::Stack`] starts the whole pipeline on one listen
//!   address: NATS (found or started), streams, store, router and tracker
//!   consumers, and the merged HTTP app. Tests start it on port 0.
//! - [`ingest_access`]: ingest wired to the tracker's store: which tokens
//!   are couriers, who may fetch which photos and upload proof and
//!   verification photos, and where ingest records them (`up`, and the
//!   tracker's photo reads).
//! - [`split`]: which service answers which route: ingest's intake, the
//!   tracker's everything else; what `up` merges and nginx follows.
//! - [`nats_config`]: [`nats_config::NatsConfig`], the NATS flags every
//!   service shares: a server list, one credential (user and password,
//!   token, NKey seed, `.creds` file), a TLS CA; masked in `Debug`.
//! - [`jetstream_args`]: `--stream-replicas` and `--max-deliveries`, the
//!   `JetStreamSettings` every service makes its streams and consumers with.
//! - [`corrections`]: `classify --train --corrections-from`: the offices'
//!   re-triages read from the tracker's database as labelled examples.
//! - [`broker`]: the one NATS connection builder: connect to the configured
//!   servers (auth refusals said as such; servers that do not answer yet
//!   are waited for in the background), or, for `up` with nothing
//!   configured, start `nats-server -js` with its store in the data
//!   directory.
//! - [`nats_child`]: that child's guard (it dies with `up`, even on -9) and
//!   its store's lock (no second server on one store).
//! - [`serve`]: the HTTP server loop with its limits ([`serve::HttpLimits`]:
//!   header-read and body idle timeouts, connection cap, uploads per
//!   client) and graceful shutdown.
//! - [`gauges`]: the polled gauges: consumer lag, the tracker's outbox
//!   depth, overdue tickets.
//! - [`http_metrics`]: the HTTP latency histogram by route template,
//!   method and status, applied by [`serve`] to every app.
//! - [`logging`]: `--log-format text|json`, colours only on a terminal.
//! - [`ops`]: `/healthz` and `/metrics` (Prometheus), shared by every mode;
//!   [`ops_listener`]: which listener serves them (`--ops-listen`).
//! - [`readiness`]: `/readyz`, which names what the service lacks (NATS, a
//!   stream, the database).
//! - [`startup`]: starting while NATS is away: connect in the background,
//!   then make sure of the streams and consumers, then run the stages.
//! - [`shutdown`]: one signal that stops every task, from Ctrl-C, SIGTERM or
//!   a test.
//! - [`submit`]: the courier's command-line client for `POST /v1/reports`.
//! - [`load`]: `civicprobe load`, many couriers at a fixed rate, with
//!   submit, submit→queue, submit→event stream and submit→webhook
//!   latencies.

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod admin;
pub mod alerts;
pub mod answers;
pub mod broker;
pub mod corrections;
pub mod gauges;
pub mod http_metrics;
pub mod ingest_access;
pub mod jetstream_args;
pub mod jurisdictions;
pub mod load;
pub mod logging;
pub mod nats_child;
pub mod nats_config;
pub mod ops;
pub mod ops_listener;
pub mod readiness;
pub mod rewards;
pub mod serve;
pub mod shutdown;
pub mod split;
pub mod stack;
pub mod startup;
pub mod submit;
