//! Web sessions: what the pages' cookie holds instead of the bearer token.
//!
//! A session id is `cps_` and 32 random bytes in hex; the table keeps only
//! its sha256, tied to the token that signed in. A session dies on sign-out
//! (the row is deleted), after [`SessionPolicy::idle`] without a request,
//! at [`SessionPolicy::max_age`] whatever happens, and with its token
//! (revoked, rotated or expired). [`Store::authenticate`] takes a session
//! id where it takes a token, so every service's checks work unchanged.

use crate::identity::tokens::{holder_columns, holder_of_row, new_secret, secret_hash};
use crate::store::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::Principal;
use sqlx::Row;
use time::Duration;

/// What every session id starts with, so it is never mistaken for a token.
pub const SESSION_PREFIX: &str = "cps_";

/// How often at most `last_seen_at` is written for one session (shorter
/// for short idle limits, so a session never dies early by more than a
/// quarter of its idle time).
const LAST_SEEN_GRANULARITY_MS: i64 = 60_000;

/// How long sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session ends this long after its last request.
    pub idle: Duration,
    /// A session ends this long after sign-in, however busy.
    pub max_age: Duration,
}

impl Default for SessionPolicy {
    /// Four idle hours, seven days at most.
    fn default() -> Self {
        Self {
            idle: Duration::hours(4),
            max_age: Duration::days(7),
        }
    }
}

/// The session limits on the command line (`up`, `tracker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::Args)]
pub struct SessionConfig {
    /// A web session ends after this many minutes without a request.
    #[arg(long, env = "CIVICPROBE_SESSION_IDLE_MINUTES", default_value_t = 240,
          value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub session_idle_minutes: u32,
    /// A web session ends this many hours after sign-in, however busy.
    #[arg(long, env = "CIVICPROBE_SESSION_MAX_HOURS", default_value_t = 168,
          value_parser = clap::value_parser!(u32).range(1..=8_760))]
    pub session_max_hours: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 240,
            session_max_hours: 168,
        }
    }
}

impl SessionConfig {
    /// The limits as durations.
    pub fn policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: Duration::minutes(self.session_idle_minutes.into()),
            max_age: Duration::hours(self.session_max_hours.into()),
        }
    }
}

/// Whether `credential` has the shape of a session id.
pub(crate) fn is_session_shape(credential: &str) -> bool {
    credential
        .strip_prefix(SESSION_PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Store {
    /// Signs in with a bearer `token`: a new session id (shown once, for
    /// the cookie) and who it belongs to; `None` if the token is not valid.
    /// A session id cannot start another session.
    pub async fn create_session(
        &self,
        token: &str,
        policy: SessionPolicy,
    ) -> Result<Option<(String, Principal)>, Error> {
        let Some(holder) = self.valid_token_holder(token).await? else {
            return Ok(None);
        };
        let now = self.now();
        self.forget_dead_sessions(to_ms(now)).await?;
        let session = format!("{SESSION_PREFIX}{}", new_secret());
        sqlx::query(
            "INSERT INTO sessions (session_hash, token_id, created_at, last_seen_at, idle_ms, \
             expires_at) VALUES ($1, $2, $3, $3, $4, $5)",
        )
        .bind(secret_hash(&session))
        .bind(&holder.token_id)
        .bind(to_ms(now))
        .bind(policy.idle.whole_milliseconds() as i64)
        .bind(to_ms(now + policy.max_age))
        .execute(&self.pool)
        .await?;
        tracing::info!(token_id = holder.token_id, "session started");
        Ok(Some((session, holder.principal)))
    }

    /// Signs out: the session is gone for every service. `false` if there
    /// was none.
    pub async fn end_session(&self, session: &str) -> Result<bool, Error> {
        if !is_session_shape(session) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM sessions WHERE session_hash = $1")
            .bind(secret_hash(session))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The holder of a live session whose token is still valid.
    pub(crate) async fn authenticate_session(
        &self,
        session: &str,
    ) -> Result<Option<Principal>, Error> {
        let row = sqlx::query(concat!(
            "SELECT s.last_seen_at, s.idle_ms, s.expires_at AS s_expires_at, ",
            holder_columns!(),
            " FROM sessions s JOIN tokens t ON t.token_id = s.token_id \
             LEFT JOIN persons p ON p.person_id = t.person_id WHERE s.session_hash = $1"
        ))
        .bind(secret_hash(session))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let now = to_ms(self.now());
        let last_seen: i64 = row.try_get("last_seen_at")?;
        let idle: i64 = row.try_get("idle_ms")?;
        let expires: i64 = row.try_get("s_expires_at")?;
        let holder = holder_of_row(&row)?;
        if now >= expires || now >= last_seen.saturating_add(idle) || !holder.is_valid_at(now) {
            return Ok(None);
        }
        if now - last_seen >= LAST_SEEN_GRANULARITY_MS.min(idle / 4) {
            self.note_session_use(session, now).await;
        }
        self.note_token_use(&holder, now).await;
        Ok(Some(holder.principal))
    }

    /// Moves `last_seen_at`. Best effort, like a token's last use.
    async fn note_session_use(&self, session: &str, now: i64) {
        let touched = sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE session_hash = $2")
            .bind(now)
            .bind(secret_hash(session))
            .execute(&self.pool)
            .await;
        if let Err(e) = touched {
            tracing::debug!(error = %e, "could not record the session's last use");
        }
    }

    /// Deletes sessions past their idle or absolute limit (they are refused
    /// anyway; this keeps the table small).
    async fn forget_dead_sessions(&self, now: i64) -> Result<(), Error> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_ms <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many sessions `token_id` has open (for tests and `token list`).
    pub async fn session_count(&self, token_id: &str) -> Result<i64, Error> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE token_id = $1")
            .bind(token_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_told_apart_from_tokens() {
        let session = format!("{SESSION_PREFIX}{}", new_secret());
        assert!(is_session_shape(&session));
        assert!(!is_session_shape(&new_secret()));
        assert!(!is_session_shape("cps_"));
        assert!(!is_session_shape(&format!(
            "{SESSION_PREFIX}{}",
            "g".repeat(64)
        )));
    }
}
