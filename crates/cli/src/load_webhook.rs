//! `civicprobe load --webhook-listen ADDR`: a local receiver for a `json`
//! alert channel (`civicprobe office alert OFFICE --format json --webhook
//! http://ADDR/`), so that the load can print p50/p99 from each report's
//! `202` to its alert reaching the receiver. Each alert body names the
//! report (`report_id`); the first arrival per report is kept.

use anyhow::Context;
use axum::body::Bytes;
use civicprobe_model::ReportId;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest wait for one report's alert.
const WAIT: Duration = Duration::from_secs(10);

/// When each report's alert arrived.
#[derive(Debug, Clone, Default)]
pub struct WebhookClock {
    /// Report id (as sent) → first arrival.
    arrivals: Arc<Mutex<HashMap<String, Instant>>>,
}

impl WebhookClock {
    /// Listens on `addr` (answers every POST with 200) until the process ends.
    pub async fn listen(addr: SocketAddr) -> anyhow::Result<(WebhookClock, SocketAddr)> {
        let clock = WebhookClock::default();
        let arrivals = clock.arrivals.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let arrivals = arrivals.clone();
            async move {
                let at = Instant::now();
                let alert: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if let Some(report) = alert["report_id"].as_str() {
                    if let Ok(mut map) = arrivals.lock() {
                        map.entry(report.to_owned()).or_insert(at);
                    }
                }
                "{}"
            }
        });
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening for alerts on {addr}"))?;
        let bound = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((clock, bound))
    }

    /// `202` → the report's alert, if it arrives within 10 s of `since`.
    pub async fn wait_for(&self, report: ReportId, since: Instant) -> Option<Duration> {
        let key = report.to_string();
        while since.elapsed() < WAIT {
            let arrived = self.arrivals.lock().ok().and_then(|m| m.get(&key).copied());
            if let Some(at) = arrived {
                return Some(at.saturating_duration_since(since));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    }
}
