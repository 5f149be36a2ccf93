//! The alerts tests' world: a real local HTTP receiver (axum on port 0)
//! that records every request and answers from a script, a real
//! nats-server with the `TICKETS` stream, and [`civicprobe_tracker::alerts::run`].
#![allow(dead_code)]

use async_nats::jetstream;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use civicprobe_testkit::NatsServer;
use civicprobe_tracker::alerts::render::hmac_sha256;
use civicprobe_tracker::alerts::{self, AlertConfig, Audience, Channel, NewChannel};
use civicprobe_tracker::Store;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// Path and query, e.g. `/robot/send?access_token=t&timestamp=…`.
    pub uri: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Log {
    requests: Vec<Received>,
    script: VecDeque<(u16, String)>,
}

/// A local webhook receiver.
pub struct Receiver {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: Arc<Mutex<Log>>,
}

/// What every robot accepts as success.
pub const OK_ANSWER: &str = r#"{"errcode":0,"errmsg":"ok","code":0,"msg":"success"}"#;

impl Receiver {
    pub async fn start() -> Receiver {
        let log = Arc::new(Mutex::new(Log::default()));
        let app = axum::Router::new().fallback(record).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { base, log }
    }

    /// The next answers, in order (then [`OK_ANSWER`]).
    pub fn answer(&self, status: u16, body: &str) {
        self.log
            .lock()
            .unwrap()
            .script
            .push_back((status, body.to_owned()));
    }

    pub fn requests(&self) -> Vec<Received> {
        self.log.lock().unwrap().requests.clone()
    }

    /// Waits until at least `n` requests came (20 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver got {} requests, not {n}",
            self.requests().len()
        );
    }

    /// Requests whose path starts with `path`.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.uri.starts_with(path))
            .collect()
    }
}

async fn record(
    State(log): State<Arc<Mutex<Log>>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let mut log = log.lock().unwrap();
    log.requests.push(Received {
        uri: uri.to_string(),
        headers,
        body: body.to_vec(),
    });
    let (status, body) = log
        .script
        .pop_front()
        .unwrap_or((200, OK_ANSWER.to_owned()));
    (StatusCode::from_u16(status).unwrap(), body)
}

/// Alerts settings for tests: quick retries, links under civic.example,
/// no digest (a test that wants one sets its time).
pub fn config() -> AlertConfig {
    AlertConfig {
        digest_at: alerts::DigestAt(None),
        retry_base_ms: 20,
        retry_cap_secs: 1,
        timeout_secs: 5,
        link_base: Some("https://civic.example".into()),
        ..AlertConfig::default()
    }
}

/// A running alerts task on a real NATS.
pub struct Running {
    pub nats: NatsServer,
    pub js: jetstream::Context,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), civicprobe_tracker::Error>>>,
}

impl Running {
    /// Starts NATS, the stream, the consumer (before anything is
    /// published) and [`alerts::run`].
    pub async fn start(store: &Store, config: AlertConfig) -> Running {
        let nats = NatsServer::start().unwrap();
        let (_client, js) = nats.connect().await.unwrap();
        crate::common::tickets_stream(&js).await;
        alerts::ensure_alerts_consumer(&js).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(alerts::run(
            js.clone(),
            store.clone(),
            config,
            Default::default(),
            async {
                let _ = rx.await;
            },
        ));
        Running {
            nats,
            js,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Publishes and waits for the stream's ack.
    pub async fn publish(&self, subject: String, payload: &impl serde::Serialize) {
        self.js
            .publish(subject, serde_json::to_vec(payload).unwrap().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Stops the task and checks it ended cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// Adds a channel, panicking on refusal.
pub async fn channel(
    store: &Store,
    audience: Audience,
    url: &str,
    format: &str,
    secret: Option<&str>,
) -> Channel {
    let new = NewChannel::parse(audience, url, format, secret, None).unwrap();
    store.add_alert_channel(&new).await.unwrap()
}

/// The DingTalk request's `timestamp` and `sign` recomputed from the secret.
pub fn assert_dingtalk_signed(r: &Received, secret: &str) {
    let url = reqwest::Url::parse(&format!("http://x{}", r.uri)).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let ts = &q["timestamp"];
    let mac = hmac_sha256(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac);
    assert_eq!(q["sign"], want, "{}", r.uri);
    assert_eq!(q["access_token"], "tok");
    // The sign arrives url-encoded (base64 holds + / =).
    assert!(!r.uri.split("sign=").nth(1).unwrap().contains(['+', '/']));
}

/// Feishu's body `sign` recomputed: HMAC keyed by "<timestamp>\n<secret>" over "".
pub fn assert_feishu_signed(r: &Received, secret: &str) {
    let body = r.json();
    let ts = body["timestamp"].as_str().unwrap();
    let mac = hmac_sha256(format!("{ts}\n{secret}").as_bytes(), b"");
    assert_eq!(
        body["sign"],
        base64::engine::general_purpose::STANDARD.encode(mac)
    );
}

/// `X-Civicprobe-Signature: t=…,v1=hex(HMAC(secret, "t.body"))`.
pub fn assert_json_signed(r: &Received, secret: &str) {
    let sig = r.header("x-civicprobe-signature");
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(&r.body);
    assert_eq!(v1, hex::encode(hmac_sha256(secret.as_bytes(), &msg)));
    assert!(!r.header("x-civicprobe-delivery").is_empty());
}
