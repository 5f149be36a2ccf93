//! One submission of `civicprobe load`: a courier's report with a photo,
//! and (with a viewer token) the wait until its ticket can be read.

use super::{progress, LoadArgs, Outcome, Photo};
use civicprobe_model::{ReportId, TicketId};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Categories and texts used in turn (same-category reports close to each
/// other merge, so rotating them keeps most reports separate tickets).
const CATEGORIES: [(&str, &str); 4] = [
    ("manhole", "井盖缺失 manhole cover missing (load test)"),
    ("elevator", "电梯困人 people trapped in lift (load test)"),
    (
        "electrical_box",
        "配电箱冒烟 electrical box smoking (load test)",
    ),
    ("other", "路灯倒了 street light down (load test)"),
];

/// Urgent texts, one per category, used in turn with `--urgent`.
const URGENT: [(&str, &str); 4] = [
    (
        "manhole",
        "井盖整个掉下去了，露出大洞 open manhole (load test)",
    ),
    ("elevator", "电梯困人 people trapped in lift (load test)"),
    (
        "electrical_box",
        "配电箱着火冒烟 electrical box on fire (load test)",
    ),
    (
        "other",
        "电线断了冒火花 live wire sparking on the road (load test)",
    ),
];

/// One submission and, with a viewer token, the wait for its ticket.
pub(super) struct Job {
    /// The shared client.
    pub(super) http: reqwest::Client,
    /// The run's options.
    pub(super) args: LoadArgs,
    /// The courier sending it.
    pub(super) token: String,
    /// The photo sent.
    pub(super) photo: Photo,
    /// Where the hazard is said to be.
    pub(super) point: (f64, f64),
    /// The report's number in the run.
    pub(super) index: usize,
    /// The run's progress, counted as it goes.
    pub(super) counts: Arc<progress::Counts>,
}

impl Job {
    pub(super) async fn run(self) -> Outcome {
        let key = uuid::Uuid::new_v4().to_string();
        let texts = if self.args.urgent {
            &URGENT
        } else {
            &CATEGORIES
        };
        let (hint, text) = texts[self.index % texts.len()];
        let report = serde_json::json!({
            "lat": self.point.0, "lon": self.point.1, "text": text, "category_hint": hint,
        });
        let part =
            reqwest::multipart::Part::bytes(self.photo.1.clone()).file_name(self.photo.0.clone());
        let form = reqwest::multipart::Form::new()
            .text("report", report.to_string())
            .part("photo", part);
        let sent = Instant::now();
        self.counts.sent();
        let response = self
            .http
            .post(format!("{}/v1/reports", self.args.url))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", &key)
            .multipart(form)
            .send()
            .await;
        let status = response.as_ref().map_or(0, |r| r.status().as_u16());
        let submit = sent.elapsed();
        self.counts.answered(status == 202);
        let accepted_at = Instant::now();
        let answered = accepted_at;
        let report_id = match response {
            Ok(r) if status == 202 => r.json::<serde_json::Value>().await.ok().and_then(|b| {
                b["report_id"]
                    .as_str()
                    .and_then(|s| s.parse::<ReportId>().ok())
            }),
            _ => None,
        };
        let to_ticket = match (report_id, &self.args.viewer_token) {
            (Some(id), Some(viewer)) => self.wait_for_ticket(id, viewer, accepted_at).await,
            _ => None,
        };
        if to_ticket.is_some() {
            self.counts.ticketed();
        }
        Outcome {
            status,
            submit,
            answered,
            to_ticket,
            ticket: report_id.map(TicketId::for_report),
        }
    }

    async fn wait_for_ticket(
        &self,
        report: ReportId,
        viewer: &str,
        since: Instant,
    ) -> Option<Duration> {
        let url = format!(
            "{}/v1/tickets/{}",
            self.args.url,
            TicketId::for_report(report)
        );
        while since.elapsed() < Duration::from_secs(10) {
            let answer = self.http.get(&url).bearer_auth(viewer).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Some(since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    }
}
