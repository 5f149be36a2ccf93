//! The delivery outbox (`alert_deliveries`): one row per (event, channel),
//! inserted in the transaction that decided it, with an id derived from
//! both so that a redelivered event adds nothing. The sender claims due
//! rows with a lease and a claim token, so that several tracker instances
//! never send one row at the same time, and records each attempt's
//! outcome under that token.
//!
//! A row's state is `pending` (never tried, or `failing`: tried, to be
//! retried at `next_attempt_at`), `delivered` or `failed` (given up).

use super::alert::Alert;
use super::channel::Channel;
use super::channel_store::channel_of_row;
use crate::tickets::rows::{parsed, parsed_opt};
use crate::time_ms::{from_ms, from_opt_ms, to_ms};
use crate::{Error, Store};
use civicprobe_model::{EventId, OfficeId, TicketId};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::str::FromStr;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The namespace of delivery ids.
const DELIVERY_NAMESPACE: Uuid = Uuid::from_u128(0x5b1f_0c1e_a1e7_4d0a_9c1b_7e3a_2f6d_8b01);

/// The id of `event_id`'s delivery to `channel`: the same on every retry.
pub fn delivery_id(event_id: EventId, channel: Uuid) -> Uuid {
    Uuid::new_v5(
        &DELIVERY_NAMESPACE,
        format!("{event_id}/{channel}").as_bytes(),
    )
}

/// A state `GET /v1/alerts/deliveries?state=` filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not tried yet.
    Pending,
    /// Tried and failed, to be retried.
    Failing,
    /// Accepted by the receiver.
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

impl FromStr for DeliveryState {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "failing" => Ok(DeliveryState::Failing),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            _ => Err(()),
        }
    }
}

/// Adds one delivery of `alert` per channel (none twice); returns how many
/// rows are new.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    alert: &Alert,
    channels: &[Channel],
    now: OffsetDateTime,
) -> Result<u64, Error> {
    let payload = serde_json::to_string(alert)?;
    let mut added = 0;
    for channel in channels {
        added += sqlx::query(
            "INSERT INTO alert_deliveries (delivery_id, event_id, channel_id, kind, ticket_id, \
             office_id, payload, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8) \
             ON CONFLICT (event_id, channel_id) DO NOTHING",
        )
        .bind(delivery_id(alert.event_id, channel.channel_id).to_string())
        .bind(alert.event_id.to_string())
        .bind(channel.channel_id.to_string())
        .bind(&alert.kind)
        .bind(alert.ticket_id.map(|t| t.to_string()))
        .bind(alert.office_id.as_ref().map(|o| o.to_string()))
        .bind(&payload)
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(added)
}

/// A claimed delivery, to send.
#[derive(Clone, Debug)]
pub struct Due {
    /// The row.
    pub delivery_id: Uuid,
    /// Where and how.
    pub channel: Channel,
    /// What.
    pub alert: Alert,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The claim this attempt holds (its outcome is recorded under it).
    pub claim: String,
}

/// One delivery as `GET /v1/alerts/deliveries` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryView {
    /// The row (also the json format's `X-Civicprobe-Delivery`).
    pub delivery_id: String,
    /// pending, failing, delivered or failed.
    pub state: DeliveryState,
    /// The event it is about.
    pub event_id: EventId,
    /// The event's kind.
    pub kind: String,
    /// The ticket, when there is one.
    pub ticket_id: Option<TicketId>,
    /// The office the alert is about.
    pub office_id: Option<OfficeId>,
    /// The channel's id (kept after the channel is removed).
    pub channel_id: String,
    /// The channel, masked; null once removed.
    pub channel: Option<Channel>,
    /// Attempts made.
    pub attempts: i64,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it is tried next (pending and failing only).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When it was decided.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the receiver accepted it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
}

/// The delivery columns with the channel's (`LEFT JOIN`ed as `c`).
const VIEW_COLUMNS: &str = "d.delivery_id, d.state, d.event_id, d.kind, d.ticket_id, \
     d.office_id AS d_office_id, d.channel_id AS d_channel_id, d.attempts, d.last_error, \
     d.next_attempt_at, d.created_at AS d_created_at, d.delivered_at, d.payload, \
     c.channel_id, c.audience, c.office_id, c.format, c.url, c.secret, c.label, c.created_at";

