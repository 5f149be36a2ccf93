//! Bearer tokens. A token is 32 random bytes in hex, shown once; the table
//! keeps only its sha256, so a leaked database yields no usable token.
//!
//! Each token has a public [`Issued::token_id`] (what `civicprobe token
//! list|revoke|rotate` name), an expiry, and may be revoked. Office staff
//! and supervisors are persons (table `persons`): a token names its person,
//! so the ticket history says who acted. [`Store::authenticate`] reads the
//! database on every call and caches nothing, so a revocation holds at once
//! in every process on the same database.

use crate::store::Store;
use crate::time_ms::{from_ms, to_ms};
use crate::Error;
use civicprobe_model::{CourierId, OfficeId, Person, PersonId, Principal, Role, Sha256};
use rand::RngCore;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// The columns [`holder_of_row`] reads: `tokens t LEFT JOIN persons p`.
macro_rules! holder_columns {
    () => {
        "t.token_id, t.role, t.subject, t.name, t.expires_at, t.revoked_at, t.last_used_at, \
         p.person_id AS p_id, p.name AS p_name"
    };
}
pub(crate) use holder_columns;

/// How often at most `last_used_at` is written for one token.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

/// How long a new token lasts when the command does not say: couriers a
/// year, office staff and supervisors 90 days.
pub fn default_lifetime(role: Role) -> Duration {
    match role {
        Role::Courier => Duration::days(365),
        Role::Office | Role::Supervisor => Duration::days(90),
    }
}

/// A token just issued. `token` is the secret: print it once, store it
/// nowhere.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// The bearer token (64 hex characters).
    pub token: String,
    /// Its public id, for `token list|revoke|rotate`.
    pub token_id: String,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// Who holds it.
    pub principal: Principal,
}

impl std::fmt::Debug for Issued {
    /// Masks the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("token", &"<secret>")
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .field("principal", &self.principal)
            .finish()
    }
}

/// What a token row says about its holder, before validity checks.
pub(crate) struct Holder {
    /// `tokens.token_id`.
    pub token_id: String,
    /// Who it names.
    pub principal: Principal,
    /// `None`: a token without expiry (none are issued so).
    pub expires_at: Option<i64>,
    /// Set once revoked.
    pub revoked_at: Option<i64>,
    /// Last successful authentication, coarse.
    pub last_used_at: Option<i64>,
}

impl Holder {
    /// Neither revoked nor expired at `now_ms`.
    pub(crate) fn is_valid_at(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now_ms < at)
    }
}

