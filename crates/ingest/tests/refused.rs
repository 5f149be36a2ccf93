//! Bad submissions: the right problem+json, and nothing published or
//! written.

mod common;

use civicprobe_testkit::photos;
use common::{form, problem, spawn_app, TestApp, REPORT, TOKEN};

const MIB: usize = 1 << 20;

async fn app() -> TestApp {
    spawn_app(16 * MIB, 50_000_000).await
}

/// Submits with the good token and a key.
async fn submit(
    app: &TestApp,
    report: Option<&str>,
    photos: &[impl AsRef<[u8]>],
) -> reqwest::Response {
    app.submit(Some(TOKEN), Some("k"), form(report, photos))
        .await
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_401() {
    let app = app().await;
    let jpeg = photos::jpeg(64, 48);
    for token in [None, Some("not-a-courier")] {
        let response = app
            .submit(token, Some("k"), form(Some(REPORT), &[&jpeg]))
            .await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        problem(response, 401, "/problems/unauthorized").await;
    }
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn a_missing_or_bad_idempotency_key_is_400() {
    let app = app().await;
    let jpeg = photos::jpeg(64, 48);
    let long = "k".repeat(129);
    for key in [None, Some("two words"), Some(long.as_str())] {
        let response = app
            .submit(Some(TOKEN), key, form(Some(REPORT), &[&jpeg]))
            .await;
        let body = problem(response, 400, "/problems/invalid-field").await;
        assert_eq!(body["field"], "Idempotency-Key");
    }
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn bad_report_fields_are_400_naming_the_field() {
    let app = app().await;
    let jpeg = photos::jpeg(64, 48);
    for (report, field) in [
        (r#"{"lat":95,"lon":114.3}"#, "lat"),
        (r#"{"lat":"x","lon":114.3}"#, "lat"),
        (r#"{"lat":29.8,"lon":-200}"#, "lon"),
        (
            r#"{"lat":29.8,"lon":114.3,"category_hint":"volcano"}"#,
            "category_hint",
        ),
        (
            r#"{"lat":29.8,"lon":114.3,"reported_at":"May 1st"}"#,
            "reported_at",
        ),
        (r#"{"lat":29.8,"lon":114.3,"accuracy_m":-3}"#, "accuracy_m"),
        (r#"{"lat":29.8,"lon":114.3,"user_id":"admin"}"#, "user_id"),
        ("{not json", "report"),
    ] {
        let response = submit(&app, Some(report), &[&jpeg]).await;
        let body = problem(response, 400, "/problems/invalid-field").await;
        assert_eq!(body["field"], field, "{report}");
    }
    let long_text = format!(r#"{{"lat":1,"lon":1,"text":"{}"}}"#, "x".repeat(2001));
    let body = problem(
        submit(&app, Some(&long_text), &[jpeg]).await,
        400,
        "/problems/invalid-field",
    )
    .await;
    assert_eq!(body["field"], "text");
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn missing_parts_and_extra_photos_are_400() {
    let app = app().await;
    let jpeg = photos::jpeg(64, 48);
    let cases = [
        (Some(REPORT), vec![], "photo"),
        (None, vec![jpeg.clone()], "report"),
        (Some(REPORT), vec![jpeg.clone(), jpeg.clone()], "photo"),
    ];
    for (report, photos, field) in cases {
        let response = submit(&app, report, &photos).await;
        let body = problem(response, 400, "/problems/invalid-field").await;
        assert_eq!(body["field"], field);
    }
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn text_posing_as_a_jpeg_is_415() {
    let app = app().await;
    let response = submit(&app, Some(REPORT), &[photos::not_a_photo()]).await;
    let body = problem(response, 415, "/problems/unsupported-media-type").await;
    assert_eq!(body["field"], "photo");
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn a_truncated_jpeg_is_422() {
    let app = app().await;
    let response = submit(&app, Some(REPORT), &[photos::truncated_jpeg()]).await;
    let body = problem(response, 422, "/problems/invalid-photo").await;
    assert_eq!(body["field"], "photo");
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn too_many_bytes_or_pixels_is_413() {
    // Just over the photo limit (within the body limit), and far over the
    // body limit.
    let small = spawn_app(1000, 50_000_000).await;
    let jpeg = photos::jpeg(320, 240);
    assert!(jpeg.len() > 1000, "{} bytes", jpeg.len());
    let huge = vec![0xFF; 512 * 1024];
    for photo in [jpeg, huge] {
        let response = submit(&small, Some(REPORT), &[photo]).await;
        let body = problem(response, 413, "/problems/payload-too-large").await;
        assert_eq!(body["field"], "photo");
    }
    small.assert_nothing_kept().await;

    let few_pixels = spawn_app(MIB, 64 * 48 - 1).await;
    let response = submit(&few_pixels, Some(REPORT), &[photos::jpeg(64, 48)]).await;
    let body = problem(response, 413, "/problems/payload-too-large").await;
    assert_eq!(body["field"], "photo");
    few_pixels.assert_nothing_kept().await;
}

#[tokio::test]
async fn a_body_that_is_not_well_formed_multipart_is_400() {
    let app = app().await;
    let url = format!("{}/v1/reports", app.base);
    let requests = [
        ("application/json", b"{}".to_vec()),
        (
            "multipart/form-data; boundary=XYZ",
            b"--XYZ\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n{\"lat\":1".to_vec(),
        ),
        (
            "multipart/form-data; boundary=XYZ",
            b"garbage without any boundary".to_vec(),
        ),
    ];
    for (content_type, body) in requests {
        let response = app
            .http
            .post(&url)
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", "k")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        problem(response, 400, "/problems/invalid-field").await;
    }
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn nats_down_is_503_without_internals() {
    let mut app = app().await;
    app.nats.stop();
    let response = submit(&app, Some(REPORT), &[photos::jpeg(64, 48)]).await;
    let body = problem(response, 503, "/problems/unavailable").await;
    let text = body.to_string().to_lowercase();
    assert!(
        !text.contains("nats") && !text.contains("jetstream") && !text.contains("timed out"),
        "{text}"
    );

    // Once NATS is back, the retry under the same key is accepted.
    app.nats.restart().unwrap();
    let mut accepted = false;
    for _ in 0..50 {
        let response = submit(&app, Some(REPORT), &[photos::jpeg(64, 48)]).await;
        if response.status().as_u16() == 202 {
            accepted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(accepted, "never accepted after NATS came back");
    assert_eq!(app.messages_in_stream().await, 1);
}
