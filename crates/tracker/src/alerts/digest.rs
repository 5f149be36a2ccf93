//! The daily digest of overdue tickets: once the configured local time
//! has passed, each channel gets one message listing the overdue tickets
//! it covers (an office's own; the supervisors' all, grouped by office).
//! Exactly once per channel and local day, across tracker instances and
//! restarts: `alert_digests` has one row per (channel, day), inserted in
//! the digest's transaction, and the delivery's event id is derived from
//! both. With nothing overdue the day is marked decided and nothing sent.

use super::alert::{Alert, Links, OverdueItem, DIGEST};
use super::channel::{Audience, Channel};
use super::{deliveries, AlertConfig};
use crate::time_ms::to_ms;
use crate::{Error, Store};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

/// How often the digest clock looks.
const TICK: Duration = Duration::from_secs(20);
/// The most tickets one digest lists (the message is cut to its limit anyway).
const DIGEST_LIMIT: i64 = 200;
/// The namespace of digest event ids.
const DIGEST_NAMESPACE: Uuid = Uuid::from_u128(0x0d16_e570_a1e7_4d0a_9c1b_7e3a_2f6d_8b02);

/// Decides today's digests that are due; returns how many deliveries it
/// added.
pub async fn send_digests(
    store: &Store,
    config: &AlertConfig,
    links: &Links,
) -> Result<u64, Error> {
    let Some(digest_at) = config.digest_at.0 else {
        return Ok(0);
    };
    let local = store.now().to_offset(config.utc_offset);
    if local.time() < digest_at {
        return Ok(0);
    }
    let day = format!(
        "{:04}-{:02}-{:02}",
        local.year(),
        u8::from(local.month()),
        local.day()
    );
    let mut added = 0;
    for channel in store.alert_channels(None).await? {
        added += digest_of(store, links, &channel, &day).await?;
    }
    Ok(added)
}

/// One channel's digest of `day`, unless decided already.
async fn digest_of(
    store: &Store,
    links: &Links,
    channel: &Channel,
    day: &str,
) -> Result<u64, Error> {
    let id = channel.channel_id.to_string();
    let decided = sqlx::query("SELECT 1 FROM alert_digests WHERE channel_id = $1 AND day = $2")
        .bind(&id)
        .bind(day)
        .fetch_optional(store.pool())
        .await?;
    if decided.is_some() {
        return Ok(0);
    }
    let alert = digest_alert(store, links, channel, day).await?;
    let mut tx = store.pool().begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO alert_digests (channel_id, day, tickets, decided_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel_id, day) DO NOTHING",
    )
    .bind(&id)
    .bind(day)
    .bind(i64::try_from(alert.overdue.len()).unwrap_or(i64::MAX))
    .bind(to_ms(alert.at))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let added = if fresh == 0 || alert.overdue.is_empty() {
        0
    } else {
        deliveries::enqueue(&mut tx, &alert, std::slice::from_ref(channel), alert.at).await?
    };
    tx.commit().await?;
    if added > 0 {
        tracing::info!(channel_id = %id, day, tickets = alert.overdue.len(), "daily digest decided");
    }
    Ok(added)
}

/// The digest of `day` for `channel`: the overdue tickets it covers,
/// grouped by office (the latest first within each).
async fn digest_alert(
    store: &Store,
    links: &Links,
    channel: &Channel,
    day: &str,
) -> Result<Alert, Error> {
    let (office, link) = match &channel.audience {
        Audience::Office(office) => (Some(office), links.office()),
        Audience::Supervisors => (None, links.dashboard()),
    };
    let mut overdue = store.overdue(office, DIGEST_LIMIT).await?;
    overdue.sort_by(|a, b| a.office_id.cmp(&b.office_id));
    let key = format!("{}/{day}", channel.channel_id);
    let mut alert = Alert::new(
        DIGEST,
        civicprobe_model::EventId(Uuid::new_v5(&DIGEST_NAMESPACE, key.as_bytes())),
        store.now(),
    );
    alert.office_id = office.cloned();
    alert.day = Some(day.to_owned());
    alert.link = Some(link);
    alert.overdue = overdue
        .into_iter()
        .map(|t| OverdueItem {
            link: links.ticket(t.ticket_id),
            ticket_id: t.ticket_id,
            office_id: t.office_id,
            category: t.category,
            urgent: t.urgent,
            state: t.state,
            late_s: t.late_s,
        })
        .collect();
    Ok(alert)
}

/// Looks every [`TICK`] until `shutdown`; wakes `ready` after adding.
pub(crate) async fn run_digest_clock(
    store: Store,
    config: AlertConfig,
    links: Links,
    ready: Arc<Notify>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    loop {
        match send_digests(&store, &config, &links).await {
            Ok(0) => {}
            Ok(_) => ready.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, "alerts: the daily digest failed; retrying next tick")
            }
        }
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(TICK) => {}
        }
    }
}
