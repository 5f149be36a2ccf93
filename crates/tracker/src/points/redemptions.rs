//! Spending points: a courier redeems a reward for a pickup code, and a
//! supervisor marks the pickup handed over.
//!
//! One redemption is one transaction: the courier's wallet lock first
//! (`crate::points::wallet`), then the balance as of that lock, then one item of
//! stock taken by a conditional `UPDATE` (`stock > 0`, not retired, its
//! rows affected checked), then the ledger entry (`redemption`, minus the
//! cost) and the `redemptions` row. Neither the balance nor the stock can
//! go below zero, whatever runs beside it.

use crate::points::wallet::{self, Debit};
use crate::store::Store;
use crate::time_ms::{from_ms, from_opt_ms, to_ms};
use crate::Error;
use civicprobe_model::{CourierId, EventId};
use rand::Rng;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a pickup code is made of: no 0/O, no 1/I.
pub const PICKUP_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters of a pickup code (32^8, about 10^12 codes).
pub const PICKUP_LEN: usize = 8;
/// Tries with a fresh code when one collides with an earlier one.
const PICKUP_ATTEMPTS: u32 = 5;

/// The columns [`redemption_of`] reads, `r` being `redemptions`.
const REDEMPTION_COLUMNS: &str = "r.redemption_id, r.reward_id, r.reward_name, r.cost, \
     r.pickup_code, r.at, r.collected_at, r.courier_id, \
     (SELECT MIN(k.name) FROM tokens k WHERE k.role = 'courier' AND k.subject = r.courier_id) \
     AS courier_name";

/// One redemption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Redemption {
    /// Its id.
    pub redemption_id: Uuid,
    /// The reward redeemed.
    pub reward_id: Uuid,
    /// The reward's name at the time.
    pub reward_name: String,
    /// Points it cost.
    pub cost: i64,
    /// What the courier shows at the pickup.
    pub pickup_code: String,
    /// When it was redeemed.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// When a supervisor handed it over, if yet.
    #[serde(with = "time::serde::rfc3339::option")]
    pub collected_at: Option<OffsetDateTime>,
    /// Whose it is (supervisors' listing only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub courier_id: Option<CourierId>,
    /// Their registered name (supervisors' listing only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub courier_name: Option<String>,
}

/// A courier's request to redeem.
#[derive(Clone, Copy, Debug)]
pub struct RedeemRequest<'a> {
    /// Who spends.
    pub courier_id: CourierId,
    /// What they take.
    pub reward_id: Uuid,
    /// The client's `Idempotency-Key`: the same key returns the same
    /// redemption instead of booking another.
    pub idempotency_key: Option<&'a str>,
}

/// What a redemption request came to.
#[derive(Clone, Debug)]
pub struct Redeemed {
    /// The redemption (the earlier one for a repeated key).
    pub redemption: Redemption,
    /// The courier's balance after it.
    pub balance: i64,
    /// A repeated `Idempotency-Key`: nothing new was booked.
    pub replayed: bool,
}

/// A fresh random pickup code.
pub fn pickup_code() -> String {
    let mut rng = rand::thread_rng();
    (0..PICKUP_LEN)
        .map(|_| char::from(PICKUP_ALPHABET[rng.gen_range(0..PICKUP_ALPHABET.len())]))
        .collect()
}

/// Whether `e` is the pickup code's UNIQUE index refusing a collision.
fn is_pickup_collision(e: &Error) -> bool {
    let Error::Database(e) = e else { return false };
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation() && d.message().contains("pickup_code"))
}

fn redemption_of(row: &AnyRow) -> Result<Redemption, Error> {
    let uuid = |column: &str| -> Result<Uuid, Error> {
        let text: String = row.try_get(column)?;
        text.parse()
            .map_err(|_| Error::Corrupt(format!("{column} {text}")))
    };
    Ok(Redemption {
        redemption_id: uuid("redemption_id")?,
        reward_id: uuid("reward_id")?,
        reward_name: row.try_get("reward_name")?,
        cost: row.try_get("cost")?,
        pickup_code: row.try_get("pickup_code")?,
        at: from_ms(row.try_get("at")?)?,
        collected_at: from_opt_ms(row.try_get("collected_at")?)?,
        courier_id: Some(crate::tickets::rows::parsed(row, "courier_id")?),
        courier_name: row.try_get("courier_name")?,
    })
}

