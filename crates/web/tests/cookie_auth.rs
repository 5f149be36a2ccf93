//! The web routes and the cookie middleware over a real SQLite token store,
//! driven with `oneshot` (no server, no NATS).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use civicprobe_testkit::db::TestDb;
use civicprobe_tracker::Store;
use std::path::PathBuf;
use tower::ServiceExt;

fn jurisdictions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson")
}

/// The web app plus a stand-in API route that echoes the Authorization
/// header it received, all under `cookie_auth`.
async fn app() -> (Router, Store, TestDb) {
    let db = TestDb::sqlite().expect("db");
    let store = Store::connect(db.url()).await.expect("store");
    let echo = |headers: axum::http::HeaderMap| async move {
        headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    let router = civicprobe_web::app(store.clone(), &jurisdictions())
        .expect("app")
        .route("/echo", get(echo).post(echo))
        .route("/change", post(|| async { "changed" }))
        .layer(axum::middleware::from_fn(civicprobe_web::cookie_auth));
    (router, store, db)
}

async fn body(r: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// Signs in with `token`; returns the `Cookie` header value and the CSRF value.
async fn sign_in(app: &Router, token: &str) -> (String, String) {
    let r = app
        .clone()
        .oneshot(
            Request::post("/session")
                .header(header::CONTENT_TYPE, "application/json")
                .header("sec-fetch-site", "same-origin")
                .body(Body::from(format!(r#"{{"token":"{token}"}}"#)))
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::OK);
    let pairs: Vec<String> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| {
            v.to_str()
                .expect("ascii")
                .split(';')
                .next()
                .expect("pair")
                .to_owned()
        })
        .collect();
    let csrf = pairs
        .iter()
        .find_map(|p| p.strip_prefix("cp_csrf="))
        .expect("csrf")
        .to_owned();
    (pairs.join("; "), csrf)
}

#[tokio::test]
async fn the_cookie_becomes_a_bearer_token_and_changes_need_the_csrf_token() {
    let (app, store, _db) = app().await;
    let (_, courier) = store.add_courier("Li Wei").await.expect("courier");
    let (jar, csrf) = sign_in(&app, &courier).await;

    let get = |req: Request<Body>| app.clone().oneshot(req);
    let r = get(Request::get("/echo")
        .header(header::COOKIE, &jar)
        .body(Body::empty())
        .expect("req"))
    .await
    .expect("answer");
    assert_eq!(body(r).await, format!("Bearer {courier}"));

    // An explicit Authorization header wins over the cookie.
    let r = get(Request::get("/echo")
        .header(header::COOKIE, &jar)
        .header(header::AUTHORIZATION, "Bearer other")
        .body(Body::empty())
        .expect("req"))
    .await
    .expect("answer");
    assert_eq!(body(r).await, "Bearer other");

    let post = |extra: &[(&str, &str)]| {
        let mut req = Request::post("/change").header(header::COOKIE, &jar);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        app.clone().oneshot(req.body(Body::empty()).expect("req"))
    };
    assert_eq!(
        post(&[]).await.expect("answer").status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&[("x-csrf-token", "nope")])
            .await
            .expect("answer")
            .status(),
        StatusCode::FORBIDDEN
    );
    let cross = post(&[("x-csrf-token", &csrf), ("sec-fetch-site", "cross-site")])
        .await
        .expect("answer");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        cross.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let ok = post(&[("x-csrf-token", &csrf), ("sec-fetch-site", "same-origin")])
        .await
        .expect("answer");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(body(ok).await, "changed");

    // Who am I, through the cookie.
    let r = get(Request::get("/session")
        .header(header::COOKIE, &jar)
        .body(Body::empty())
        .expect("req"))
    .await
    .expect("answer");
    let me: serde_json::Value = serde_json::from_str(&body(r).await).expect("json");
    assert_eq!(me["role"], "courier");
    assert_eq!(me["name"], "Li Wei");
}

#[tokio::test]
async fn sign_in_refuses_bad_tokens_and_cross_site_posts() {
    let (app, store, _db) = app().await;
    let office = store
        .add_office(&"wenquan".parse().expect("office id"), None)
        .await
        .expect("office");
    let attempt = |token: &str, site: &str| {
        app.clone().oneshot(
            Request::post("/session")
                .header(header::CONTENT_TYPE, "application/json")
                .header("sec-fetch-site", site)
                .body(Body::from(format!(r#"{{"token":"{token}"}}"#)))
                .expect("request"),
        )
    };
    assert_eq!(
        attempt(&"a".repeat(64), "same-origin")
            .await
            .expect("answer")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt(&office, "cross-site")
            .await
            .expect("answer")
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        attempt("\"; injected", "same-origin")
            .await
            .expect("answer")
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        attempt(&office, "same-origin")
            .await
            .expect("answer")
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn pages_and_assets_carry_the_policy() {
    let (app, _store, _db) = app().await;
    for path in [
        "/",
        "/office",
        "/audit",
        "/assets/courier.js",
        "/assets/app.css",
        "/sw.js",
    ] {
        let r = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("req"))
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    }
    let missing = app
        .clone()
        .oneshot(
            Request::get("/assets/nope.js")
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.headers()[header::CONTENT_TYPE],
        civicprobe_model::PROBLEM_JSON
    );
    let geo = app
        .oneshot(
            Request::get("/v1/jurisdictions")
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("answer");
    assert_eq!(geo.headers()[header::CONTENT_TYPE], "application/geo+json");
}

#[test]
fn a_missing_jurisdictions_file_is_an_error_at_start() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let db = TestDb::sqlite().expect("db");
    let store = rt.block_on(Store::connect(db.url())).expect("store");
    let err = civicprobe_web::app(store, std::path::Path::new("/nonexistent.geojson"))
        .expect_err("missing file");
    assert!(err.to_string().contains("/nonexistent.geojson"), "{err}");
}
