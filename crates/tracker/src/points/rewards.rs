//! The rewards catalogue supervisors keep: what a courier's points buy.
//! Names, costs and stock are checked once, by [`RewardDraft::parse`] and
//! [`RewardPatch::parse`], for the HTTP API and the CLI alike; a retired
//! reward stays in the table (redemptions name it) but cannot be redeemed.

use crate::store::Store;
use crate::time_ms::{from_ms, to_ms};
use crate::Error;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest reward name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 80;
/// Dearest reward, in points.
pub const MAX_COST: i64 = 100_000;
/// Most items of one reward in stock.
pub const MAX_STOCK: i64 = 1_000_000;

/// The columns [`reward_of`] reads.
const REWARD_COLUMNS: &str = "reward_id, name, cost, stock, retired_at, created_at, updated_at";

/// One reward of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reward {
    /// Its id (the path of its routes).
    pub reward_id: Uuid,
    /// What couriers see, Chinese or English.
    pub name: String,
    /// Points one item costs.
    pub cost: i64,
    /// Items left; a redemption takes one.
    pub stock: i64,
    /// Retired rewards are kept for the redemptions that name them.
    pub retired: bool,
    /// When a supervisor added it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its last change (edit, retirement, redemption).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A new reward, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardDraft {
    /// Trimmed, 1 to [`MAX_NAME_CHARS`] characters.
    pub name: String,
    /// 1 to [`MAX_COST`].
    pub cost: i64,
    /// 0 to [`MAX_STOCK`].
    pub stock: i64,
}

/// A change to a reward, checked: at least one field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewardPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new cost.
    pub cost: Option<i64>,
    /// A new stock level (absolute, not a delta).
    pub stock: Option<i64>,
}

/// `name` trimmed and checked.
pub fn parse_name(raw: &str) -> Result<String, Error> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(bad(
            "name",
            format!("name must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    civicprobe_model::text::check(name).map_err(|e| bad("name", format!("name {e}")))?;
    if name.contains(['\n', '\r']) {
        return Err(bad("name", "name must be one line".into()));
    }
    Ok(name.to_owned())
}

/// `value` of `field` within `min..=max`.
fn in_range(field: &'static str, value: i64, min: i64, max: i64) -> Result<i64, Error> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(bad(
            field,
            format!("{field} must be an integer from {min} to {max}"),
        ))
    }
}

fn bad(field: &'static str, detail: String) -> Error {
    Error::BadField { field, detail }
}

impl RewardDraft {
    /// Checks every field.
    pub fn parse(name: &str, cost: i64, stock: i64) -> Result<RewardDraft, Error> {
        Ok(RewardDraft {
            name: parse_name(name)?,
            cost: in_range("cost", cost, 1, MAX_COST)?,
            stock: in_range("stock", stock, 0, MAX_STOCK)?,
        })
    }
}

impl RewardPatch {
    /// Checks the fields given; refuses a patch that changes nothing.
    pub fn parse(
        name: Option<&str>,
        cost: Option<i64>,
        stock: Option<i64>,
    ) -> Result<RewardPatch, Error> {
        if name.is_none() && cost.is_none() && stock.is_none() {
            return Err(bad("body", "give at least one of name, cost, stock".into()));
        }
        Ok(RewardPatch {
            name: name.map(parse_name).transpose()?,
            cost: cost.map(|c| in_range("cost", c, 1, MAX_COST)).transpose()?,
            stock: stock
                .map(|s| in_range("stock", s, 0, MAX_STOCK))
                .transpose()?,
        })
    }
}

/// A row of `rewards` as a [`Reward`].
fn reward_of(row: &AnyRow) -> Result<Reward, Error> {
    let id: String = row.try_get("reward_id")?;
    let retired_at: Option<i64> = row.try_get("retired_at")?;
    Ok(Reward {
        reward_id: id
            .parse()
            .map_err(|_| Error::Corrupt(format!("reward id {id}")))?,
        name: row.try_get("name")?,
        cost: row.try_get("cost")?,
        stock: row.try_get("stock")?,
        retired: retired_at.is_some(),
        created_at: from_ms(row.try_get("created_at")?)?,
        updated_at: from_ms(row.try_get("updated_at")?)?,
    })
}

impl Store {
    /// Adds `draft` to the catalogue, on behalf of `actor`.
    pub async fn add_reward(&self, draft: &RewardDraft, actor: &str) -> Result<Reward, Error> {
        let (id, now) = (Uuid::now_v7(), to_ms(self.now()));
        sqlx::query(
            "INSERT INTO rewards (reward_id, name, cost, stock, retired_at, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, NULL, $5, $6, $6)",
        )
        .bind(id.to_string())
        .bind(&draft.name)
        .bind(draft.cost)
        .bind(draft.stock)
        .bind(actor)
        .bind(now)
        .execute(&self.pool)
        .await?;
        tracing::info!(reward_id = %id, cost = draft.cost, stock = draft.stock, "reward added");
        self.reward(id).await?.ok_or(Error::RewardNotFound(id))
    }

