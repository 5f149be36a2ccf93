//! `civicprobe token list | revoke | rotate`: tokens named by their public
//! id. Revoking (or rotating) ends the token's web sessions in the same
//! transaction, so from the commit on no service accepts either.

use crate::identity::tokens::{holder_columns, holder_of_row, opt_time, Issued};
use crate::store::Store;
use crate::time_ms::{from_ms, to_ms};
use crate::Error;
use civicprobe_model::{Principal, Role};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// One token as `token list` shows it: never the secret, never its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The public id.
    pub token_id: String,
    /// Who holds it: role, office, person or courier.
    pub principal: Principal,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working; `None` for none.
    pub expires_at: Option<OffsetDateTime>,
    /// Its last use, to the minute.
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// What `token revoke` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The token and its sessions are dead from now on.
    Revoked,
    /// It was revoked before; nothing changed.
    AlreadyRevoked,
    /// No token has this id.
    NotFound,
}

impl Store {
    /// Every token, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT t.created_at, ",
            holder_columns!(),
            " FROM tokens t LEFT JOIN persons p ON p.person_id = t.person_id \
             ORDER BY t.created_at, t.token_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let holder = holder_of_row(row)?;
                Ok(TokenInfo {
                    token_id: holder.token_id,
                    principal: holder.principal,
                    created_at: from_ms(row.try_get("created_at")?)?,
                    expires_at: opt_time(holder.expires_at)?,
                    last_used_at: opt_time(holder.last_used_at)?,
                    revoked_at: opt_time(holder.revoked_at)?,
                })
            })
            .collect()
    }

    /// Revokes `token_id` and ends its sessions.
    pub async fn revoke_token(&self, token_id: &str) -> Result<Revocation, Error> {
        let mut tx = self.pool.begin().await?;
        // The write comes first: SQLite then takes its write lock before
        // anything is read, instead of failing to upgrade a read snapshot
        // ("database is locked") when a running service wrote meanwhile.
        let revoked = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL",
        )
        .bind(to_ms(self.now()))
        .bind(token_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        sqlx::query("DELETE FROM sessions WHERE token_id = $1")
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        let outcome = if revoked {
            Revocation::Revoked
        } else {
            let known = sqlx::query("SELECT 1 FROM tokens WHERE token_id = $1")
                .bind(token_id)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_some() {
                Revocation::AlreadyRevoked
            } else {
                Revocation::NotFound
            }
        };
        tx.commit().await?;
        tracing::info!(token_id, outcome = ?outcome, "token revoked");
        Ok(outcome)
    }

    /// A new token for the same holder (lasting `lifetime`, default the
    /// role's), then `token_id` revoked. `None` if no unrevoked token has
    /// this id.
    pub async fn rotate_token(
        &self,
        token_id: &str,
        lifetime: Option<Duration>,
    ) -> Result<Option<Issued>, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            holder_columns!(),
            " FROM tokens t LEFT JOIN persons p ON p.person_id = t.person_id \
             WHERE t.token_id = $1 AND t.revoked_at IS NULL"
        ))
        .bind(token_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let name: String = row.try_get("name")?;
        let holder = holder_of_row(&row)?;
        let issued = self.insert_token(holder.principal, &name, lifetime).await?;
        if self.revoke_token(token_id).await? != Revocation::Revoked {
            // Revoked by someone else meanwhile: the new token must not
            // outlive that decision.
            self.revoke_token(&issued.token_id).await?;
            return Ok(None);
        }
        Ok(Some(issued))
    }
}

impl TokenInfo {
    /// The holder's name: the courier's or the person's.
    pub fn holder_name(&self) -> &str {
        match &self.principal {
            Principal::Courier { name, .. } => name,
            Principal::Office { person, .. } | Principal::Supervisor { person } => &person.name,
        }
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.principal.role()
    }
}
