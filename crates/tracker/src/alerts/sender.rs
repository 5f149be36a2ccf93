//! The sender: claims due deliveries (a lease, so that instances never
//! send one row at once), POSTs each with a timeout, and records the
//! outcome: delivered, or retried with exponential back-off (base
//! doubling, capped), or failed after the last attempt. Never silent: a
//! failed attempt is a warn log, a count in
//! `civicprobe_tracker_alert_deliveries_total{format,outcome}`, the gauge
//! `civicprobe_tracker_alert_deliveries_failing{state}` and a row in
//! `GET /v1/alerts/deliveries`.
//!
//! Sends run concurrently (a slow receiver does not hold up an urgent
//! alert to another), bounded by [`CONCURRENCY`].

use super::channel::Format;
use super::deliveries::Due;
use super::render::{self, Outgoing};
use super::AlertConfig;
use crate::{Error, Store};
use reqwest::header::CONTENT_TYPE;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

/// Sends in flight at once.
pub const CONCURRENCY: usize = 16;
/// How often the sender looks for due retries without being woken.
const POLL: Duration = Duration::from_millis(500);
/// The longest answer body read (for an error message).
const ANSWER_LIMIT: usize = 64 * 1024;

/// The delay before retry number `attempts` (1 after the first failure).
pub fn backoff(config: &AlertConfig, attempts: u32) -> Duration {
    let base = Duration::from_millis(config.retry_base_ms.max(1));
    let cap = Duration::from_secs(config.retry_cap_secs.max(1));
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
    base.saturating_mul(factor).min(cap)
}

/// Sends due deliveries until `shutdown`, woken by `ready`.
pub(crate) async fn run_sender(
    store: Store,
    config: AlertConfig,
    ready: Arc<Notify>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_secs.max(1)))
        .user_agent(concat!("civicprobe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::BadArgument(format!("the alerts' HTTP client: {e}")))?;
    // Longer than one attempt can take, so a live sender never loses it.
    let lease = time::Duration::seconds(i64::try_from(config.timeout_secs).unwrap_or(60) * 2 + 30);
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let config = Arc::new(config);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let free = permits.available_permits();
        let claimed = claim_and_send(&store, &client, &config, &permits, lease, &mut tasks).await;
        if claimed > 0 && claimed == free {
            continue;
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = ready.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // Let sends in flight finish (each has its timeout); a cut one is
    // sent again once its lease ends.
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Claims as many due deliveries as there are free permits and starts
/// sending each; returns how many it claimed.
async fn claim_and_send(
    store: &Store,
    client: &reqwest::Client,
    config: &Arc<AlertConfig>,
    permits: &Arc<Semaphore>,
    lease: time::Duration,
    tasks: &mut JoinSet<()>,
) -> usize {
    let free = permits.available_permits();
    if free == 0 {
        return 0;
    }
    let due = match store.claim_due_deliveries(lease, free as i64).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "alerts: claiming deliveries failed; will retry");
            return 0;
        }
    };
    let claimed = due.len();
    for due in due {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (store, client, config) = (store.clone(), client.clone(), config.clone());
        tasks.spawn(async move {
            send_one(&store, &client, &config, due).await;
            drop(permit);
        });
    }
    claimed
}

/// One attempt at one delivery, and its outcome recorded.
async fn send_one(store: &Store, client: &reqwest::Client, config: &AlertConfig, due: Due) {
    let span = tracing::info_span!(
        "tracker.alert_delivery",
        ticket_id = due.alert.ticket_id.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
        delivery_id = %due.delivery_id,
        channel_id = %due.channel.channel_id,
        format = %due.channel.format,
        kind = %due.alert.kind,
    );
    async {
        let result = match render::request(
            due.channel.format,
            due.channel.url.expose(),
            due.channel.secret.as_ref(),
            &due.delivery_id.to_string(),
            &due.alert,
            store.now(),
            config.utc_offset,
        ) {
            Ok(request) => post(client, due.channel.format, &request).await,
            Err(e) => Err(format!("rendering: {e}")),
        };
        if let Err(e) = record(store, config, &due, result).await {
            tracing::warn!(error = %e, "alerts: recording a delivery's outcome failed; it will be sent again after its lease");
        }
        if let Ok((failing, failed)) = store.failing_delivery_counts().await {
            metrics::gauge!("civicprobe_tracker_alert_deliveries_failing", "state" => "failing").set(failing as f64);
            metrics::gauge!("civicprobe_tracker_alert_deliveries_failing", "state" => "failed").set(failed as f64);
        }
    }
    .instrument(span)
    .await;
}

