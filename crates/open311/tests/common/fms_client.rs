//! The harness driven as FixMyStreet's client drives a server: its
//! requests built by [`crate::fms`], its answers read as it reads them.
#![allow(dead_code)]

use crate::common::*;
use crate::fms;
use civicprobe_model::{ReportId, Role, TicketAction, TicketId};
use civicprobe_tracker::Transition;
use time::OffsetDateTime;

pub const FORM: &str = "application/x-www-form-urlencoded";

impl Harness {
    pub async fn raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    pub async fn get_lang(&self, path: &str, lang: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Accept-Language", lang)
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// POST requests.xml as FixMyStreet does; the new id.
    pub async fn fms_post(&self, lat: f64, long: f64, description: &str) -> String {
        let (lat, long) = (fms::coordinate(lat), fms::coordinate(long));
        let body = fms::form(&[
            ("email", "resident@example.org"),
            ("description", description),
            ("service_code", "manhole"),
            ("lat", &lat),
            ("long", &long),
            ("first_name", "Mei"),
            ("last_name", "Chen"),
            ("phone", "+86 715 000 0000"),
            ("api_key", &self.courier),
            ("jurisdiction_id", JURISDICTION),
            ("attribute[title]", "井盖丢失"),
            ("attribute[description]", description),
            ("attribute[report_url]", "https://fms.example/report/1"),
        ]);
        let (status, xml) = self
            .raw("/open311/v2/requests.xml", FORM, body.into())
            .await;
        assert_eq!(status, 201, "{xml}");
        let created = fms::items(&xml, "service_requests", "request");
        created[0]["service_request_id"].clone()
    }

    pub async fn updates_xml(&self, lang: &str, ids: &str) -> Vec<fms::Fields> {
        let now = OffsetDateTime::now_utc();
        let path = format!(
            "/open311/v2/servicerequestupdates.xml?api_key={}&start_date={}&end_date={}",
            self.courier,
            fms::w3c(now - time::Duration::hours(1)),
            fms::w3c(now + time::Duration::days(40)),
        );
        let (status, xml) = self.get_lang(&path, lang).await;
        assert_eq!(status, 200, "{xml}");
        fms::items(&xml, "service_request_updates", "request_update")
            .into_iter()
            .filter(|u| ids.split(',').any(|id| u["service_request_id"] == id))
            .collect()
    }
}

pub async fn ticket(h: &Harness, id: &str) -> civicprobe_tracker::Ticket {
    let report: ReportId = id.parse().expect("id");
    h.store
        .ticket(TicketId::for_report(report))
        .await
        .expect("ticket")
        .expect("some")
}

pub async fn act(h: &Harness, id: &str, action: TicketAction, note: Option<&str>) {
    let t = ticket(h, id).await;
    let step = Transition {
        action,
        actor: "office:wenquan".into(),
        role: Role::Office,
        at: h.store.now(),
        reason: None,
        note: note.map(str::to_owned),
        proof_photo_sha256: None,
    };
    h.store.apply(&t, &step).await.expect("transition");
}
