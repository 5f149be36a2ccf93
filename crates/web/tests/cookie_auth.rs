//! The web routes and the cookie middleware over a real SQLite token store,
//! driven with `oneshot` (no server, no NATS).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use civicprobe_testkit::db::TestDb;
use civicprobe_tracker::{MockClock, SessionPolicy, Store};
use std::path::PathBuf;
use std::sync::Arc;
use time::Duration;
use tower::ServiceExt;

/// Sessions of the tests: 30 idle minutes, 2 hours at most.
const POLICY: SessionPolicy = SessionPolicy {
    idle: Duration::minutes(30),
    max_age: Duration::hours(2),
};

fn jurisdictions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson")
}

/// The web app plus a stand-in API route that echoes the Authorization
/// header it received, all under `cookie_auth`.
async fn app() -> (Router, Store, TestDb) {
    let (router, store, db, _) = app_with_clock().await;
    (router, store, db)
}

/// [`app`] over a store whose clock the test moves.
async fn app_with_clock() -> (Router, Store, TestDb, MockClock) {
    let db = TestDb::sqlite().expect("db");
    let clock = MockClock::at(time::macros::datetime!(2025-06-01 08:00 UTC));
    let store = Store::connect(db.url())
        .await
        .expect("store")
        .with_clock(Arc::new(clock.clone()));
    let echo = |headers: axum::http::HeaderMap| async move {
        headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    let router = civicprobe_web::app(store.clone(), &jurisdictions(), None, POLICY)
        .expect("app")
        .route("/echo", get(echo).post(echo))
        .route("/change", post(|| async { "changed" }))
        .layer(axum::middleware::from_fn(civicprobe_web::cookie_auth));
    (router, store, db, clock)
}

async fn body(r: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// `POST /session` with `token`, same-origin.
async fn post_session(app: &Router, token: &str) -> axum::response::Response {
    app.clone()
        .oneshot(
            Request::post("/session")
                .header(header::CONTENT_TYPE, "application/json")
                .header("sec-fetch-site", "same-origin")
                .body(Body::from(format!(r#"{{"token":"{token}"}}"#)))
                .expect("request"),
        )
        .await
        .expect("answer")
}

/// The session id in a `Cookie` header value.
fn session_of(jar: &str) -> &str {
    jar.split("; ")
        .find_map(|p| p.strip_prefix("cp_session="))
        .expect("session cookie")
}

/// Signs in with `token`; returns the `Cookie` header value and the CSRF value.
async fn sign_in(app: &Router, token: &str) -> (String, String) {
    let r = post_session(app, token).await;
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
async fn the_cookie_becomes_a_bearer_session_and_changes_need_the_csrf_token() {
    let (app, store, _db) = app().await;
    let (_, courier) = store.add_courier("Li Wei").await.expect("courier");
    let (jar, csrf) = sign_in(&app, &courier).await;
    assert!(!jar.contains(&courier), "the token itself is in a cookie");
    let session = session_of(&jar);

    let get = |req: Request<Body>| app.clone().oneshot(req);
    let r = get(Request::get("/echo")
        .header(header::COOKIE, &jar)
        .body(Body::empty())
        .expect("req"))
    .await
    .expect("answer");
    assert_eq!(body(r).await, format!("Bearer {session}"));
    assert!(session.starts_with("cps_"), "{session}");

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
    let err = civicprobe_web::app(
        store,
        std::path::Path::new("/nonexistent.geojson"),
        None,
        POLICY,
    )
    .expect_err("missing file");
    assert!(err.to_string().contains("/nonexistent.geojson"), "{err}");
}

/// `GET /session` with `jar`: the status.
async fn whoami(app: &Router, jar: &str) -> StatusCode {
    app.clone()
        .oneshot(
            Request::get("/session")
                .header(header::COOKIE, jar)
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("answer")
        .status()
}

#[tokio::test]
async fn sign_out_ends_the_session_for_the_same_cookie() {
    let (app, store, _db) = app().await;
    let token = store.add_supervisor("Zhang Min").await.expect("supervisor");
    let (jar, csrf) = sign_in(&app, &token).await;
    let (other, _) = sign_in(&app, &token).await;
    assert_eq!(whoami(&app, &jar).await, StatusCode::OK);
    let out = app
        .clone()
        .oneshot(
            Request::post("/session/logout")
                .header(header::COOKIE, &jar)
                .header("x-csrf-token", &csrf)
                .header("sec-fetch-site", "same-origin")
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("answer");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    // A client that ignores the expired cookies and sends the old one.
    assert_eq!(whoami(&app, &jar).await, StatusCode::UNAUTHORIZED);
    let session = jar.split("; ").find_map(|p| p.strip_prefix("cp_session="));
    assert_eq!(
        store.authenticate(session.expect("id")).await.unwrap(),
        None
    );
    assert_eq!(
        whoami(&app, &other).await,
        StatusCode::OK,
        "other sign-ins stay"
    );
}

#[tokio::test]
async fn a_cookie_session_expires_when_idle_and_at_its_max_age() {
    let (app, store, _db, clock) = app_with_clock().await;
    let (_, courier) = store.add_courier("Li Wei").await.expect("courier");
    let r = post_session(&app, &courier).await;
    let cookie = r.headers()[header::SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.contains("Max-Age=7200"), "{cookie}");
    let (busy, _) = sign_in(&app, &courier).await;
    let (idle, _) = sign_in(&app, &courier).await;
    clock.advance(Duration::minutes(29));
    assert_eq!(whoami(&app, &busy).await, StatusCode::OK);
    clock.advance(Duration::minutes(2));
    assert_eq!(whoami(&app, &idle).await, StatusCode::UNAUTHORIZED);
    assert_eq!(whoami(&app, &busy).await, StatusCode::OK);
    for _ in 0..3 {
        clock.advance(Duration::minutes(29));
        assert_eq!(whoami(&app, &busy).await, StatusCode::OK);
    }
    clock.advance(Duration::minutes(2));
    assert_eq!(
        whoami(&app, &busy).await,
        StatusCode::UNAUTHORIZED,
        "max age"
    );
}

#[tokio::test]
async fn revoking_or_rotating_the_token_ends_its_cookie_sessions() {
    let (app, store, _db) = app().await;
    let a = store.issue_supervisor("Zhang Min", None).await.expect("a");
    let b = store.issue_supervisor("Zhao Lei", None).await.expect("b");
    let (jar_a, _) = sign_in(&app, &a.token).await;
    let (jar_b, _) = sign_in(&app, &b.token).await;
    store.revoke_token(&a.token_id).await.expect("revoke");
    assert_eq!(whoami(&app, &jar_a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(whoami(&app, &jar_b).await, StatusCode::OK);
    let rotated = store.rotate_token(&b.token_id, None).await.expect("rotate");
    assert_eq!(whoami(&app, &jar_b).await, StatusCode::UNAUTHORIZED);
    let (jar_new, _) = sign_in(&app, &rotated.expect("new").token).await;
    assert_eq!(whoami(&app, &jar_new).await, StatusCode::OK);
}

#[tokio::test]
async fn a_session_id_cannot_sign_in() {
    let (app, store, _db) = app().await;
    let token = store.add_supervisor("Zhang Min").await.expect("supervisor");
    let (jar, _) = sign_in(&app, &token).await;
    let r = post_session(&app, session_of(&jar)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
