//! The web pages as a browser meets them, against a real `civicprobe up`
//! (which starts its own nats-server): cookie sign-in, CSRF refusals, the
//! Content-Security-Policy, scope checks through the cookie; then the
//! headless-Chromium scenarios of `tests/browser/run.mjs`.

mod common;

use common::{admin, repo, spawn_up, terminate, test_nats};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Client, StatusCode};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Deadlines for the test stack: the defaults of `fixtures/policy.toml`,
/// elevators due within seconds.
const TEST_POLICY: &str = r#"
[default.urgent]
acknowledge = "15m"
make_safe = "2h"
resolve = "24h"

[default.routine]
acknowledge = "4h"
make_safe = "24h"
resolve = "7d"

[elevator.urgent]
acknowledge = "1s"
make_safe = "2s"
resolve = "3s"

[elevator.routine]
acknowledge = "1s"
make_safe = "2s"
resolve = "3s"
"#;

/// A running `civicprobe up`, stopped with SIGTERM on drop.
struct Up {
    child: Child,
    url: String,
    /// The NATS server `up` uses, alive as long as `up`.
    _nats: civicprobe_testkit::NatsServer,
    _data: tempfile::TempDir,
    tokens: [String; 3],
    /// Another courier's token: the one who checks a fix nearby.
    second_courier: String,
}

