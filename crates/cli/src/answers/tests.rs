use super::*;
use axum::extract::{Path, Query};
use axum::routing::{get, post};
use axum::Json;
use tower::ServiceExt;

#[derive(Debug, serde::Deserialize)]
struct Limit {
    #[allow(dead_code)]
    limit: u32,
}

fn app() -> Router {
    harden(
        Router::new()
            .route(
                "/n/{n}",
                get(|Path(n): Path<u32>| async move { n.to_string() }),
            )
            .route("/q", get(|Query(_): Query<Limit>| async { "ok" }))
            .route("/j", post(|Json(_): Json<Limit>| async { "ok" }))
            .route("/boom", get(boom))
            .route("/open311/v2/boom.xml", get(boom))
            .route(
                "/open311/v2/x.xml",
                get(|| async { StatusCode::BAD_REQUEST }),
            ),
    )
}

async fn boom() -> &'static str {
    panic!("secret cause zq41")
}

async fn answer(request: Request) -> (StatusCode, String, String) {
    let r = app().oneshot(request).await.expect("answer");
    let status = r.status();
    let kind = r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, kind, String::from_utf8_lossy(&body).into_owned())
}

fn get_req(uri: &str) -> Request {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn rejections_unknown_routes_and_methods_are_problems_without_echo() {
    for (req, status) in [
        (get_req("/n/zq41abc"), StatusCode::BAD_REQUEST),
        (get_req("/q?limit=zq41abc"), StatusCode::BAD_REQUEST),
        (get_req("/nowhere/zq41abc"), StatusCode::NOT_FOUND),
        (
            Request::delete("/q").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Request::post("/j")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"limit":"zq41abc"}"#))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Request::post("/j").body(Body::from("zq41abc")).unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let uri = req.uri().clone();
        let (got, kind, body) = answer(req).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert_eq!(kind, PROBLEM_JSON, "{uri}");
        let problem: Problem = serde_json::from_str(&body).expect("a problem");
        assert_eq!(problem.status, status.as_u16());
        assert!(!body.contains("zq41"), "{uri} echoes: {body}");
    }
}

#[tokio::test]
async fn a_panic_is_a_500_problem_without_its_cause() {
    let (status, kind, body) = answer(get_req("/boom")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(kind, PROBLEM_JSON);
    assert!(!body.contains("zq41") && !body.contains("secret"), "{body}");
    let (status, kind, body) = answer(get_req("/open311/v2/boom.xml")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(kind.starts_with("text/xml"), "{kind}");
    assert!(
        body.contains("<code>500</code>") && !body.contains("zq41"),
        "{body}"
    );
}

#[tokio::test]
async fn open311_errors_are_open311_documents() {
    let (status, kind, body) = answer(get_req("/open311/v2/x.xml")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(kind.starts_with("text/xml"), "{kind}");
    assert!(body.contains("<errors><error><code>400</code>"), "{body}");
    let (status, kind, body) = answer(get_req("/open311/v2/nothing/zq41.json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(kind, "application/json");
    let items: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(items[0]["code"], 404, "{body}");
    assert!(!body.contains("zq41"));
}

#[test]
fn admin_names_refuse_control_characters() {
    assert_eq!(plain_name("王 师傅").as_deref(), Ok("王 师傅"));
    assert!(plain_name("evil\u{1b}[2J").unwrap_err().contains("control"));
}
