//! The web pages as a browser meets them, against a real `civicprobe up`
//! (which starts its own nats-server): cookie sign-in, CSRF refusals, the
//! Content-Security-Policy, scope checks through the cookie; then the
//! headless-Chromium scenarios of `tests/browser/run.mjs`.

mod common;
#[path = "web/proof.rs"]
mod proof;

use common::{admin, repo, spawn_up, terminate, test_nats};
use proof::phone_photo;
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
