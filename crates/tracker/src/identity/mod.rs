//! Who is asking: bearer tokens of couriers and of persons (office staff,
//! supervisors) with expiry, web sessions, the admin commands over them,
//! and the live credentials every ingest follows on `TOKENS`.
//!
//! # Layout
//!
//! - [`tokens`]: issuing and checking tokens (stored as sha256 hashes).
//! - [`token_admin`]: `token list|revoke|rotate`.
//! - [`sessions`]: web sessions and their policy.
//! - `credentials`: the live credentials as rows.
//! - [`feed`]: those credentials reconciled onto `TOKENS`.

mod credentials;
pub mod feed;
pub mod sessions;
pub mod token_admin;
pub mod tokens;