/// Records an attempt's outcome, counts it and logs a failure.
async fn record(
    store: &Store,
    config: &AlertConfig,
    due: &Due,
    result: Result<(), String>,
) -> Result<(), Error> {
    let format = due.channel.format.as_str();
    let attempts = u32::try_from(due.attempts + 1).unwrap_or(u32::MAX);
    let outcome = match result {
        Ok(()) => {
            store.delivery_succeeded(due).await?;
            tracing::info!(attempts, "alert delivered");
            "delivered"
        }
        Err(error) if attempts >= config.max_attempts.max(1) => {
            store.delivery_attempt_failed(due, &error, None).await?;
            tracing::warn!(attempts, error = %error, url = %due.channel.url.masked(), "alert delivery failed for good; given up");
            "failed"
        }
        Err(error) => {
            let delay = backoff(config, attempts);
            let retry_at = store.now() + delay;
            store
                .delivery_attempt_failed(due, &error, Some(retry_at))
                .await?;
            tracing::warn!(attempts, error = %error, retry_in_ms = delay.as_millis() as u64, url = %due.channel.url.masked(), "alert delivery failed; will retry");
            "retrying"
        }
    };
    metrics::counter!("civicprobe_tracker_alert_deliveries_total", "format" => format, "outcome" => outcome)
        .increment(1);
    Ok(())
}

/// POSTs one request; `Err` says why the receiver did not accept it
/// (without the URL, which may hold a key).
async fn post(client: &reqwest::Client, format: Format, request: &Outgoing) -> Result<(), String> {
    let mut builder = client
        .post(&request.url)
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("sending: {}", e.without_url()))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the answer: {}", e.without_url()))?;
    let body = &body[..body.len().min(ANSWER_LIMIT)];
    if !status.is_success() {
        return Err(format!("HTTP {}: {}", status.as_u16(), snippet(body)));
    }
    accepted(format, body)
}

/// Whether a 2xx answer means accepted: WeCom and DingTalk say
/// `errcode: 0`, Feishu `code: 0` (older: `StatusCode: 0`); any 2xx for
/// `json`.
pub fn accepted(format: Format, body: &[u8]) -> Result<(), String> {
    let json = || serde_json::from_slice::<serde_json::Value>(body).ok();
    let code = |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_i64);
    match format {
        Format::Json => Ok(()),
        Format::Wecom | Format::Dingtalk => {
            match json().as_ref().and_then(|v| code(v, "errcode")) {
                Some(0) => Ok(()),
                Some(n) => Err(format!("errcode {n}: {}", snippet(body))),
                None => Err(format!("no errcode in the answer: {}", snippet(body))),
            }
        }
        Format::Feishu => {
            let v = json();
            let c = v
                .as_ref()
                .and_then(|v| code(v, "code").or_else(|| code(v, "StatusCode")));
            match c {
                Some(0) => Ok(()),
                Some(n) => Err(format!("code {n}: {}", snippet(body))),
                None => Err(format!("no code in the answer: {}", snippet(body))),
            }
        }
    }
}

/// The start of an answer, printable, for an error message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    super::alert::shorten(clean.trim(), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_per_vendor() {
        assert!(accepted(Format::Wecom, br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(accepted(
            Format::Dingtalk,
            br#"{"errcode":300001,"errmsg":"token is not exist"}"#
        )
        .is_err());
        assert!(accepted(Format::Dingtalk, b"ok").is_err());
        assert!(accepted(Format::Feishu, br#"{"StatusCode":0}"#).is_ok());
        assert!(accepted(Format::Feishu, br#"{"code":19021,"msg":"sign match fail"}"#).is_err());
        assert!(accepted(Format::Json, b"").is_ok());
    }
}
