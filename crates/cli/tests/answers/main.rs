//! Issue 11's answers, against a real stack (its own nats-server, SQLite):
//! every error is a problem (or an Open311 error document) that does not
//! echo its input, nothing panics, control characters are refused,
//! `--public-url` sets absolute URLs, `/metrics` needs its token, and no
//! log line carries a credential.

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod fuzz;
mod harness;
mod routes;
mod secrets;
