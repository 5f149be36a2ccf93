//! GeoReport v2 end to end: a real NATS server, the router and the
//! tracker's consumer, both databases, the Open311 routes over HTTP.

mod common;

use civicprobe_model::{Role, TicketAction, TicketId};
use civicprobe_tracker::Transition;
use common::*;

async fn end_to_end(kind: &str) {
    civicprobe_testkit::init_tracing();
    let h = harness(kind).await;
    // The spec's POST example, JSON: [{"service_request_id": "…", …}].
    let (status, body) = h
        .post("json", &spec_form(&h.courier, "井盖丢失 <b>&</b>"))
        .await;
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).expect("json");
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("id as string")
        .to_owned();
    let request = h.routed(&id).await;
    let r = &request[0];
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "manhole");
    assert_eq!(r["agency_responsible"], "温泉街道");
    assert_eq!(r["description"], "井盖丢失 <b>&</b>");
    assert_eq!(r["lat"], 29.84);
    assert_eq!(r["long"], 114.32);
    for field in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        let t = r[field].as_str().expect(field);
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| panic!("{field} {t}"));
    }
    // It is a ticket in the right office's queue.
    let report: civicprobe_model::ReportId = id.parse().expect("report id");
    let ticket_id = TicketId::for_report(report);
    let queue = h
        .store
        .office_queue(&"wenquan".parse().expect("office"), None, 50)
        .await
        .expect("queue");
    assert!(queue.iter().any(|t| t.ticket_id == ticket_id));

    // The same request in XML: well-formed, the spec's element names, escaped.
    let (status, xml) = h.get(&format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><status>open</status>")), "{xml}");
    assert!(
        xml.contains("<description>井盖丢失 &lt;b&gt;&amp;&lt;/b&gt;</description>"),
        "{xml}"
    );
    assert!(xml.contains("<agency_responsible>温泉街道</agency_responsible>"));

    lists_and_tokens(&h, &id).await;
    updates(&h, &id, ticket_id).await;
    refusals(&h).await;
    multipart_media(&h).await;
    idempotency(&h).await;
}