/// A new random secret: 64 lower-case hex characters.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new public token id: 16 lower-case hex characters.
fn new_token_id() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a secret. (Hashing 64 bytes takes well under a
/// microsecond, so it runs inline rather than in `spawn_blocking`.)
pub(crate) fn secret_hash(secret: &str) -> String {
    Sha256::of(secret.as_bytes()).to_string()
}

/// Whether `token` has the shape of an issued bearer token.
fn is_token_shape(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Store {
    /// Registers a courier with the default lifetime; returns their new id
    /// and token.
    pub async fn add_courier(&self, name: &str) -> Result<(CourierId, String), Error> {
        let issued = self.issue_courier(name, None).await?;
        let Principal::Courier { courier_id, .. } = issued.principal else {
            unreachable!("issue_courier issues courier tokens");
        };
        Ok((courier_id, issued.token))
    }

    /// Registers (or renames) a street office and issues a token for a new
    /// *unnamed* person of it (default lifetime). Prefer [`Store::issue_office`].
    pub async fn add_office(
        &self,
        office_id: &OfficeId,
        name: Option<&str>,
    ) -> Result<String, Error> {
        Ok(self.issue_office(office_id, name, "", None).await?.token)
    }

    /// Issues a token for a new supervisor `name` (default lifetime).
    pub async fn add_supervisor(&self, name: &str) -> Result<String, Error> {
        Ok(self.issue_supervisor(name, None).await?.token)
    }

    /// Registers a courier; the token lasts `lifetime` (default: the role's).
    pub async fn issue_courier(
        &self,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<Issued, Error> {
        let principal = Principal::Courier {
            courier_id: CourierId::new(),
            name: name.to_owned(),
        };
        self.insert_token(principal, name, lifetime).await
    }

    /// Registers (or renames, with `office_name`) a street office and a new
    /// person `person_name` of its staff; returns that person's token.
    pub async fn issue_office(
        &self,
        office_id: &OfficeId,
        office_name: Option<&str>,
        person_name: &str,
        lifetime: Option<Duration>,
    ) -> Result<Issued, Error> {
        let office_name = office_name.unwrap_or(office_id.as_str());
        sqlx::query(
            "INSERT INTO offices (office_id, name) VALUES ($1, $2) \
             ON CONFLICT (office_id) DO UPDATE SET name = excluded.name",
        )
        .bind(office_id.as_str())
        .bind(office_name)
        .execute(&self.pool)
        .await?;
        let principal = Principal::Office {
            office_id: office_id.clone(),
            person: new_person(person_name),
        };
        self.insert_person(&principal).await?;
        self.insert_token(principal, office_name, lifetime).await
    }

    /// Registers a new supervisor `name`; returns their token.
    pub async fn issue_supervisor(
        &self,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<Issued, Error> {
        let principal = Principal::Supervisor {
            person: new_person(name),
        };
        self.insert_person(&principal).await?;
        self.insert_token(principal, name, lifetime).await
    }

    async fn insert_person(&self, principal: &Principal) -> Result<(), Error> {
        let Some(person) = principal.person() else {
            return Ok(());
        };
        let office_id = match principal {
            Principal::Office { office_id, .. } => Some(office_id.as_str()),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO persons (person_id, role, office_id, name, actor, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(person.person_id.to_string())
        .bind(principal.role().as_str())
        .bind(office_id)
        .bind(&person.name)
        .bind(principal.actor())
        .bind(to_ms(self.now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a new token for `principal`. `name` is the `tokens.name`
    /// column: the courier's or supervisor's name, the office's name.
    pub(crate) async fn insert_token(
        &self,
        principal: Principal,
        name: &str,
        lifetime: Option<Duration>,
    ) -> Result<Issued, Error> {
        let role = principal.role();
        let now = self.now();
        let expires_at = now + lifetime.unwrap_or_else(|| default_lifetime(role));
        let (token, token_id) = (new_secret(), new_token_id());
        let subject = match &principal {
            Principal::Courier { courier_id, .. } => courier_id.to_string(),
            Principal::Office { office_id, .. } => office_id.to_string(),
            Principal::Supervisor { person } => person.name.clone(),
        };
        sqlx::query(
            "INSERT INTO tokens (token_hash, role, subject, name, created_at, token_id, \
             person_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(secret_hash(&token))
        .bind(role.as_str())
        .bind(&subject)
        .bind(name)
        .bind(to_ms(now))
        .bind(&token_id)
        .bind(principal.person().map(|p| p.person_id.to_string()))
        .bind(to_ms(expires_at))
        .execute(&self.pool)
        .await?;
        tracing::info!(role = %role, token_id, actor = principal.actor(), "token issued");
        Ok(Issued {
            token,
            token_id,
            expires_at,
            principal,
        })
    }

    /// Who holds `credential`: a bearer token, or a web session id (see
    /// [`Store::create_session`]). `None` for anything never issued,
    /// expired, revoked or signed out. Reads the database every time.
    pub async fn authenticate(&self, credential: &str) -> Result<Option<Principal>, Error> {
        if crate::identity::sessions::is_session_shape(credential) {
            return self.authenticate_session(credential).await;
        }
        Ok(self
            .valid_token_holder(credential)
            .await?
            .map(|h| h.principal))
    }

    /// The holder of a bearer token that is neither expired nor revoked.
    pub(crate) async fn valid_token_holder(&self, token: &str) -> Result<Option<Holder>, Error> {
        if !is_token_shape(token) {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            holder_columns!(),
            " FROM tokens t LEFT JOIN persons p ON p.person_id = t.person_id \
             WHERE t.token_hash = $1"
        ))
        .bind(secret_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(holder) = row.as_ref().map(holder_of_row).transpose()? else {
            return Ok(None);
        };
        let now = to_ms(self.now());
        if !holder.is_valid_at(now) {
            return Ok(None);
        }
        self.note_token_use(&holder, now).await;
        Ok(Some(holder))
    }

    /// Records `last_used_at`, at most once a minute per token. Best
    /// effort: a busy database must not turn a valid token away.
    pub(crate) async fn note_token_use(&self, holder: &Holder, now: i64) {
        if holder
            .last_used_at
            .is_some_and(|at| now - at < LAST_USED_GRANULARITY_MS)
        {
            return;
        }
        let touched = sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE token_id = $2")
            .bind(now)
            .bind(&holder.token_id)
            .execute(&self.pool)
            .await;
        if let Err(e) = touched {
            tracing::debug!(error = %e, "could not record the token's last use");
        }
    }
}

/// A new person named `name`.
fn new_person(name: &str) -> Person {
    Person {
        person_id: PersonId::new(),
        name: name.to_owned(),
    }
}

/// Reads [`holder_columns!`].
pub(crate) fn holder_of_row(row: &AnyRow) -> Result<Holder, Error> {
    use crate::tickets::rows::parsed;
    let role: Role = parsed(row, "role")?;
    let person = || -> Result<Person, Error> {
        Ok(Person {
            person_id: parsed(row, "p_id")?,
            name: row.try_get("p_name")?,
        })
    };
    let principal = match role {
        Role::Courier => Principal::Courier {
            courier_id: parsed(row, "subject")?,
            name: row.try_get("name")?,
        },
        Role::Office => Principal::Office {
            office_id: parsed(row, "subject")?,
            person: person()?,
        },
        Role::Supervisor => Principal::Supervisor { person: person()? },
    };
    Ok(Holder {
        token_id: row.try_get("token_id")?,
        principal,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

/// `ms` as a time, for listings.
pub(crate) fn opt_time(ms: Option<i64>) -> Result<Option<OffsetDateTime>, Error> {
    ms.map(from_ms).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_64_hex_and_distinct_and_hashed() {
        let (a, b) = (new_secret(), new_secret());
        assert!(is_token_shape(&a));
        assert_ne!(a, b);
        assert_ne!(secret_hash(&a), a);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_eq!(new_token_id().len(), 16);
    }

    #[test]
    fn a_revoked_or_expired_holder_is_not_valid() {
        let holder = |expires_at, revoked_at| Holder {
            token_id: "t".into(),
            principal: Principal::Courier {
                courier_id: CourierId::new(),
                name: "a".into(),
            },
            expires_at,
            revoked_at,
            last_used_at: None,
        };
        assert!(holder(Some(10), None).is_valid_at(9));
        assert!(!holder(Some(10), None).is_valid_at(10));
        assert!(!holder(Some(10), Some(5)).is_valid_at(9));
        assert!(holder(None, None).is_valid_at(i64::MAX));
    }
}