impl Up {
    /// Courier, office (wenquan) and supervisor tokens, then `up` on port 0
    /// with a NATS server of the test's own.
    fn start() -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let tokens = [
            admin(data.path(), &["courier", "add", "Li Wei"]),
            admin(
                data.path(),
                &["office", "add", "wenquan", "--person", "Wang Fang"],
            ),
            admin(data.path(), &["supervisor", "add", "Zhang"]),
        ];
        // The fixture policy, except that elevator tickets are overdue
        // within seconds: the dashboard's overdue list gets something real.
        let policy = data.path().join("policy.toml");
        std::fs::write(&policy, TEST_POLICY).expect("policy");
        let extra = [std::ffi::OsStr::new("--policy"), policy.as_os_str()];
        let second_courier = admin(data.path(), &["courier", "add", "Wu Fang"]);
        let nats = test_nats();
        let (child, url) = spawn_up(data.path(), &nats.url(), &extra);
        Up {
            child,
            url,
            _nats: nats,
            _data: data,
            tokens,
            second_courier,
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// `name=value` of each `Set-Cookie`, and the full header lines.
fn cookies(headers: &HeaderMap) -> (String, Vec<String>) {
    let lines: Vec<String> = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let pairs: Vec<&str> = lines.iter().filter_map(|l| l.split(';').next()).collect();
    (pairs.join("; "), lines)
}

fn csrf_of(jar: &str) -> String {
    jar.split("; ")
        .find_map(|c| c.strip_prefix("cp_csrf="))
        .expect("csrf cookie")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_sign_in_by_cookie_and_refuse_cross_site_changes() {
    let up = Up::start();
    let (http, base) = (Client::new(), up.url.clone());
    let [courier, office, _] = up.tokens.clone();

    // Pages: HTML with a strict CSP; scripts are local files.
    for path in ["/", "/office", "/audit"] {
        let r = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let html = r.text().await.expect("html");
        assert!(
            html.contains("<script type=\"module\" src=\"/assets/"),
            "{path}"
        );
        assert!(!html.contains("<script>"), "{path}: inline script");
    }
    let js = http
        .get(format!("{base}/assets/common.js"))
        .send()
        .await
        .expect("js");
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()[CONTENT_TYPE]
        .to_str()
        .expect("type")
        .starts_with("text/javascript"));
    let geo = http
        .get(format!("{base}/v1/jurisdictions"))
        .send()
        .await
        .expect("geojson");
    assert_eq!(geo.headers()[CONTENT_TYPE], "application/geo+json");
    assert!(geo.text().await.expect("body").contains("wenquan"));

    // Sign-in: JSON only, same origin only, valid tokens only.
    let session = format!("{base}/session");
    assert_eq!(
        http.get(&session).send().await.expect("get").status(),
        StatusCode::UNAUTHORIZED
    );
    let bad = http
        .post(&session)
        .json(&serde_json::json!({"token": "0".repeat(64)}))
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let form = http
        .post(&session)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={office}"))
        .send()
        .await
        .expect("post");
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
    let foreign = http
        .post(&session)
        .header("origin", "http://evil.example")
        .json(&serde_json::json!({ "token": office }))
        .send()
        .await
        .expect("post");
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    let ok = http
        .post(&session)
        .header("origin", &base)
        .header("sec-fetch-site", "same-origin")
        .json(&serde_json::json!({ "token": office }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(ok.status(), StatusCode::OK);
    let (jar, lines) = cookies(ok.headers());
    let session_line = lines
        .iter()
        .find(|l| l.starts_with("cp_session="))
        .expect("session cookie");
    assert!(
        session_line.contains("HttpOnly") && session_line.contains("SameSite=Strict"),
        "{session_line}"
    );
    let csrf_line = lines
        .iter()
        .find(|l| l.starts_with("cp_csrf="))
        .expect("csrf cookie");
    assert!(
        !csrf_line.contains("HttpOnly") && csrf_line.contains("SameSite=Strict"),
        "{csrf_line}"
    );
    let csrf = csrf_of(&jar);
    let me: serde_json::Value = http
        .get(&session)
        .header(COOKIE, &jar)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "office");
    assert_eq!(me["office_id"], "wenquan");

    // Reads through the cookie go through the API's scope checks.
    let own = http
        .get(format!("{base}/v1/offices/wenquan/tickets"))
        .header(COOKIE, &jar)
        .send()
        .await
        .expect("queue");
    assert_eq!(own.status(), StatusCode::OK);
    let other = http
        .get(format!("{base}/v1/offices/fushan/tickets"))
        .header(COOKIE, &jar)
        .send()
        .await
        .expect("queue");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let courier_only = http
        .get(format!("{base}/v1/couriers/me"))
        .header(COOKIE, &jar)
        .send()
        .await
        .expect("me");
    assert_eq!(courier_only.status(), StatusCode::FORBIDDEN);

    // Changes through the cookie need the CSRF token and this origin.
    let act = format!("{base}/v1/tickets/{}/acknowledge", uuid::Uuid::new_v4());
    let refused = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body: serde_json::Value = r.json().await.expect("problem");
        assert_eq!(body["type"], "/problems/cross-site-request", "{body}");
    };
    refused(
        http.post(&act)
            .header(COOKIE, &jar)
            .send()
            .await
            .expect("post"),
    )
    .await;
    refused(
        http.post(&act)
            .header(COOKIE, &jar)
            .header("x-csrf-token", "f".repeat(64))
            .send()
            .await
            .expect("post"),
    )
    .await;
    refused(
        http.post(&act)
            .header(COOKIE, &jar)
            .header("x-csrf-token", &csrf)
            .header("origin", "http://evil.example")
            .send()
            .await
            .expect("post"),
    )
    .await;
    refused(
        http.post(&act)
            .header(COOKIE, &jar)
            .header("x-csrf-token", &csrf)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .expect("post"),
    )
    .await;
    let through = http
        .post(&act)
        .header(COOKIE, &jar)
        .header("x-csrf-token", &csrf)
        .header("origin", &base)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("post");
    assert_eq!(
        through.status(),
        StatusCode::NOT_FOUND,
        "reached the API, which does not know the ticket"
    );
    // A bearer header needs no CSRF token (a cross-site page cannot set it).
    let bearer = http
        .post(&act)
        .bearer_auth(&office)
        .send()
        .await
        .expect("post");
    assert_eq!(bearer.status(), StatusCode::NOT_FOUND);

    // A courier's cookie submits a report (multipart with the CSRF header).
    let courier_jar = cookies(
        http.post(&session)
            .json(&serde_json::json!({ "token": courier }))
            .send()
            .await
            .expect("sign in")
            .headers(),
    )
    .0;
    let form = reqwest::multipart::Form::new()
        .part(
            "report",
            reqwest::multipart::Part::text(
                r#"{"lat":29.84,"lon":114.32,"text":"<script>alert(1)</script>"}"#,
            )
            .mime_str("application/json")
            .expect("mime"),
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(civicprobe_testkit::photos::jpeg(64, 48))
                .file_name("p.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let sent = http
        .post(format!("{base}/v1/reports"))
        .header(COOKIE, &courier_jar)
        .header("x-csrf-token", csrf_of(&courier_jar))
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(
        sent.status(),
        StatusCode::ACCEPTED,
        "{:?}",
        sent.text().await
    );

    // Sign-out expires both cookies.
    let out = http
        .post(format!("{base}/session/logout"))
        .header(COOKIE, &jar)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let (_, lines) = cookies(out.headers());
    assert_eq!(
        lines.iter().filter(|l| l.contains("Max-Age=0")).count(),
        2,
        "{lines:?}"
    );
    // …and ends the session on the server: the same cookie, kept by a
    // careless client, gets 401 everywhere; the token itself still works.
    for path in ["/session", "/v1/offices/wenquan/tickets"] {
        let again = http
            .get(format!("{base}{path}"))
            .header(COOKIE, &jar)
            .send()
            .await
            .expect("after logout");
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let token = http
        .get(format!("{base}/v1/offices/wenquan/tickets"))
        .bearer_auth(&office)
        .send()
        .await
        .expect("bearer");
    assert_eq!(token.status(), StatusCode::OK);
}

/// Node, playwright-core and Chromium, if installed (`tests/browser/setup.sh`).
fn browser_tools() -> Result<PathBuf, String> {
    let dir = repo().join("tests/browser");
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Err("tests/browser/node_modules missing: run tests/browser/setup.sh".into());
    }
    if !Path::new("/usr/bin/chromium").exists() {
        return Err("/usr/bin/chromium missing: run tests/browser/setup.sh".into());
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(dir),
        _ => Err("node missing".into()),
    }
}

#[test]
fn browser_scenarios_pass_in_headless_chromium() {
    let dir = match browser_tools() {
        Ok(dir) => dir,
        // CI installs the tools; a laptop without them skips, loudly.
        Err(why) if std::env::var_os("CI").is_none() => return eprintln!("SKIPPED: {why}"),
        Err(why) => panic!("{why}"),
    };
    let up = Up::start();
    let photo = up._data.path().join("big.jpg");
    std::fs::write(&photo, civicprobe_testkit::photos::jpeg(3000, 2000)).expect("photo");
    let exif_photo = up._data.path().join("exif.jpg");
    std::fs::write(&exif_photo, phone_photo()).expect("photo with EXIF");
    let mut node = Command::new("node");
    node.arg(dir.join("run.mjs"))
        .arg(&up.url)
        .args(&up.tokens)
        .arg(&photo)
        .arg(&exif_photo)
        .env("CIVICPROBE_SECOND_COURIER_TOKEN", &up.second_courier);
    if std::env::var_os("CIVICPROBE_SCREENSHOTS_DOCS").is_some() {
        node.arg("--docs");
    }
    let status = node.status().expect("run node");
    assert!(status.success(), "browser scenarios failed: {status}");
}

/// A report by the courier at a point of Wenquan; its ticket's id once the
/// pipeline has opened it.
async fn open_ticket(http: &Client, base: &str, courier: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .part(
            "report",
            reqwest::multipart::Part::text(r#"{"lat":29.83,"lon":114.41,"text":"井盖没了"}"#)
                .mime_str("application/json")
                .expect("mime"),
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(civicprobe_testkit::photos::jpeg(64, 48))
                .file_name("p.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let sent = http
        .post(format!("{base}/v1/reports"))
        .bearer_auth(courier)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let me: serde_json::Value = http
            .get(format!("{base}/v1/couriers/me"))
            .bearer_auth(courier)
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("json");
        if let Some(id) = me["reports"][0]["ticket_id"].as_str() {
            return id.to_owned();
        }
        assert!(Instant::now() < deadline, "no ticket: {me}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `POST /v1/tickets/{id}/proof-photos` with these bytes as the photo.
async fn upload_proof(
    http: &Client,
    base: &str,
    ticket: &str,
    token: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("fixed.jpg")
            .mime_str("image/jpeg")
            .expect("mime"),
    );
    http.post(format!("{base}/v1/tickets/{ticket}/proof-photos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// `GET /v1/tickets/{ticket}/proof-photos/{path}`.
async fn get_proof(
    http: &Client,
    base: &str,
    ticket: &str,
    token: &str,
    path: String,
) -> reqwest::Response {
    http.get(format!("{base}/v1/tickets/{ticket}/proof-photos/{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
}

#[tokio::test(flavor = "multi_thread")]
async fn proof_photos_go_through_the_pipeline_and_stay_with_the_ticket() {
    let up = Up::start();
    let (http, base) = (Client::new(), up.url.clone());
    let [courier, office, supervisor] = up.tokens.clone();
    let fushan = admin(
        up._data.path(),
        &["office", "add", "fushan", "--person", "Chen Jie"],
    );
    let ticket = open_ticket(&http, &base, &courier).await;
    let photos = civicprobe_testkit::photos::jpeg(640, 480);

    // Bad photos: problem+json naming the part.
    for (bytes, status) in [
        (civicprobe_testkit::photos::not_a_photo(), 415),
        (civicprobe_testkit::photos::truncated_jpeg(), 422),
    ] {
        let r = upload_proof(&http, &base, &ticket, &office, bytes).await;
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/problem+json");
        let body: serde_json::Value = r.json().await.expect("problem");
        assert_eq!(body["field"], "photo", "{body}");
        assert!(body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/")));
    }
    // Another office, the courier, an unknown ticket: 404; no token: 401.
    for who in [&fushan, &courier] {
        let r = upload_proof(&http, &base, &ticket, who, photos.clone()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = upload_proof(&http, &base, &unknown, &office, photos.clone()).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http
        .post(format!("{base}/v1/tickets/{ticket}/proof-photos"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The ticket's office: stored, stripped, with a thumbnail.
    let r = upload_proof(&http, &base, &ticket, &office, photos.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let proof: serde_json::Value = r.json().await.expect("json");
    let sha = proof["sha256"].as_str().expect("sha256").to_owned();
    assert_eq!(sha.len(), 64);
    assert_eq!(proof["media_type"], "image/jpeg");
    assert_eq!(
        (proof["width"].as_u64(), proof["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert!(proof["thumbnail_sha256"]
        .as_str()
        .is_some_and(|t| t.len() == 64));

    for who in [&office, &supervisor] {
        let full = get_proof(&http, &base, &ticket, who, sha.clone()).await;
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.headers()[CONTENT_TYPE], "image/jpeg");
        let bytes = full.bytes().await.expect("bytes");
        let image = image::load_from_memory(&bytes).expect("a photo");
        assert_eq!((image.width(), image.height()), (640, 480));
        let thumb = get_proof(&http, &base, &ticket, who, format!("{sha}?size=thumbnail")).await;
        assert_eq!(thumb.status(), StatusCode::OK);
        let small = image::load_from_memory(&thumb.bytes().await.expect("bytes")).expect("thumb");
        assert!(small.width() < 640, "{}", small.width());
    }
    // The ticket's reporter sees how it was fixed; another office and a
    // courier who reported nothing of it do not.
    let reporter = get_proof(&http, &base, &ticket, &courier, sha.clone()).await;
    assert_eq!(reporter.status(), StatusCode::OK);
    for who in [&fushan, &up.second_courier] {
        assert_eq!(
            get_proof(&http, &base, &ticket, who, sha.clone())
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }
    // Only photos uploaded for this ticket: not any hash in the store.
    assert_eq!(
        get_proof(&http, &base, &ticket, &office, "ab".repeat(32))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let report_photo = http
        .get(format!("{base}/v1/tickets/{ticket}"))
        .bearer_auth(&office)
        .send()
        .await
        .expect("ticket")
        .json::<serde_json::Value>()
        .await
        .expect("json")["photos"][0]["sha256"]
        .as_str()
        .expect("photo")
        .to_owned();
    assert_eq!(
        get_proof(&http, &base, &ticket, &office, report_photo)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Resolving with it records it in the history.
    for (action, body) in [
        ("acknowledge", serde_json::json!({})),
        (
            "resolve",
            serde_json::json!({"note": "cover replaced", "proof_photo_sha256": sha}),
        ),
    ] {
        let r = http
            .post(format!("{base}/v1/tickets/{ticket}/{action}"))
            .bearer_auth(&office)
            .json(&body)
            .send()
            .await
            .expect("act");
        assert_eq!(r.status(), StatusCode::OK, "{action}: {:?}", r.text().await);
    }
    let after: serde_json::Value = http
        .get(format!("{base}/v1/tickets/{ticket}"))
        .bearer_auth(&office)
        .send()
        .await
        .expect("ticket")
        .json()
        .await
        .expect("json");
    let resolved = after["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "resolved")
        .expect("resolved event");
    assert_eq!(resolved["proof_photo_sha256"], sha.as_str());
}

/// A phone's photo: EXIF naming a Huawei camera, a position 1.1 km north
/// of the report's and a time long past (the evidence the office sees).
fn phone_photo() -> Vec<u8> {
    use civicprobe_ingest::photo::exif::{phone_app1, with_app1};
    with_app1(
        &civicprobe_testkit::photos::jpeg(1200, 900),
        &phone_app1((29.8501, 114.3201)),
    )
}