async fn lists_and_tokens(h: &Harness, id: &str) {
    let (status, body) = h
        .get(&format!(
            "/open311/v2/requests.json?service_request_id={id},{}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v.as_array().expect("array").len(), 1);
    let (_, body) = h
        .get("/open311/v2/requests.json?service_code=manhole&status=open")
        .await;
    assert!(body.contains(id), "{body}");
    let (_, body) = h.get("/open311/v2/requests.json?status=closed").await;
    assert_eq!(body, "[]");
    let (_, body) = h
        .get("/open311/v2/requests.json?service_code=elevator")
        .await;
    assert_eq!(body, "[]");
    let (_, body) = h.get("/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00%2B08:00").await;
    assert_eq!(body, "[]");
    let (status, xml) = h.get("/open311/v2/requests.xml?status=open,closed").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")));
    let (status, body) = h.get(&format!("/open311/v2/tokens/{id}.json")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v[0]["service_request_id"], id);
    assert_eq!(v[0]["token"], id);
    let (status, xml) = h.get(&format!("/open311/v2/tokens/{id}.xml")).await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains(&format!("<token>{id}</token>")));
}

async fn updates(h: &Harness, id: &str, ticket_id: TicketId) {
    let ticket = h
        .store
        .ticket(ticket_id)
        .await
        .expect("ticket")
        .expect("some");
    let ack = Transition {
        action: TicketAction::Acknowledge,
        actor: "office:wenquan".into(),
        role: Role::Office,
        at: h.store.now(),
        reason: None,
        note: Some("on our way".into()),
        proof_photo_sha256: None,
    };
    h.store.apply(&ticket, &ack).await.expect("acknowledge");
    let (status, body) = h
        .get(&format!(
            "/open311/v2/servicerequestupdates.json?service_request_id={id}"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let statuses: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["OPEN", "INVESTIGATING"]);
    assert_eq!(v[1]["description"], "温泉街道已受理。说明：on our way");
    assert_eq!(v[1]["external_status_code"], "acknowledged");
    assert!(v[1]["update_id"].is_string());
    let (status, xml) = h.get("/open311/v2/servicerequestupdates.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(
        xml.contains("<service_request_updates><request_update><update_id>"),
        "{xml}"
    );
    assert!(xml.contains("<status>INVESTIGATING</status>"));

    // A supervisor's reroute is an update too: updated_datetime follows it.
    let acknowledged = h
        .store
        .ticket(ticket_id)
        .await
        .expect("ticket")
        .expect("some");
    let fushan: OfficeId = "fushan".parse().expect("office id");
    h.store
        .reroute(&acknowledged, &fushan, "supervisor:zhang", None)
        .await
        .expect("reroute");
    let events = h.store.ticket_events(ticket_id).await.expect("events");
    let rerouted = events.last().expect("an event");
    assert_eq!(rerouted.kind, "rerouted");
    let (status, body) = h.get(&format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v[0]["updated_datetime"],
        rerouted
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format"),
        "{body}"
    );
}

async fn refusals(h: &Harness) {
    // 403: no api_key, an unknown one, an office's token.
    for key in ["", "0123", h.office.as_str()] {
        let (status, body) = h.post("json", &spec_form(key, "x")).await;
        assert_eq!((status, error_code(&body)), (403, 403), "{body}");
    }
    let (status, xml) = h.post("xml", &spec_form("nope", "x")).await;
    assert_eq!(status, 403);
    well_formed(&xml);
    assert!(
        xml.contains("<errors><error><code>403</code><description>"),
        "{xml}"
    );
    // 400: an unknown place, a bad latitude, an unknown service, a bad date.
    let key = h.courier.as_str();
    let address = [
        ("api_key", key),
        ("service_code", "other"),
        ("address_string", "1 Main St"),
    ];
    let (status, body) = h.post("json", &address).await;
    assert_eq!(status, 400);
    assert!(body.contains("is not a known place"), "{body}");
    let bad_lat = [
        ("api_key", key),
        ("service_code", "other"),
        ("lat", "91"),
        ("long", "1"),
    ];
    assert_eq!(h.post("json", &bad_lat).await.0, 400);
    let bad_code = [
        ("api_key", key),
        ("service_code", "fire"),
        ("lat", "1"),
        ("long", "1"),
    ];
    let (status, xml) = h.post("xml", &bad_code).await;
    assert_eq!(status, 400);
    well_formed(&xml);
    let (status, body) = h
        .get("/open311/v2/requests.json?start_date=yesterday")
        .await;
    assert_eq!((status, error_code(&body)), (400, 400));
    // 404: unknown ids, services, endpoints, tokens.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/open311/v2/requests/{unknown}.json"),
        "/open311/v2/requests/not-an-id.json".to_owned(),
        "/open311/v2/services/fire.json".to_owned(),
        format!("/open311/v2/tokens/{unknown}.json"),
        "/open311/v2/nothing.json".to_owned(),
    ] {
        let (status, body) = h.get(&path).await;
        assert_eq!((status, error_code(&body)), (404, 404), "{path}");
    }
    let (status, xml) = h.get(&format!("/open311/v2/requests/{unknown}.xml")).await;
    assert_eq!(status, 404);
    well_formed(&xml);
}

async fn multipart_media(h: &Harness) {
    let photo = civicprobe_testkit::photos::jpeg(64, 48);
    let form = reqwest::multipart::Form::new()
        .text("api_key", h.courier.clone())
        .text("service_code", "electrical_box")
        .text("lat", "29.84")
        .text("long", "114.32")
        .text("description", "配电箱冒烟")
        .part(
            "media",
            reqwest::multipart::Part::bytes(photo)
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let r = h
        .http
        .post(format!("{}/open311/v2/requests.xml", h.base))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 201);
    let xml = r.text().await.expect("body");
    well_formed(&xml);
    let id = xml
        .split("<service_request_id>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("id")
        .to_owned();
    let request = h.routed(&id).await;
    let media = request[0]["media_url"].as_str().expect("media_url");
    assert!(
        media.ends_with(&format!("/open311/v2/media/{id}/0")),
        "{media}"
    );
    // Fetchable without a token, like the request itself.
    let fetched = h.http.get(media).send().await.expect("media");
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");
    let bytes = fetched.bytes().await.expect("bytes");
    assert!(image::load_from_memory(&bytes).is_ok());
    let missing = h
        .http
        .get(format!("{}/open311/v2/media/{id}/7", h.base))
        .send()
        .await
        .expect("media");
    assert_eq!(missing.status().as_u16(), 404);
    // A photo that is not one is refused by ingest's checks.
    let form = reqwest::multipart::Form::new()
        .text("api_key", h.courier.clone())
        .text("service_code", "other")
        .text("lat", "29.84")
        .text("long", "114.32")
        .part(
            "media",
            reqwest::multipart::Part::bytes(b"not a photo".to_vec()),
        );
    let r = h
        .http
        .post(format!("{}/open311/v2/requests.json", h.base))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert!(r.status().is_client_error(), "{}", r.status());
}

#[tokio::test]
async fn sqlite_end_to_end() {
    end_to_end("sqlite").await;
}

#[tokio::test]
async fn postgres_end_to_end() {
    end_to_end("postgres").await;
}

/// The spec's `services`, `services/{code}` and `discovery` examples.
#[tokio::test]
async fn services_and_discovery_in_both_formats() {
    let h = harness("sqlite").await;
    let (status, body) = h.get("/open311/v2/services.json").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    let codes: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["service_code"].as_str().expect("string code"))
        .collect();
    assert_eq!(codes, ["manhole", "elevator", "electrical_box", "other"]);
    assert_eq!(v[0]["service_name"], "Manhole cover / 井盖");
    assert_eq!(v[0]["metadata"], false);
    assert_eq!(v[0]["type"], "realtime");
    let (status, xml) = h.get("/open311/v2/services.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains("<services><service><service_code>manhole</service_code><service_name>Manhole cover / 井盖</service_name>"), "{xml}");
    assert!(xml.contains("<metadata>false</metadata><type>realtime</type>"));

    let (status, body) = h.get("/open311/v2/services/elevator.json").await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"service_code":"elevator","attributes":[]}"#);
    let (status, xml) = h.get("/open311/v2/services/elevator.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains("<service_definition><service_code>elevator</service_code><attributes/></service_definition>"), "{xml}");

    let (status, body) = h.get("/open311/v2/discovery.json").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(v["endpoints"][0]["formats"][1], "application/json");
    assert!(v["endpoints"][0]["url"]
        .as_str()
        .expect("url")
        .ends_with("/open311/v2"));
    let (status, xml) = h.get("/open311/v2/discovery.xml").await;
    assert_eq!(status, 200);
    well_formed(&xml);
    assert!(xml.contains("<endpoints><endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification>"), "{xml}");
    assert!(
        xml.contains(
            "<formats><format>text/xml</format><format>application/json</format></formats>"
        ),
        "{xml}"
    );
    let (status, _) = h.get("/open311/v2/services.html").await;
    assert_eq!(status, 404);
}

/// A retry under the same `Idempotency-Key` gets the same id; other
/// content under it is refused.
async fn idempotency(h: &Harness) {
    let key = uuid::Uuid::new_v4().to_string();
    let send = |description: &'static str| {
        h.http
            .post(format!("{}/open311/v2/requests.json", h.base))
            .header("Idempotency-Key", key.clone())
            .form(&spec_form(&h.courier, description))
            .send()
    };
    let first = send("one").await.expect("post").text().await.expect("body");
    let again = send("one").await.expect("post").text().await.expect("body");
    assert_eq!(first, again);
    let other = send("two").await.expect("post");
    assert_eq!(other.status().as_u16(), 409);
}
