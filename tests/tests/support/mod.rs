//! The harness: a real nats-server, a fresh database and the whole stack.

use anyhow::{bail, Context};
use civicprobe::stack::{Stack, StackConfig};
use civicprobe_model::OfficeId;
use civicprobe_testkit::{NatsServer, TestDb};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Points inside each office of fixtures/jurisdictions.geojson (see
/// fixtures/README.md) and one far outside the district.
pub const WENQUAN: (f64, f64) = (29.84, 114.32);
pub const FUSHAN: (f64, f64) = (29.78, 114.35);
pub const OUTSIDE: (f64, f64) = (30.60, 114.30);

/// One running pipeline with its own NATS, database and data directory.
pub struct Harness {
    pub stack: Stack,
    pub http: reqwest::Client,
    pub js: async_nats::jetstream::Context,
    pub courier_token: String,
    pub supervisor_token: String,
    // Dropped last: the stack must stop before its NATS and database go.
    _data: tempfile::TempDir,
    _db: TestDb,
    _nats: NatsServer,
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

impl Harness {
    pub async fn start(db_kind: &str) -> anyhow::Result<Self> {
        Self::start_with(db_kind, |_| {}).await
    }

    /// [`Harness::start`] with `adjust` applied to the stack's settings.
    pub async fn start_with(
        db_kind: &str,
        adjust: impl FnOnce(&mut StackConfig),
    ) -> anyhow::Result<Self> {
        civicprobe_testkit::init_tracing();
        let nats = NatsServer::start()?;
        let db = TestDb::of_kind(db_kind).await?;
        let data = tempfile::tempdir()?;
        let mut config = StackConfig::new(data.path().to_path_buf(), nats.url(), &fixtures());
        config.database.database_url = Some(db.url().to_owned());
        adjust(&mut config);
        let stack = Stack::start(config).await?;
        let (_, courier_token) = stack.store.add_courier("Li Wei").await?;
        let supervisor_token = stack.store.add_supervisor("Zhang Min").await?;
        let (_client, js) = nats.connect().await?;
        Ok(Self {
            stack,
            http: reqwest::Client::new(),
            js,
            courier_token,
            supervisor_token,
            _data: data,
            _db: db,
            _nats: nats,
        })
    }

    pub async fn office_token(&self, office: &str) -> anyhow::Result<String> {
        Ok(self
            .stack
            .store
            .add_office(&OfficeId::parse(office)?, None)
            .await?)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.base_url())
    }

    /// POSTs a report; returns the status and the JSON body.
    pub async fn submit(
        &self,
        key: &str,
        at: (f64, f64),
        text: &str,
        photo: Vec<u8>,
    ) -> anyhow::Result<(u16, Value)> {
        self.submit_as(&self.courier_token, key, at, text, photo)
            .await
    }

    /// [`Harness::submit`] as the courier holding `token`.
    pub async fn submit_as(
        &self,
        token: &str,
        key: &str,
        at: (f64, f64),
        text: &str,
        photo: Vec<u8>,
    ) -> anyhow::Result<(u16, Value)> {
        let report = serde_json::json!({"lat": at.0, "lon": at.1, "text": text});
        self.submit_report(token, key, report, photo).await
    }

    /// POSTs `report` (the `report` part, whole) with one photo.
    pub async fn submit_report(
        &self,
        token: &str,
        key: &str,
        report: Value,
        photo: Vec<u8>,
    ) -> anyhow::Result<(u16, Value)> {
        let form = reqwest::multipart::Form::new()
            .text("report", report.to_string())
            .part(
                "photo",
                reqwest::multipart::Part::bytes(photo).file_name("p.jpg"),
            );
        let response = self
            .http
            .post(self.url("/v1/reports"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .multipart(form)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get(&self, token: &str, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Polls `path` until `done` holds for its JSON body (10 s at most).
    pub async fn wait_for(
        &self,
        token: &str,
        path: &str,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, body) = self.get(token, path).await?;
            if status == 200 && done(&body) {
                return Ok(body);
            }
            if Instant::now() > deadline {
                bail!("{path} did not reach the expected state: {status} {body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many messages a stream holds.
    pub async fn stream_messages(&self, stream: &str) -> anyhow::Result<u64> {
        let mut stream = self.js.get_stream(stream).await.context("get stream")?;
        Ok(stream.info().await?.state.messages)
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.stack.stop().await
    }
}

/// The items of a list answer, whether bare or under `tickets`/`items`.
pub fn items(body: &Value) -> Vec<Value> {
    body.as_array()
        .or_else(|| body["tickets"].as_array())
        .or_else(|| body["items"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// Runs an async test body (returning `anyhow::Result<()>`) once on
/// SQLite and once on PostgreSQL (the testkit's macro).
#[macro_export]
macro_rules! on_both_databases {
    ($($t:tt)*) => { civicprobe_testkit::on_both_databases!(fallible: $($t)*); };
}
