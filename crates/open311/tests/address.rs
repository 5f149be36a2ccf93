//! `address_string`: a request placed by the local gazetteer instead of
//! lat/long, on both databases.

mod common;

use civicprobe_model::TicketId;
use common::*;

/// `address_string` alone: a known place is routed like `lat` + `long`
/// and read back as `address`; an unknown one is a `400` in both formats.
async fn address_string(kind: &str) {
    let h = harness(kind).await;
    let form = |address: &'static str| {
        vec![
            ("api_key", h.courier.as_str()),
            ("service_code", "manhole"),
            ("address_string", address),
            ("description", "井盖丢失"),
        ]
    };
    for (ext, address, place, office) in [
        ("json", "温泉路 12号", (29.845, 114.315), "wenquan"),
        ("xml", "咸宁市中百超市门口", (29.865, 114.345), "yongan"),
    ] {
        let (status, body) = h.post(ext, &form(address)).await;
        assert_eq!(status, 201, "{body}");
        let id = body
            .split(['"', '<', '>'])
            .find(|s| s.parse::<civicprobe_model::ReportId>().is_ok())
            .expect("id")
            .to_owned();
        let r = &h.routed(&id).await[0];
        assert_eq!(r["address"], address);
        assert_eq!(r["description"], "井盖丢失");
        assert_eq!(
            (r["lat"].as_f64(), r["long"].as_f64()),
            (Some(place.0), Some(place.1))
        );
        let ticket_id = TicketId::for_report(id.parse().expect("report id"));
        let queue = h
            .store
            .office_queue(&office.parse().expect("office"), None, 50)
            .await
            .expect("queue");
        assert!(queue.iter().any(|t| t.ticket_id == ticket_id), "{office}");
        let (_, xml) = h.get(&format!("/open311/v2/requests/{id}.xml")).await;
        well_formed(&xml);
        assert!(
            xml.contains(&format!("<address>{address}</address>")),
            "{xml}"
        );
    }
    let (status, body) = h.post("json", &form("1 Main St")).await;
    assert_eq!((status, error_code(&body)), (400, 400), "{body}");
    assert!(
        body.contains("is not a known place; send lat and long"),
        "{body}"
    );
    let (status, xml) = h.post("xml", &form("火星大道 1号")).await;
    assert_eq!(status, 400, "{xml}");
    well_formed(&xml);
    assert!(xml.contains("<code>400</code>"), "{xml}");
    assert!(
        xml.contains("is not a known place; send lat and long"),
        "{xml}"
    );
}

#[tokio::test]
async fn sqlite_address_string() {
    address_string("sqlite").await;
}

#[tokio::test]
async fn postgres_address_string() {
    address_string("postgres").await;
}