    /// One reward, retired or not.
    pub async fn reward(&self, reward_id: Uuid) -> Result<Option<Reward>, Error> {
        let sql = format!("SELECT {REWARD_COLUMNS} FROM rewards WHERE reward_id = $1");
        sqlx::query(&sql)
            .bind(reward_id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(reward_of)
            .transpose()
    }

    /// The catalogue, oldest first; retired ones only if `with_retired`.
    pub async fn rewards(&self, with_retired: bool) -> Result<Vec<Reward>, Error> {
        let filter = if with_retired {
            ""
        } else {
            "WHERE retired_at IS NULL"
        };
        let sql =
            format!("SELECT {REWARD_COLUMNS} FROM rewards {filter} ORDER BY created_at, reward_id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(reward_of).collect()
    }

    /// Applies `patch` (retired rewards too: a supervisor may fix a name).
    pub async fn update_reward(
        &self,
        reward_id: Uuid,
        patch: &RewardPatch,
    ) -> Result<Reward, Error> {
        let updated = sqlx::query(
            "UPDATE rewards SET name = COALESCE($1, name), cost = COALESCE($2, cost), \
             stock = COALESCE($3, stock), updated_at = $4 WHERE reward_id = $5",
        )
        .bind(patch.name.as_deref())
        .bind(patch.cost)
        .bind(patch.stock)
        .bind(to_ms(self.now()))
        .bind(reward_id.to_string())
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::RewardNotFound(reward_id));
        }
        tracing::info!(reward_id = %reward_id, ?patch, "reward changed");
        self.reward(reward_id)
            .await?
            .ok_or(Error::RewardNotFound(reward_id))
    }

    /// Retires a reward: no more redemptions. Retiring it again changes
    /// nothing (the first time is kept).
    pub async fn retire_reward(&self, reward_id: Uuid) -> Result<Reward, Error> {
        let now = to_ms(self.now());
        sqlx::query(
            "UPDATE rewards SET retired_at = COALESCE(retired_at, $1), updated_at = $1 \
             WHERE reward_id = $2",
        )
        .bind(now)
        .bind(reward_id.to_string())
        .execute(&self.pool)
        .await?;
        tracing::info!(reward_id = %reward_id, "reward retired");
        self.reward(reward_id)
            .await?
            .ok_or(Error::RewardNotFound(reward_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: Error) -> &'static str {
        match e {
            Error::BadField { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn drafts_are_trimmed_and_bounded() {
        let ok = RewardDraft::parse("  保温杯 thermos ", 50, 0).unwrap();
        assert_eq!(ok.name, "保温杯 thermos");
        assert_eq!(
            field_of(RewardDraft::parse("   ", 50, 1).unwrap_err()),
            "name"
        );
        let long = "奖".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            field_of(RewardDraft::parse(&long, 50, 1).unwrap_err()),
            "name"
        );
        assert!(RewardDraft::parse(&"奖".repeat(MAX_NAME_CHARS), 1, MAX_STOCK).is_ok());
        assert_eq!(
            field_of(RewardDraft::parse("cup", 0, 1).unwrap_err()),
            "cost"
        );
        assert_eq!(
            field_of(RewardDraft::parse("cup", MAX_COST + 1, 1).unwrap_err()),
            "cost"
        );
        assert_eq!(
            field_of(RewardDraft::parse("cup", 5, -1).unwrap_err()),
            "stock"
        );
        assert_eq!(
            field_of(RewardDraft::parse("cup", 5, MAX_STOCK + 1).unwrap_err()),
            "stock"
        );
        assert_eq!(
            field_of(RewardDraft::parse("a\u{7}b", 5, 1).unwrap_err()),
            "name"
        );
    }

    #[test]
    fn patches_need_a_field_and_check_each() {
        assert_eq!(
            field_of(RewardPatch::parse(None, None, None).unwrap_err()),
            "body"
        );
        assert_eq!(
            field_of(RewardPatch::parse(None, None, Some(-3)).unwrap_err()),
            "stock"
        );
        let p = RewardPatch::parse(Some(" 雨衣 "), None, Some(0)).unwrap();
        assert_eq!(p.name.as_deref(), Some("雨衣"));
        assert_eq!((p.cost, p.stock), (None, Some(0)));
    }
}
