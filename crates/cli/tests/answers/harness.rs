//! A running stack with one ticket and a token of each kind.

use civicprobe::stack::{Stack, StackConfig};
use civicprobe_model::{OfficeId, ReportId, TicketId};
use civicprobe_testkit::NatsServer;
use reqwest::Client;
use std::path::Path;
use std::time::Duration;

/// Where the test ticket is (inside Wenquan).
pub const WENQUAN: (f64, f64) = (29.8413, 114.3225);

/// The stack, its tokens and a ticket of Wenquan's reported by `courier`.
pub struct Harness {
    pub stack: Stack,
    pub base: String,
    pub http: Client,
    pub courier: String,
    pub office: String,
    pub supervisor: String,
    pub report: ReportId,
    pub ticket: TicketId,
    pub nats: NatsServer,
    _data: tempfile::TempDir,
}

/// Starts a stack configured by `configure`, adds the tokens and routes
/// one report into a ticket.
pub async fn start(configure: impl FnOnce(&mut StackConfig)) -> Harness {
    let nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut config = StackConfig::new(data.path().join("stack"), nats.url(), &fixtures);
    configure(&mut config);
    let stack = Stack::start(config).await.expect("stack");
    let store = stack.store.clone();
    let (_, courier) = store.add_courier("ada").await.expect("courier");
    let wenquan = OfficeId::parse("wenquan").expect("office id");
    let office = store.add_office(&wenquan, None).await.expect("office");
    let supervisor = store.add_supervisor("zhang").await.expect("supervisor");
    let mut h = Harness {
        base: stack.base_url(),
        stack,
        http: Client::new(),
        courier,
        office,
        supervisor,
        report: ReportId(uuid::Uuid::nil()),
        ticket: TicketId(uuid::Uuid::nil()),
        nats,
        _data: data,
    };
    h.report = h.submit("井盖缺失").await;
    h.ticket = h.routed(h.report).await;
    h
}

impl Harness {
    /// A courier report with `text`, as the app sends it; its id.
    pub async fn submit(&self, text: &str) -> ReportId {
        let report = serde_json::json!({"lat": WENQUAN.0, "lon": WENQUAN.1, "text": text});
        let (status, body) = self.submit_raw(&report.to_string()).await;
        assert_eq!(status, 202, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["report_id"].as_str().expect("id").parse().expect("uuid")
    }

    /// `POST /v1/reports` with `report` as the report part (a new
    /// idempotency key each time); status, body.
    pub async fn submit_raw(&self, report: &str) -> (u16, String) {
        let photo = civicprobe_testkit::photos::jpeg(64, 48);
        let form = reqwest::multipart::Form::new()
            .text("report", report.to_owned())
            .part(
                "photo",
                reqwest::multipart::Part::bytes(photo).file_name("p.jpg"),
            );
        let r = self
            .http
            .post(format!("{}/v1/reports", self.base))
            .bearer_auth(&self.courier)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .multipart(form)
            .send()
            .await
            .expect("submit");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// The ticket `report` joined, once the router made it.
    pub async fn routed(&self, report: ReportId) -> TicketId {
        for _ in 0..300 {
            if let Some((ticket, _)) = self.stack.store.report_ticket(report).await.expect("db") {
                return ticket;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("report {report} was never routed");
    }
}

/// Status, `Content-Type` and body of an answer.
pub async fn read(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_owned())
        .unwrap_or_default();
    (status, kind, r.text().await.expect("body"))
}
