//! Where `civicprobe load` watches accepted reports arrive, besides the
//! office queue: the tracker's live event stream (`GET /v1/events`, as an
//! office console sees it) and a webhook receiver of its own (as an
//! office's alert channel sees it). Each records the first time a ticket
//! was seen; the run then subtracts the report's `202`.

use anyhow::Context;
use civicprobe_model::TicketId;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

/// When each ticket was first seen, shared by a watcher and the run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arrivals(Arc<Mutex<HashMap<TicketId, Instant>>>);

impl Arrivals {
    /// Records `ticket` seen now, unless it was seen before.
    fn seen(&self, ticket: TicketId) {
        let now = Instant::now();
        self.lock().entry(ticket).or_insert(now);
    }

    /// When `ticket` was first seen.
    pub(crate) fn at(&self, ticket: TicketId) -> Option<Instant> {
        self.lock().get(&ticket).copied()
    }

    /// How many tickets were seen.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TicketId, Instant>> {
        // A poisoned map still holds good instants.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Opens `GET {url}/v1/events` with `token` and records every `opened`
/// ticket event until the connection ends. `ready` fires once the stream
/// answered, so the run submits nothing before it listens.
pub(crate) async fn watch_events(
    http: reqwest::Client,
    url: String,
    token: String,
    arrivals: Arrivals,
    ready: oneshot::Sender<()>,
) -> anyhow::Result<()> {
    let mut response = http
        .get(format!("{url}/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .context("opening the event stream")?
        .error_for_status()
        .context("the event stream refused the token")?;
    let _ = ready.send(());
    let mut lines = SseLines::default();
    while let Some(chunk) = response.chunk().await? {
        for data in lines.push(&chunk) {
            if let Some(ticket) = opened_ticket(&data) {
                arrivals.seen(ticket);
            }
        }
    }
    Ok(())
}

/// Splits a byte stream into the `data:` of each `event: ticket` message.
#[derive(Debug, Default)]
struct SseLines {
    /// Bytes of an unfinished line.
    partial: Vec<u8>,
    /// The current message's event name.
    event: String,
    /// The current message's data lines.
    data: String,
}

impl SseLines {
    /// Feeds bytes; returns the data of every ticket message they ended.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(bytes);
        let mut done = Vec::new();
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.event == "ticket" && !self.data.is_empty() {
                    done.push(std::mem::take(&mut self.data));
                }
                self.event.clear();
                self.data.clear();
            } else if let Some(name) = line.strip_prefix("event:") {
                self.event = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(data.strip_prefix(' ').unwrap_or(data));
            }
        }
        done
    }
}

/// The ticket of an `opened` event's data.
fn opened_ticket(data: &str) -> Option<TicketId> {
    let event: serde_json::Value = serde_json::from_str(data).ok()?;
    (event["kind"] == "opened")
        .then(|| event["ticket_id"].as_str()?.parse().ok())
        .flatten()
}

/// Serves `listen` (any path): every JSON alert delivered there is
/// recorded by its `ticket_id` (the plain-JSON channel format). Returns
/// the address it listens on (port 0 picks one).
pub(crate) async fn receive_webhooks(
    listen: SocketAddr,
    arrivals: Arrivals,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for webhooks on {listen}"))?;
    let addr = listener.local_addr()?;
    // Any path: the channel's URL is whatever the operator registered.
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let arrivals = arrivals.clone();
        async move {
            if let Some(ticket) = alert_ticket(&body) {
                arrivals.seen(ticket);
            }
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the webhook receiver stopped");
        }
    });
    Ok((addr, task))
}

/// The first `ticket_id` anywhere in a JSON alert.
fn alert_ticket(body: &[u8]) -> Option<TicketId> {
    fn find(value: &serde_json::Value) -> Option<TicketId> {
        match value {
            serde_json::Value::Object(map) => map
                .get("ticket_id")
                .and_then(|v| v.as_str()?.parse().ok())
                .or_else(|| map.values().find_map(find)),
            serde_json::Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    find(&serde_json::from_slice(body).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_messages_are_cut_from_any_chunking() {
        let id = TicketId::new();
        let stream = format!(
            ": keep-alive\n\nevent: ready\nid: 7\ndata: {{\"resumed\":false}}\n\n\
             event: ticket\r\nid: 8\r\ndata: {{\"kind\":\"opened\",\"ticket_id\":\"{id}\"}}\r\n\r\n\
             event: ticket\ndata: {{\"kind\":\"acknowledged\",\"ticket_id\":\"{id}\"}}\n\n"
        );
        for cut in [1, 3, 17, stream.len()] {
            let mut lines = SseLines::default();
            let datas: Vec<String> = stream
                .as_bytes()
                .chunks(cut)
                .flat_map(|c| lines.push(c))
                .collect();
            assert_eq!(datas.len(), 2, "chunks of {cut}");
            assert_eq!(opened_ticket(&datas[0]), Some(id));
            assert_eq!(opened_ticket(&datas[1]), None, "not an opening");
        }
    }

    #[test]
    fn an_alert_names_its_ticket_wherever_it_is() {
        let id = TicketId::new();
        let nested = format!(r#"{{"version":1,"event":{{"kind":"opened","ticket_id":"{id}"}}}}"#);
        assert_eq!(alert_ticket(nested.as_bytes()), Some(id));
        assert_eq!(alert_ticket(b"not json"), None);
        assert_eq!(alert_ticket(br#"{"ticket_id":"nope"}"#), None);
    }
}