/// The courier's earlier redemption under `key`, if any.
async fn by_key(
    tx: &mut Transaction<'static, Any>,
    courier_id: CourierId,
    key: &str,
) -> Result<Option<Redemption>, Error> {
    let sql = format!(
        "SELECT {REDEMPTION_COLUMNS} FROM redemptions r \
         WHERE r.courier_id = $1 AND r.idempotency_key = $2"
    );
    let row = sqlx::query(&sql)
        .bind(courier_id.to_string())
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(redemption_of).transpose()
}

/// The reward's name and cost, if it can be redeemed now.
async fn redeemable(
    tx: &mut Transaction<'static, Any>,
    reward_id: Uuid,
) -> Result<(String, i64), Error> {
    let row = sqlx::query("SELECT name, cost, stock, retired_at FROM rewards WHERE reward_id = $1")
        .bind(reward_id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::RewardNotFound(reward_id))?;
    if row.try_get::<Option<i64>, _>("retired_at")?.is_some() {
        return Err(Error::RewardRetired(reward_id));
    }
    if row.try_get::<i64, _>("stock")? <= 0 {
        return Err(Error::OutOfStock(reward_id));
    }
    Ok((row.try_get("name")?, row.try_get("cost")?))
}

/// Takes one item of stock, only if one is left and the reward is not
/// retired; otherwise says why not (as of now).
async fn take_one(
    tx: &mut Transaction<'static, Any>,
    reward_id: Uuid,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let taken = sqlx::query(
        "UPDATE rewards SET stock = stock - 1, updated_at = $1 \
         WHERE reward_id = $2 AND stock > 0 AND retired_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(reward_id.to_string())
    .execute(&mut **tx)
    .await?;
    if taken.rows_affected() == 1 {
        return Ok(());
    }
    // Someone took the last one (or retired it) since we read it.
    redeemable(tx, reward_id).await?;
    Err(Error::OutOfStock(reward_id))
}

/// The earlier redemption under the request's `Idempotency-Key`, if any,
/// with the balance now; a key reused for another reward is refused.
async fn replay(
    tx: &mut Transaction<'static, Any>,
    request: RedeemRequest<'_>,
) -> Result<Option<Redeemed>, Error> {
    let Some(key) = request.idempotency_key else {
        return Ok(None);
    };
    let Some(earlier) = by_key(tx, request.courier_id, key).await? else {
        return Ok(None);
    };
    if earlier.reward_id != request.reward_id {
        return Err(Error::IdempotencyKeyReused);
    }
    let balance = wallet::balance(tx, request.courier_id).await?;
    Ok(Some(Redeemed {
        redemption: earlier,
        balance,
        replayed: true,
    }))
}

/// Books `r` for `courier_id`: its ledger entry (minus the cost) and its row.
async fn record(
    tx: &mut Transaction<'static, Any>,
    courier_id: CourierId,
    r: &Redemption,
    key: Option<&str>,
) -> Result<(), Error> {
    let entry_id = EventId::derived(r.redemption_id, "redemption");
    let debit = Debit {
        entry_id,
        courier_id,
        ticket_report: None,
        points: r.cost,
        kind: "redemption",
        event_id: EventId(r.redemption_id),
        at: r.at,
    };
    wallet::book(tx, debit).await?;
    sqlx::query(
        "INSERT INTO redemptions (redemption_id, courier_id, reward_id, reward_name, cost, \
         pickup_code, entry_id, idempotency_key, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.redemption_id.to_string())
    .bind(courier_id.to_string())
    .bind(r.reward_id.to_string())
    .bind(&r.reward_name)
    .bind(r.cost)
    .bind(&r.pickup_code)
    .bind(entry_id.to_string())
    .bind(key)
    .bind(to_ms(r.at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Redeems one item of a reward for a courier (see the module doc).
    ///
    /// Errors: [`Error::RewardNotFound`], [`Error::RewardRetired`],
    /// [`Error::OutOfStock`], [`Error::InsufficientPoints`],
    /// [`Error::IdempotencyKeyReused`].
    pub async fn redeem(&self, request: RedeemRequest<'_>) -> Result<Redeemed, Error> {
        let mut attempt = 1;
        loop {
            match self.try_redeem(request, pickup_code()).await {
                Err(e) if attempt < PICKUP_ATTEMPTS && is_pickup_collision(&e) => {
                    tracing::warn!(attempt, "pickup code collided; drawing another");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn try_redeem(
        &self,
        request: RedeemRequest<'_>,
        code: String,
    ) -> Result<Redeemed, Error> {
        let (courier_id, reward_id, at) = (request.courier_id, request.reward_id, self.now());
        let mut tx = self.pool.begin().await?;
        // The write comes first: see `wallet`.
        wallet::lock(&mut tx, courier_id, at).await?;
        if let Some(earlier) = replay(&mut tx, request).await? {
            tx.rollback().await?;
            return Ok(earlier);
        }
        let (reward_name, cost) = redeemable(&mut tx, reward_id).await?;
        let balance = wallet::balance(&mut tx, courier_id).await?;
        if balance < cost {
            return Err(Error::InsufficientPoints { balance, cost });
        }
        take_one(&mut tx, reward_id, at).await?;
        let redemption = Redemption {
            redemption_id: Uuid::now_v7(),
            reward_id,
            reward_name,
            cost,
            pickup_code: code,
            at: from_ms(to_ms(at))?,
            collected_at: None,
            courier_id: Some(courier_id),
            courier_name: None,
        };
        record(&mut tx, courier_id, &redemption, request.idempotency_key).await?;
        tx.commit().await?;
        let redemption_id = redemption.redemption_id;
        tracing::info!(redemption_id = %redemption_id, reward_id = %reward_id, cost, "redeemed");
        Ok(Redeemed {
            redemption,
            balance: balance - cost,
            replayed: false,
        })
    }

    /// Redemptions, newest first, at most `limit`: one courier's, or
    /// everyone's (`None`).
    pub async fn redemptions(
        &self,
        courier_id: Option<CourierId>,
        limit: i64,
    ) -> Result<Vec<Redemption>, Error> {
        let filter = if courier_id.is_some() {
            "WHERE r.courier_id = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {REDEMPTION_COLUMNS} FROM redemptions r {filter} \
             ORDER BY r.at DESC, r.redemption_id DESC LIMIT $1"
        );
        let mut query = sqlx::query(&sql).bind(limit);
        if let Some(courier_id) = courier_id {
            query = query.bind(courier_id.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(redemption_of).collect()
    }

    /// One redemption.
    pub async fn redemption(&self, redemption_id: Uuid) -> Result<Option<Redemption>, Error> {
        let sql =
            format!("SELECT {REDEMPTION_COLUMNS} FROM redemptions r WHERE r.redemption_id = $1");
        let row = sqlx::query(&sql)
            .bind(redemption_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(redemption_of).transpose()
    }

    /// Marks a redemption handed over by `actor`, once.
    ///
    /// Errors: [`Error::RedemptionNotFound`], [`Error::AlreadyCollected`].
    pub async fn collect_redemption(
        &self,
        redemption_id: Uuid,
        actor: &str,
    ) -> Result<Redemption, Error> {
        let done = sqlx::query(
            "UPDATE redemptions SET collected_at = $1, collected_by = $2 \
             WHERE redemption_id = $3 AND collected_at IS NULL",
        )
        .bind(to_ms(self.now()))
        .bind(actor)
        .bind(redemption_id.to_string())
        .execute(&self.pool)
        .await?;
        let found = self.redemption(redemption_id).await?;
        match (done.rows_affected(), found) {
            (_, None) => Err(Error::RedemptionNotFound(redemption_id)),
            (0, Some(_)) => Err(Error::AlreadyCollected(redemption_id)),
            (_, Some(redemption)) => {
                tracing::info!(redemption_id = %redemption_id, "pickup handed over");
                Ok(redemption)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickup_codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let code = pickup_code();
            assert_eq!(code.len(), PICKUP_LEN);
            assert!(code.bytes().all(|b| PICKUP_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I']));
        }
        assert_ne!(pickup_code(), pickup_code());
    }
}
