//! `POST requests` with a photo but no `lat`/`long` or `address_string`:
//! the photo's EXIF GPS position places the request (flagged
//! `position_from_exif` for the office; also when `address_string` names
//! no known place); a photo without one is a `400`
//! naming `lat`; odd EXIF never costs the request. On both databases.

mod common;

use civicprobe_ingest::photo::exif::{app1_payload, with_app1};
use civicprobe_model::{EvidenceFlag, ReportId};
use common::*;

/// At the Wenquan street office.
const WENQUAN: (f64, f64) = (29.8413, 114.3225);

impl Harness {
    /// A multipart `POST requests.json` of `fields` and one `media` photo.
    async fn post_media(&self, fields: &[(&str, &str)], photo: Vec<u8>) -> (u16, String) {
        let mut form = reqwest::multipart::Form::new().text("api_key", self.courier.clone());
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let part = reqwest::multipart::Part::bytes(photo)
            .file_name("a.jpg")
            .mime_str("image/jpeg")
            .expect("mime");
        let r = self
            .http
            .post(format!("{}/open311/v2/requests.json", self.base))
            .multipart(form.part("media", part))
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// The evidence flags the tracker keeps for request `id`.
    async fn flags_of(&self, id: &str) -> Vec<EvidenceFlag> {
        self.routed(id).await;
        let report: ReportId = id.parse().expect("report id");
        // The ticket it opened, or the one it was merged onto.
        let (ticket_id, _) = self
            .store
            .report_ticket(report)
            .await
            .expect("store")
            .expect("routed");
        let ticket = self
            .store
            .ticket(ticket_id)
            .await
            .expect("store")
            .expect("ticket");
        let reports = self.store.ticket_reports(&ticket).await.expect("reports");
        let ours = reports
            .iter()
            .find(|r| r.report_id == report)
            .expect("on the ticket");
        ours.evidence.flags.clone()
    }
}

fn created_id(body: &str) -> String {
    let v: Value = serde_json::from_str(body).expect("json");
    v[0]["service_request_id"].as_str().expect("id").to_owned()
}

async fn a_photo_places_a_request_without_a_position(kind: &str) {
    let h = harness(kind).await;
    let fields = [("service_code", "manhole"), ("description", "井盖丢失")];
    let jpeg = civicprobe_testkit::photos::jpeg(64, 48);
    let with_gps = with_app1(
        &jpeg,
        &app1_payload(Some(WENQUAN), Some("2025:05:01 07:55:00"), Some(1)),
    );
    let (status, body) = h.post_media(&fields, with_gps.clone()).await;
    assert_eq!(status, 201, "{body}");
    let id = created_id(&body);
    let routed = &h.routed(&id).await[0];
    let (lat, long) = (
        routed["lat"].as_f64().unwrap(),
        routed["long"].as_f64().unwrap(),
    );
    assert!(
        (lat - WENQUAN.0).abs() < 1e-5 && (long - WENQUAN.1).abs() < 1e-5,
        "{routed}"
    );
    let flags = h.flags_of(&id).await;
    assert!(
        flags.contains(&EvidenceFlag::PositionFromExif { photo: 0 }),
        "{flags:?}"
    );
    assert!(
        !flags
            .iter()
            .any(|f| matches!(f, EvidenceFlag::FarFromReported { .. })),
        "{flags:?}"
    );

    // An address the gazetteer does not know: the photo places it, and the
    // address is kept for the office to read.
    let unknown = [("service_code", "other"), ("address_string", "1 Main St")];
    let (status, body) = h.post_media(&unknown, with_gps.clone()).await;
    assert_eq!(status, 201, "{body}");
    let id = created_id(&body);
    assert_eq!(h.routed(&id).await[0]["address"], "1 Main St");
    assert!(h
        .flags_of(&id)
        .await
        .contains(&EvidenceFlag::PositionFromExif { photo: 0 }));

    // No position anywhere: refused, naming lat, in the spec's error array.
    let (status, body) = h.post_media(&fields, jpeg.clone()).await;
    assert_eq!((status, error_code(&body)), (400, 400), "{body}");
    assert!(body.contains("lat: is required"), "{body}");

    // Odd EXIF (the 0°, 0° no-fix placeholder) with lat/long: accepted,
    // the GPS dropped and flagged.
    let odd = with_app1(&jpeg, &app1_payload(Some((0.0, 0.0)), None, None));
    let placed = [("lat", "29.8413"), ("long", "114.3225")];
    let (status, body) = h.post_media(&[&fields[..], &placed].concat(), odd).await;
    assert_eq!(status, 201, "{body}");
    let flags = h.flags_of(&created_id(&body)).await;
    // (The same picture again is also photo reuse: not this test's.)
    assert!(
        matches!(flags.first(), Some(EvidenceFlag::ExifUnreadable { photo: 0, reason }) if reason.contains("0°, 0°")),
        "{flags:?}"
    );
    assert!(!flags.contains(&EvidenceFlag::PositionFromExif { photo: 0 }));
}

#[tokio::test]
async fn sqlite_a_photo_places_a_request_without_a_position() {
    a_photo_places_a_request_without_a_position("sqlite").await;
}

#[tokio::test]
async fn postgres_a_photo_places_a_request_without_a_position() {
    a_photo_places_a_request_without_a_position("postgres").await;
}
