//! A small `text/event-stream` client over real HTTP (reqwest), and a
//! tracker serving `/v1/events` on a real socket fed by a real
//! nats-server, for the live event tests; tickets opened and steps taken
//! as the router and the outbox publish them.
#![allow(dead_code)]

use crate::common::{base_time, opened};
use async_nats::jetstream;
use civicprobe_model::nats::ticket_subject;
use civicprobe_model::{CourierId, Role, TicketAction, TicketId, TicketOpened};
use civicprobe_testkit::NatsServer;
use civicprobe_tracker::events::{self, EventsConfig, Hub};
use civicprobe_tracker::outbox::publish_pending;
use civicprobe_tracker::{Store, Transition};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;

/// How long a test waits for an expected event before it fails (a hang
/// guard, not a measurement).
const PATIENCE: Duration = Duration::from_secs(20);

/// One event as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `id:`, if any.
    pub id: Option<String>,
    /// `event:`, or `:` for a comment (a heartbeat).
    pub event: String,
    /// `data:` parsed as JSON (`Null` for a comment).
    pub data: Value,
}

/// An open event stream.
pub struct Client {
    response: reqwest::Response,
    buffer: String,
}

impl Client {
    /// The next event or comment; `None` when the server ended the stream.
    pub async fn next_any(&mut self) -> Option<Received> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("the event stream stayed silent")
                .expect("reading the event stream")?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event that is not a heartbeat.
    pub async fn next(&mut self) -> Received {
        loop {
            let event = self.next_any().await.expect("the stream ended");
            if event.event != ":" {
                return event;
            }
        }
    }

    /// The next `event: ticket`'s data.
    pub async fn ticket(&mut self) -> Value {
        let event = self.next().await;
        assert_eq!(event.event, "ticket", "{event:?}");
        assert_eq!(
            event.id.as_deref(),
            Some(event.data["seq"].to_string().as_str())
        );
        event.data
    }
}

/// One `text/event-stream` block (up to its blank line), if it is an
/// event or a comment.
pub fn parse(block: &str) -> Option<Received> {
    let (mut id, mut event, mut data, mut comment) = (None, None, Vec::new(), false);
    for line in block.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            comment = comment || !rest.is_empty() || line == ":";
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.to_owned()),
                "event" => event = Some(value.to_owned()),
                "data" => data.push(value.to_owned()),
                _ => {}
            }
        }
    }
    match (event, comment) {
        (Some(event), _) => Some(Received {
            id,
            event,
            data: serde_json::from_str(&data.join("\n")).expect("data is JSON"),
        }),
        (None, true) => Some(Received {
            id,
            event: ":".into(),
            data: Value::Null,
        }),
        (None, false) => None,
    }
}

/// A tracker's event stream (and API) on a real socket.
pub struct Live {
    pub nats: NatsServer,
    pub js: jetstream::Context,
    pub hub: Hub,
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl Live {
    /// Starts nats-server, `TICKETS`, the hub and an HTTP server.
    pub async fn start(store: &Store, config: EventsConfig) -> Live {
        let nats = NatsServer::start().expect("nats-server");
        let (_client, js) = nats.connect().await.expect("connecting to NATS");
        crate::common::tickets_stream(&js).await;
        let hub = Hub::connect(js.clone(), store.clone(), config)
            .await
            .expect("the hub");
        let (stop, stopped) = watch::channel(false);
        let until = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        tokio::spawn(hub.clone().run(until(stopped.clone())));
        let app = events::router(hub.clone()).merge(civicprobe_tracker::app(store.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(until(stopped))
                .await
                .unwrap();
        });
        Live {
            nats,
            js,
            hub,
            addr,
            stop,
            server,
        }
    }

    /// `GET /v1/events` with `token` and these extra headers or query.
    pub async fn request(&self, token: &str, last_event_id: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .get(format!("http://{}/v1/events", self.addr))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        request.send().await.expect("GET /v1/events")
    }

    /// An open stream for `token`, past its `ready` (returned).
    pub async fn connect(&self, token: &str, last_event_id: Option<&str>) -> (Client, Received) {
        let response = self.request(token, last_event_id).await;
        assert_eq!(response.status(), 200);
        Self::opened(response).await
    }

    /// A stream from a 200 response, past its `ready`.
    pub async fn opened(response: reqwest::Response) -> (Client, Received) {
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut client = Client {
            response,
            buffer: String::new(),
        };
        let ready = client.next().await;
        assert_eq!(ready.event, "ready", "{ready:?}");
        (client, ready)
    }

    /// Publishes `event` on `subject` into `TICKETS`, acked.
    pub async fn publish(&self, subject: String, event: &impl serde::Serialize) -> u64 {
        let payload = serde_json::to_vec(event).unwrap();
        let ack = self.js.publish(subject, payload.into()).await.unwrap();
        ack.await.unwrap().sequence
    }

    /// Stops the hub and the server; every stream ends.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(PATIENCE, self.server)
            .await
            .expect("the server stopped")
            .unwrap();
    }
}

/// A ticket opened by the router in `office_id`, recorded and published.
pub async fn open_in(
    live: &Live,
    store: &Store,
    office_id: &str,
    courier: CourierId,
) -> TicketOpened {
    let ev = opened(office_id, courier, base_time(), time::Duration::minutes(30));
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    let subject = ticket_subject(
        &ev.office_id,
        ev.category,
        civicprobe_model::EventKind::Opened,
    );
    live.publish(subject, &ev).await;
    ev
}

/// `actor` takes `action` on the ticket; the outbox publishes it.
pub async fn step(live: &Live, store: &Store, ticket: TicketId, action: TicketAction, actor: &str) {
    let current = store.ticket(ticket).await.unwrap().unwrap();
    let role = if actor.starts_with("office:") {
        Role::Office
    } else {
        Role::Supervisor
    };
    let change = Transition {
        action,
        actor: actor.into(),
        role,
        at: store.now(),
        reason: None,
        note: Some(format!("{action:?} note")),
        proof_photo_sha256: None,
    };
    store.apply(&current, &change).await.unwrap();
    assert_eq!(publish_pending(&live.js, store).await.unwrap(), 1);
}