fn view_of_row(row: &AnyRow) -> Result<DeliveryView, Error> {
    let attempts: i64 = row.try_get("attempts")?;
    let state = match (row.try_get::<String, _>("state")?.as_str(), attempts) {
        ("delivered", _) => DeliveryState::Delivered,
        ("failed", _) => DeliveryState::Failed,
        (_, 0) => DeliveryState::Pending,
        _ => DeliveryState::Failing,
    };
    let channel = match row.try_get::<Option<String>, _>("channel_id")? {
        Some(_) => Some(channel_of_row(row)?),
        None => None,
    };
    let pending = matches!(state, DeliveryState::Pending | DeliveryState::Failing);
    Ok(DeliveryView {
        delivery_id: row.try_get("delivery_id")?,
        state,
        event_id: parsed(row, "event_id")?,
        kind: row.try_get("kind")?,
        ticket_id: parsed_opt(row, "ticket_id")?,
        office_id: parsed_opt(row, "d_office_id")?,
        channel_id: row.try_get("d_channel_id")?,
        channel,
        attempts,
        last_error: row.try_get("last_error")?,
        next_attempt_at: pending
            .then(|| from_ms(row.try_get("next_attempt_at")?))
            .transpose()?,
        created_at: from_ms(row.try_get("d_created_at")?)?,
        delivered_at: from_opt_ms(row.try_get("delivered_at")?)?,
    })
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease`.
    pub async fn claim_due_deliveries(
        &self,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Due>, Error> {
        let now = to_ms(self.now());
        let claim = Uuid::new_v4().to_string();
        // The outer conditions repeat the inner ones: PostgreSQL re-checks
        // them on a row another instance claimed meanwhile.
        sqlx::query(
            "UPDATE alert_deliveries SET lease_until = $1, lease_owner = $2 \
             WHERE delivery_id IN (SELECT delivery_id FROM alert_deliveries \
               WHERE state = 'pending' AND next_attempt_at <= $3 \
               AND (lease_until IS NULL OR lease_until < $3) \
               ORDER BY next_attempt_at LIMIT $4) \
             AND state = 'pending' AND (lease_until IS NULL OR lease_until < $3)",
        )
        .bind(now + lease.whole_milliseconds() as i64)
        .bind(&claim)
        .bind(now)
        .bind(limit)
        .execute(self.pool())
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {VIEW_COLUMNS} FROM alert_deliveries d \
             JOIN alert_channels c ON c.channel_id = d.channel_id \
             WHERE d.lease_owner = $1 AND d.state = 'pending' ORDER BY d.next_attempt_at"
        ))
        .bind(&claim)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                Ok(Due {
                    delivery_id: crate::tickets::rows::parsed(row, "delivery_id")?,
                    channel: channel_of_row(row)?,
                    alert: serde_json::from_str(&payload)?,
                    attempts: row.try_get("attempts")?,
                    claim: claim.clone(),
                })
            })
            .collect()
    }

    /// Records a delivery the receiver accepted.
    pub async fn delivery_succeeded(&self, due: &Due) -> Result<(), Error> {
        sqlx::query(
            "UPDATE alert_deliveries SET state = 'delivered', attempts = attempts + 1, \
             delivered_at = $1, lease_until = NULL, last_error = NULL \
             WHERE delivery_id = $2 AND lease_owner = $3 AND state = 'pending'",
        )
        .bind(to_ms(self.now()))
        .bind(due.delivery_id.to_string())
        .bind(&due.claim)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up.
    pub async fn delivery_attempt_failed(
        &self,
        due: &Due,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE alert_deliveries SET state = $1, attempts = attempts + 1, \
             next_attempt_at = $2, last_error = $3, lease_until = NULL \
             WHERE delivery_id = $4 AND lease_owner = $5 AND state = 'pending'",
        )
        .bind(if retry_at.is_some() {
            "pending"
        } else {
            "failed"
        })
        .bind(to_ms(retry_at.unwrap_or_else(|| self.now())))
        .bind(error)
        .bind(due.delivery_id.to_string())
        .bind(&due.claim)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Deliveries, newest first, at most `limit`: in `state` if given,
    /// about `office` if given.
    pub async fn alert_deliveries(
        &self,
        state: Option<DeliveryState>,
        office: Option<&OfficeId>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, Error> {
        let filter = match state {
            None => "",
            Some(DeliveryState::Pending) => " AND d.state = 'pending' AND d.attempts = 0",
            Some(DeliveryState::Failing) => " AND d.state = 'pending' AND d.attempts > 0",
            Some(DeliveryState::Delivered) => " AND d.state = 'delivered'",
            Some(DeliveryState::Failed) => " AND d.state = 'failed'",
        };
        sqlx::query(&format!(
            "SELECT {VIEW_COLUMNS} FROM alert_deliveries d \
             LEFT JOIN alert_channels c ON c.channel_id = d.channel_id \
             WHERE ($1 = '' OR d.office_id = $1){filter} \
             ORDER BY d.created_at DESC, d.delivery_id DESC LIMIT $2"
        ))
        .bind(office.map_or("", OfficeId::as_str))
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(view_of_row)
        .collect()
    }

    /// How many deliveries are failing (to be retried) and failed.
    pub async fn failing_delivery_counts(&self) -> Result<(i64, i64), Error> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END), 0) AS failing, \
             COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed \
             FROM alert_deliveries WHERE state <> 'delivered'",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("failing")?, row.try_get("failed")?))
    }
}
