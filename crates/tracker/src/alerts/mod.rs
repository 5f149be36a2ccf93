//! Alerts that leave the building: an office's and the supervisors'
//! delivery channels (WeCom, DingTalk and Feishu group robots, JSON
//! webhooks), fed from the `TICKETS` stream, sent through a durable outbox
//! with retries, plus a daily digest of overdue tickets.
//!
//! Why an outbox: a robot that is down, slow or refusing must neither lose
//! an alert nor hold up the pipeline. The decision is a committed row; the
//! sending is a separate task that retries it.
//!
//! # Layout
//!
//! - [`channel`]: channels ([`NewChannel::parse`] checks URL, format and
//!   secret), stored in `alert_channels` (a private module adds, lists
//!   and removes them), masked wherever shown.
//! - [`alert`]: [`Alert`], what an alert says (the JSON format's body,
//!   version 1, documented there), and text cleaning.
//! - [`decide`]: which event alerts whom.
//! - [`consumer`]: the durable `alerts` consumer on `TICKETS`: decisions
//!   committed as delivery rows, then acked.
//! - [`deliveries`]: the delivery outbox: insert, claim with a lease,
//!   outcome, listing.
//! - [`message`]: an alert's words, markdown or plain.
//! - [`render`]: each format's body and signature, checked against the
//!   vendors' documentation.
//! - [`sender`]: POSTs with a timeout, back-off, metrics and logs.
//! - [`digest`]: the daily digest, exactly once per channel and day.
//!
//! [`run`] runs consumer, sender and digest clock together.

pub mod alert;
pub mod channel;
mod channel_store;
pub mod consumer;
pub mod decide;
pub mod deliveries;
pub mod digest;
pub(crate) mod http;
pub mod message;
pub mod render;
pub mod sender;

pub use alert::{Alert, Links};
pub use channel::{Audience, Channel, ChannelError, Format, NewChannel, Secret, WebhookUrl};
pub use consumer::ensure_alerts_consumer;
pub use deliveries::{DeliveryState, DeliveryView};
pub use digest::send_digests;

use crate::{Error, Store};
use async_nats::jetstream;
use futures::FutureExt;
use std::future::Future;
use std::sync::Arc;
use time::{Time, UtcOffset};
use tokio::sync::Notify;

/// Where links point when no public URL is configured.
const DEFAULT_LINK_BASE: &str = "http://127.0.0.1:8080";

/// The alerts' settings, flattened into `civicprobe up` and `tracker`.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "alert_config")]
pub struct AlertConfig {
    /// Local time of the daily digest of overdue tickets, `HH:MM`, or
    /// `off`.
    #[arg(long = "alert-digest-at", env = "CIVICPROBE_ALERT_DIGEST_AT", default_value = "08:30", value_parser = parse_digest_at)]
    pub digest_at: DigestAt,
    /// The UTC offset of local time (the digest's time, deadlines in
    /// messages), e.g. `+08:00`.
    #[arg(long = "alert-utc-offset", env = "CIVICPROBE_ALERT_UTC_OFFSET", default_value = "+08:00", value_parser = parse_offset, allow_hyphen_values = true)]
    pub utc_offset: UtcOffset,
    /// Seconds one webhook request may take.
    #[arg(
        long = "alert-timeout-secs",
        env = "CIVICPROBE_ALERT_TIMEOUT_SECS",
        default_value_t = 10
    )]
    pub timeout_secs: u64,
    /// Attempts before a delivery is given up and marked failed.
    #[arg(
        long = "alert-max-attempts",
        env = "CIVICPROBE_ALERT_MAX_ATTEMPTS",
        default_value_t = 12
    )]
    pub max_attempts: u32,
    /// The first retry's delay, milliseconds; it doubles each time.
    #[arg(
        long = "alert-retry-base-ms",
        env = "CIVICPROBE_ALERT_RETRY_BASE_MS",
        default_value_t = 5000
    )]
    pub retry_base_ms: u64,
    /// The longest delay between two attempts, seconds.
    #[arg(
        long = "alert-retry-cap-secs",
        env = "CIVICPROBE_ALERT_RETRY_CAP_SECS",
        default_value_t = 900
    )]
    pub retry_cap_secs: u64,
    /// The public URL alert links start with (`<url>/office#ticket=…`);
    /// unset: `--public-url` (`up`, `tracker`), else `http://<listen
    /// address>`.
    #[arg(long = "alert-link-base", env = "CIVICPROBE_ALERT_LINK_BASE")]
    pub link_base: Option<String>,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            digest_at: DigestAt(Some(time::macros::time!(08:30))),
            utc_offset: time::macros::offset!(+8),
            timeout_secs: 10,
            max_attempts: 12,
            retry_base_ms: 5000,
            retry_cap_secs: 900,
            link_base: None,
        }
    }
}

impl AlertConfig {
    /// Where links point.
    pub fn links(&self) -> Links {
        Links::new(self.link_base.as_deref().unwrap_or(DEFAULT_LINK_BASE))
    }
}

/// When the daily digest goes out: a local time of day, or never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestAt(pub Option<Time>);

/// `HH:MM`, or `off`.
pub fn parse_digest_at(s: &str) -> Result<DigestAt, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(DigestAt(None));
    }
    parse_hhmm(s).map(|t| DigestAt(Some(t)))
}

/// `HH:MM` as a time of day.
pub fn parse_hhmm(s: &str) -> Result<Time, String> {
    let bad = || format!("{s:?} is not a time of day HH:MM, e.g. 08:30");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let h: u8 = h.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    Time::from_hms(h, m, 0).map_err(|_| bad())
}

/// `+08:00`, `-05:30`, `Z` as a UTC offset.
pub fn parse_offset(s: &str) -> Result<UtcOffset, String> {
    let bad = || format!("{s:?} is not a UTC offset like +08:00");
    let s = s.trim();
    if s == "Z" || s == "UTC" {
        return Ok(UtcOffset::UTC);
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad())
}

/// Runs the alerts consumer, the sender and the digest clock until
/// `shutdown`; the first to fail stops all three.
pub async fn run(
    js: jetstream::Context,
    store: Store,
    config: AlertConfig,
    settings: civicprobe_jetstream::JetStreamSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let shutdown = shutdown.shared();
    let ready = Arc::new(Notify::new());
    let links = config.links();
    tokio::try_join!(
        consumer::run_alert_consumer(
            js,
            store.clone(),
            links.clone(),
            ready.clone(),
            settings,
            shutdown.clone()
        ),
        sender::run_sender(
            store.clone(),
            config.clone(),
            ready.clone(),
            shutdown.clone()
        ),
        digest::run_digest_clock(store, config, links, ready, shutdown),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_offsets_parse() {
        assert_eq!(parse_hhmm("08:30"), Ok(time::macros::time!(08:30)));
        assert!(parse_hhmm("25:00").is_err() && parse_hhmm("8h").is_err());
        assert_eq!(parse_digest_at("off"), Ok(DigestAt(None)));
        assert_eq!(parse_offset("+08:00"), Ok(time::macros::offset!(+8)));
        assert_eq!(parse_offset("-05:30"), Ok(time::macros::offset!(-5:30)));
        assert!(parse_offset("08:00").is_err());
    }

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let config = AlertConfig::default();
        let secs: Vec<u64> = (1..=10)
            .map(|n| sender::backoff(&config, n).as_secs())
            .collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]);
    }
}
