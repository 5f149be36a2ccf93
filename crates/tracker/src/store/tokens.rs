//! Bearer tokens. A token is 32 random bytes in hex, shown once; the table
//! keeps only its sha256, so a leaked database yields no usable token.

use super::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{CourierId, OfficeId, Principal, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use time::OffsetDateTime;

/// A new random token: 64 lower-case hex characters.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a token. (Hashing 64 bytes takes well under a
/// microsecond, so it runs inline rather than in `spawn_blocking`.)
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Registers a courier; returns their new id and token.
    pub async fn add_courier(&self, name: &str) -> Result<(CourierId, String), Error> {
        let courier_id = CourierId::new();
        let token = self
            .insert_token(Role::Courier, &courier_id.to_string(), name)
            .await?;
        Ok((courier_id, token))
    }

    /// Registers (or renames) a street office and issues a token scoped to it.
    pub async fn add_office(
        &self,
        office_id: &OfficeId,
        name: Option<&str>,
    ) -> Result<String, Error> {
        let name = name.unwrap_or(office_id.as_str());
        sqlx::query(
            "INSERT INTO offices (office_id, name) VALUES ($1, $2) \
             ON CONFLICT (office_id) DO UPDATE SET name = excluded.name",
        )
        .bind(office_id.as_str())
        .bind(name)
        .execute(&self.pool)
        .await?;
        self.insert_token(Role::Office, office_id.as_str(), name)
            .await
    }

    /// Issues a supervisor token.
    pub async fn add_supervisor(&self, name: &str) -> Result<String, Error> {
        self.insert_token(Role::Supervisor, name, name).await
    }

    async fn insert_token(&self, role: Role, subject: &str, name: &str) -> Result<String, Error> {
        let token = new_token();
        sqlx::query(
            "INSERT INTO tokens (token_hash, role, subject, name, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(role.as_str())
        .bind(subject)
        .bind(name)
        .bind(to_ms(OffsetDateTime::now_utc()))
        .execute(&self.pool)
        .await?;
        tracing::info!(role = %role, subject, "token issued");
        Ok(token)
    }

    /// Who holds `token`, or `None` for a token that was never issued.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, Error> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT role, subject, name FROM tokens WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role: Role = super::rows::parsed(&row, "role")?;
        let name: String = row.try_get("name")?;
        let principal = match role {
            Role::Courier => Principal::Courier {
                courier_id: super::rows::parsed(&row, "subject")?,
                name,
            },
            Role::Office => Principal::Office {
                office_id: super::rows::parsed(&row, "subject")?,
            },
            Role::Supervisor => Principal::Supervisor {
                name: row.try_get("subject")?,
            },
        };
        Ok(Some(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_and_distinct_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
