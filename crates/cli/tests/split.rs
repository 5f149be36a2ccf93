//! A split deployment as a district runs it: `civicprobe ingest` (no
//! database), `civicprobe router` and `civicprobe tracker` as separate
//! processes of the built binary, behind a real nginx configured with
//! `deploy/nginx/civicprobe-locations.conf`, on a real NATS and on both
//! databases. Everything below goes through nginx's one origin.

mod common;
#[path = "common/services.rs"]
mod services;

use reqwest::header::{CONTENT_TYPE, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use services::{eventually, Split};
use std::time::Duration;

/// Long enough for the token feed (1 s), the router and the tracker on a
/// busy machine.
const SOON: Duration = Duration::from_secs(30);

/// The object under `v` (anywhere) whose `key` is `value`.
fn find<'a>(v: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    match v {
        Value::Object(map) if map.get(key).and_then(Value::as_str) == Some(value) => Some(v),
        Value::Object(map) => map.values().find_map(|c| find(c, key, value)),
        Value::Array(items) => items.iter().find_map(|c| find(c, key, value)),
        _ => None,
    }
}

fn photo_part(bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name("photo.jpg")
        .mime_str("image/jpeg")
        .expect("mime")
}

/// Signs in through nginx; the `Cookie` header value and the CSRF value.
async fn sign_in(http: &Client, base: &str, token: &str) -> (String, String) {
    let ok = http
        .post(format!("{base}/session"))
        .header("origin", base)
        .header("sec-fetch-site", "same-origin")
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(ok.status(), StatusCode::OK);
    let pairs: Vec<String> = ok
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    assert!(
        pairs.iter().any(|p| p.starts_with("cp_session=")),
        "{pairs:?}"
    );
    let csrf = pairs
        .iter()
        .find_map(|p| p.strip_prefix("cp_csrf="))
        .expect("csrf cookie")
        .to_owned();
    (pairs.join("; "), csrf)
}

