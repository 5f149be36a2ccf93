//! Every live credential as ingest must know it: the rows
//! [`crate::identity::feed`] publishes on `TOKENS`. Hashes only; a secret is
//! never stored, so it cannot be published.

use crate::identity::tokens::{holder_columns, holder_of_row};
use crate::store::Store;
use crate::tickets::rows::parsed;
use crate::time_ms::{from_ms, to_ms};
use crate::Error;
use civicprobe_model::{CredentialGrant, Sha256};
use sqlx::Row;
use std::collections::HashMap;

/// What a token without expiry is published as valid until (none are
/// issued so; the column allows it): the end of year 9999.
const NO_EXPIRY_MS: i64 = 253_402_300_799_000;

impl Store {
    /// Every bearer token neither revoked nor expired, and every session
    /// alive (not signed out, within its idle and absolute limits, its
    /// token valid) at this store's `now`, by hash. A session is valid
    /// until the earliest of its limits and its token's expiry; its idle
    /// deadline moves as `last_seen_at` does (written at most once a
    /// minute), so a used session is republished about once a minute.
    pub async fn live_credentials(&self) -> Result<HashMap<Sha256, CredentialGrant>, Error> {
        let now = to_ms(self.now());
        let mut live = HashMap::new();
        let tokens = sqlx::query(concat!(
            "SELECT t.token_hash, ",
            holder_columns!(),
            " FROM tokens t LEFT JOIN persons p ON p.person_id = t.person_id \
             WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $1)"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        for row in &tokens {
            let holder = holder_of_row(row)?;
            let until = holder.expires_at.unwrap_or(NO_EXPIRY_MS);
            live.insert(parsed(row, "token_hash")?, grant(holder.principal, until)?);
        }
        let sessions = sqlx::query(concat!(
            "SELECT s.session_hash, s.last_seen_at, s.idle_ms, s.expires_at AS s_expires_at, ",
            holder_columns!(),
            " FROM sessions s JOIN tokens t ON t.token_id = s.token_id \
             LEFT JOIN persons p ON p.person_id = t.person_id \
             WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $1) \
             AND s.expires_at > $1 AND s.last_seen_at + s.idle_ms > $1"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        for row in &sessions {
            let holder = holder_of_row(row)?;
            let last_seen: i64 = row.try_get("last_seen_at")?;
            let idle: i64 = row.try_get("idle_ms")?;
            let expires: i64 = row.try_get("s_expires_at")?;
            let until = expires
                .min(last_seen.saturating_add(idle))
                .min(holder.expires_at.unwrap_or(NO_EXPIRY_MS));
            live.insert(
                parsed(row, "session_hash")?,
                grant(holder.principal, until)?,
            );
        }
        Ok(live)
    }
}

fn grant(principal: civicprobe_model::Principal, until_ms: i64) -> Result<CredentialGrant, Error> {
    Ok(CredentialGrant {
        principal,
        valid_until: from_ms(until_ms)?,
    })
}
