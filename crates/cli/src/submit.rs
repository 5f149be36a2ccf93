//! The courier's command-line client: `civicprobe submit`.

use anyhow::{bail, Context};
use std::path::PathBuf;

/// One report to submit.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Base URL of the ingest service, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The courier's bearer token.
    pub token: String,
    /// The photo file.
    pub photo: PathBuf,
    /// Latitude and longitude, degrees; `None` to let ingest take the
    /// photo's EXIF GPS position.
    pub position: Option<(f64, f64)>,
    /// Free text.
    pub text: Option<String>,
    /// Category hint.
    pub hint: Option<String>,
    /// The retry key; a new one per submission unless given.
    pub idempotency_key: String,
}

/// Submits and returns the report id.
pub async fn submit(s: &Submission) -> anyhow::Result<String> {
    let photo = tokio::fs::read(&s.photo)
        .await
        .with_context(|| format!("reading {}", s.photo.display()))?;
    let file_name = s
        .photo
        .file_name()
        .map_or_else(|| "photo".to_owned(), |n| n.to_string_lossy().into_owned());
    let mut report = serde_json::json!({"text": s.text, "category_hint": s.hint});
    if let Some((lat, lon)) = s.position {
        report["lat"] = lat.into();
        report["lon"] = lon.into();
    }
    let form = reqwest::multipart::Form::new()
        .part(
            "report",
            reqwest::multipart::Part::text(report.to_string()).mime_str("application/json")?,
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(photo).file_name(file_name),
        );
    let url = format!("{}/v1/reports", s.url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&s.token)
        .header("Idempotency-Key", &s.idempotency_key)
        .multipart(form)
        .send()
        .await
        .with_context(|| format!("posting to {url}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let detail = body["detail"]
            .as_str()
            .or(body["title"].as_str())
            .unwrap_or("");
        let field = body["field"]
            .as_str()
            .map(|f| format!(" (field {f})"))
            .unwrap_or_default();
        bail!("{status}: {detail}{field}");
    }
    body["report_id"]
        .as_str()
        .map(str::to_owned)
        .context("the answer carried no report_id")
}