/// A courier's report, sent with the session cookie only (no bearer), as
/// the courier page sends it; retried while ingest has not yet learned
/// the session from TOKENS.
async fn submit_with_cookie(http: &Client, base: &str, cookie: &str, csrf: &str) -> String {
    eventually("a report with the session cookie", SOON, || async {
        let report = r#"{"lat":29.83,"lon":114.41,"text":"井盖没了","category_hint":"manhole"}"#;
        let form = reqwest::multipart::Form::new()
            .part(
                "report",
                reqwest::multipart::Part::text(report)
                    .mime_str("application/json")
                    .expect("mime"),
            )
            .part(
                "photo",
                photo_part(civicprobe_testkit::photos::jpeg(64, 48)),
            );
        let r = http
            .post(format!("{base}/v1/reports"))
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .header("origin", base)
            .header("sec-fetch-site", "same-origin")
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .multipart(form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match r.status() {
            StatusCode::ACCEPTED => {
                let body: Value = r.json().await.map_err(|e| e.to_string())?;
                Ok(body["report_id"].as_str().expect("report_id").to_owned())
            }
            s => Err(format!("{s}: {}", r.text().await.unwrap_or_default())),
        }
    })
    .await
}

/// The ticket of `report` in the office's queue, through nginx.
async fn ticket_of(http: &Client, base: &str, office: &str, report: &str) -> String {
    eventually("the ticket in the office queue", SOON, || async {
        let queue: Value = http
            .get(format!("{base}/v1/offices/wenquan/tickets"))
            .bearer_auth(office)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        find(&queue, "report_id", report)
            .and_then(|t| t["ticket_id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| queue.to_string())
    })
    .await
}

/// A JPEG whose EXIF says it was taken now about 20 m from the hazard:
/// a passer-by's check.
fn fresh_photo() -> Vec<u8> {
    civicprobe_ingest::photo::exif::taken_now_at(&jpeg(320, 240), (29.8302, 114.41))
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    civicprobe_testkit::photos::jpeg(w, h)
}

/// `bytes` posted through nginx (to ingest) as a ticket's `kind` photo
/// (`proof-photos`, `verification-photos`) by the holder of `token`.
async fn post_photo(
    http: &Client,
    base: &str,
    ticket: &str,
    kind: &str,
    token: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part("photo", photo_part(bytes));
    http.post(format!("{base}/v1/tickets/{ticket}/{kind}"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// A proof photo uploaded through nginx (to ingest); its sha256.
async fn upload_proof(
    http: &Client,
    base: &str,
    ticket: &str,
    token: &str,
    bytes: Vec<u8>,
) -> String {
    let uploaded = post_photo(http, base, ticket, "proof-photos", token, bytes).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    uploaded.json::<Value>().await.expect("json")["sha256"]
        .as_str()
        .expect("sha256")
        .to_owned()
}

async fn act(
    http: &Client,
    base: &str,
    token: &str,
    ticket: &str,
    step: &str,
    body: Value,
) -> reqwest::Response {
    http.post(format!("{base}/v1/tickets/{ticket}/{step}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("step")
}

async fn through_nginx(kind: &str) {
    let mut split = Split::start(kind).await;
    let (courier, _) = split.issue(&["courier", "add", "Li Wei"]);
    let (office, _) = split.issue(&["office", "add", "wenquan", "--person", "Wang Fang"]);
    let (other_office, _) = split.issue(&["office", "add", "fushan", "--person", "Zhao Lei"]);
    let (passer_by, _) = split.issue(&["courier", "add", "Chen Jing"]);
    let (http, base) = (Client::new(), split.nginx.url());

    // The courier page loads (the tracker's), and sign-in sets the cookie.
    let page = http.get(format!("{base}/")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .expect("html")
        .contains("<script type=\"module\""));
    let (cookie, csrf) = sign_in(&http, &base, &courier).await;

    // The cookie works at ingest too: the report becomes a ticket.
    let report = submit_with_cookie(&http, &base, &cookie, &csrf).await;
    let ticket = ticket_of(&http, &base, &office, &report).await;

    // Its photo, read from the shared photo store by the tracker, for the
    // ticket's office; another office does not see it exists.
    let photo = format!("{base}/v1/reports/{report}/photos/0");
    let mine = http
        .get(&photo)
        .bearer_auth(&office)
        .send()
        .await
        .expect("photo");
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(mine.headers()[CONTENT_TYPE], "image/jpeg");
    assert!(!mine.bytes().await.expect("bytes").is_empty());
    let theirs = http
        .get(&photo)
        .bearer_auth(&other_office)
        .send()
        .await
        .expect("photo");
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);

    // A proof photo uploaded to ingest and cited at once by the resolve
    // (the tracker looks the upload up on UPLOADS if it has not yet
    // recorded it).
    for step in ["acknowledge", "start"] {
        let r = act(&http, &base, &office, &ticket, step, serde_json::json!({})).await;
        assert_eq!(r.status(), StatusCode::OK, "{step}");
    }
    // Another office may not add a photo to this ticket: ingest asks a
    // tracker before storing, and answers 404 as for any ticket of
    // theirs that does not exist. A courier may not add a verification
    // photo before the ticket is resolved.
    let foreign = post_photo(
        &http,
        &base,
        &ticket,
        "proof-photos",
        &other_office,
        jpeg(96, 72),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let early = post_photo(
        &http,
        &base,
        &ticket,
        "verification-photos",
        &passer_by,
        fresh_photo(),
    )
    .await;
    assert_eq!(early.status(), StatusCode::NOT_FOUND);

    // The ticket's office uploads and resolves at once citing it.
    let sha = upload_proof(&http, &base, &ticket, &office, jpeg(80, 60)).await;
    let body = serde_json::json!({"note": "cover replaced", "proof_photo_sha256": sha});
    let resolved = act(&http, &base, &office, &ticket, "resolve", body).await;
    assert_eq!(
        resolved.status(),
        StatusCode::OK,
        "{}",
        resolved.text().await.unwrap_or_default()
    );
    let proof = format!("{base}/v1/tickets/{ticket}/proof-photos/{sha}");
    let r = http
        .get(&proof)
        .bearer_auth(&office)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);

    // A courier passing by uploads a fresh photo (to ingest) and verifies
    // at once citing it (the tracker, not yet caught up, looks it up).
    let uploaded = post_photo(
        &http,
        &base,
        &ticket,
        "verification-photos",
        &passer_by,
        fresh_photo(),
    )
    .await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let sha = uploaded.json::<Value>().await.expect("json")["sha256"]
        .as_str()
        .expect("sha256")
        .to_owned();
    let check =
        serde_json::json!({"fixed": true, "photo_sha256": sha, "lat": 29.83, "lon": 114.41});
    let verified = act(&http, &base, &passer_by, &ticket, "verify", check).await;
    let verified: Value = verified.json().await.expect("json");
    assert_eq!(verified["state"], "closed", "{verified}");

    // Open311: POST (ingest) then GET (tracker), by method on one path.
    // With the router away the tracker has not seen the request: it asks
    // the ingests, and the request reads "being routed" at once.
    split.router.stop();
    let posted = eventually("an Open311 POST", SOON, || async {
        let r = http
            .post(format!("{base}/open311/v2/requests.json"))
            .form(&[
                ("api_key", courier.as_str()),
                ("service_code", "manhole"),
                ("lat", "29.831"),
                ("long", "114.411"),
                ("description", "井盖松动"),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match r.status() {
            StatusCode::CREATED => Ok(r.json::<Value>().await.map_err(|e| e.to_string())?),
            s => Err(format!("{s}: {}", r.text().await.unwrap_or_default())),
        }
    })
    .await;
    let id = posted[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let read_one = |lang: &'static str| {
        let (http, url) = (
            http.clone(),
            format!("{base}/open311/v2/requests/{id}.json"),
        );
        async move {
            let r = http
                .get(url)
                .header("Accept-Language", lang)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            match r.status() {
                StatusCode::OK => Ok(r.json::<Value>().await.map_err(|e| e.to_string())?),
                s => Err(s.to_string()),
            }
        }
    };
    let pending = read_one("en").await.expect("read at once");
    assert_eq!(pending[0]["service_request_id"], id.as_str(), "{pending}");
    assert_eq!(pending[0]["status"], "open", "{pending}");
    assert_eq!(pending[0]["agency_responsible"], "", "{pending}");
    assert_eq!(
        pending[0]["status_notes"], "received; being routed to a street office",
        "{pending}"
    );
    let xml = http
        .get(format!("{base}/open311/v2/requests/{id}.xml"))
        .send()
        .await
        .expect("xml");
    assert_eq!(xml.status(), StatusCode::OK);
    assert!(xml
        .text()
        .await
        .expect("body")
        .contains(&format!("<service_request_id>{id}</service_request_id>")));
    // An id no ingest holds is still unknown.
    let unknown = http
        .get(format!(
            "{base}/open311/v2/requests/{}.json",
            civicprobe_model::ReportId::new()
        ))
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // The router back: the request is on its office's ticket.
    split.router.restart();
    let read = eventually("the Open311 request routed", SOON, || async {
        let read = read_one("zh").await?;
        match read[0]["agency_responsible"].as_str() {
            Some("") | None => Err(format!("not routed yet: {read}")),
            Some(_) => Ok(read),
        }
    })
    .await;
    assert_eq!(read[0]["service_request_id"], id.as_str(), "{read}");
    // A resident's update (FixMyStreet's extension) reaches the tracker,
    // which records it on the ticket.
    let update = http
        .post(format!("{base}/open311/v2/servicerequestupdates.xml"))
        .form(&[
            ("api_key", courier.as_str()),
            ("service_request_id", id.as_str()),
            ("update_id", "split-1"),
            ("status", "OPEN"),
            ("description", "还是松的"),
        ])
        .send()
        .await
        .expect("update");
    assert_eq!(update.status(), StatusCode::OK);
    let xml = update.text().await.expect("body");
    assert!(
        xml.contains("<service_request_updates><request_update><update_id>"),
        "{xml}"
    );
    let list = http
        .get(format!("{base}/open311/v2/requests.json"))
        .send()
        .await
        .expect("list");
    assert_eq!(list.status(), StatusCode::OK);
}

civicprobe_testkit::on_both_databases!(through_nginx);
