//! Bad submissions: the right problem+json, and nothing published or
//! written.

mod common;

use civicprobe_testkit::photos;
use common::{form, key, problem, spawn_app, spawn_with, TestApp, REPORT, TOKEN};
use reqwest::multipart::{Form, Part};

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
    app.submit(Some(TOKEN), Some(&key()), form(report, photos))
        .await
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_401() {
    let app = app().await;
    let jpeg = photos::jpeg(64, 48);
    for token in [None, Some("not-a-courier")] {
        let response = app
            .submit(token, Some(&key()), form(Some(REPORT), &[&jpeg]))
            .await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        problem(response, 401, "/problems/unauthorized").await;
    }
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn a_missing_or_bad_idempotency_key_is_400() {
    let app = app().await;
    let jpeg = photos::jpeg(64, 48);
    let long = "k".repeat(129);
    for key in [None, Some("two words"), Some("k-1"), Some(long.as_str())] {
        let response = app
            .submit(Some(TOKEN), key, form(Some(REPORT), &[&jpeg]))
            .await;
        let body = problem(response, 400, "/problems/invalid-field").await;
        assert_eq!(body["field"], "Idempotency-Key");
    }
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
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
    app.assert_still_answers().await;
}

#[tokio::test]
async fn missing_parts_and_extra_photos_are_400() {
    let app = app().await;
    let jpeg = photos::jpeg(64, 48);
    let cases = [
        (Some(REPORT), vec![], "photo"),
        (None, vec![jpeg.clone()], "report"),
        (Some(REPORT), vec![jpeg.clone(); 4], "photo"),
    ];
    for (report, photos, field) in cases {
        let response = submit(&app, report, &photos).await;
        let body = problem(response, 400, "/problems/invalid-field").await;
        assert_eq!(body["field"], field);
    }
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn text_posing_as_a_jpeg_is_415() {
    let app = app().await;
    let response = submit(&app, Some(REPORT), &[photos::not_a_photo()]).await;
    let body = problem(response, 415, "/problems/unsupported-media-type").await;
    assert_eq!(body["field"], "photo");
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn a_truncated_jpeg_is_422() {
    let app = app().await;
    let response = submit(&app, Some(REPORT), &[photos::truncated_jpeg()]).await;
    let body = problem(response, 422, "/problems/invalid-photo").await;
    assert_eq!(body["field"], "photo");
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn a_jpeg_whose_scan_stops_halfway_is_422() {
    let app = app().await;
    let response = submit(&app, Some(REPORT), &[photos::cut_scan_jpeg()]).await;
    let body = problem(response, 422, "/problems/invalid-photo").await;
    assert_eq!(body["field"], "photo");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("does not decode"), "{detail}");
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn too_many_bytes_or_pixels_is_413() {
    // Just over the photo limit (within the body limit): the photo part;
    // far over the body limit: the declared body, refused before a byte
    // of it is read.
    let small = spawn_app(1000, 50_000_000).await;
    let jpeg = photos::jpeg(320, 240);
    assert!(jpeg.len() > 1000, "{} bytes", jpeg.len());
    let huge = vec![0xFF; 512 * 1024];
    for (photo, field) in [(jpeg, "photo"), (huge, "body")] {
        let response = submit(&small, Some(REPORT), &[photo]).await;
        let body = problem(response, 413, "/problems/payload-too-large").await;
        assert_eq!(body["field"], field);
    }
    small.assert_nothing_kept().await;
    small.assert_still_answers().await;

    let few_pixels = spawn_app(MIB, 64 * 48 - 1).await;
    let response = submit(&few_pixels, Some(REPORT), &[photos::jpeg(64, 48)]).await;
    let body = problem(response, 413, "/problems/payload-too-large").await;
    assert_eq!(body["field"], "photo");
    few_pixels.assert_nothing_kept().await;
    few_pixels.assert_still_answers().await;
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
            .header("Idempotency-Key", key())
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        problem(response, 400, "/problems/invalid-field").await;
    }
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

/// A PNG header (signature + IHDR) claiming `w`×`h`, then a tiny IDAT
/// and IEND: a decompression bomb's shape.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut real = photos::png(8, 8);
    real[16..20].copy_from_slice(&w.to_be_bytes());
    real[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&real[12..29]);
    real[29..33].copy_from_slice(&crc.to_be_bytes());
    real
}

/// PNG's CRC-32 (IEEE), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A JPEG whose SOF claims `w`×`h`.
fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut jpeg = photos::jpeg(16, 16);
    let sof = jpeg.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    jpeg
}

#[tokio::test]
async fn bombs_are_413_from_the_header_alone() {
    let app = app().await;
    for bomb in [
        png_claiming(100_000, 100_000),
        png_claiming(10_000, 10_000),
        jpeg_claiming(65_000, 65_000),
        jpeg_claiming(9000, 9000),
        photos::jpeg_with_scans(5000),
    ] {
        let response = submit(&app, Some(REPORT), &[bomb]).await;
        let body = problem(response, 413, "/problems/payload-too-large").await;
        assert_eq!(body["field"], "photo");
    }
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn corrupt_zero_and_lying_photos_are_422() {
    let app = app().await;
    let mut corrupt = photos::jpeg(64, 48);
    let sos = corrupt.windows(2).position(|p| p == [0xFF, 0xDA]).unwrap();
    let end = corrupt.len() - 2;
    for (i, b) in corrupt[sos + 20..end].iter_mut().enumerate() {
        // Stuffed FF 00 pairs: all-ones data, an invalid Huffman code.
        *b = if i % 2 == 0 { 0xFF } else { 0x00 };
    }
    let no_pixels = jpeg_claiming(0, 16);
    for (i, photo) in [Vec::new(), corrupt, no_pixels, png_claiming(8, 9)]
        .into_iter()
        .enumerate()
    {
        let response = submit(&app, Some(REPORT), &[photo]).await;
        assert_eq!(response.status().as_u16(), 422, "case {i}");
        let body = problem(response, 422, "/problems/invalid-photo").await;
        assert_eq!(body["field"], "photo");
    }
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn heic_is_415_telling_the_app_to_send_jpeg() {
    let app = app().await;
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08mdat".to_vec();
    let response = submit(&app, Some(REPORT), &[heic]).await;
    let body = problem(response, 415, "/problems/heif-unsupported").await;
    assert!(
        body["detail"].as_str().unwrap().contains("send JPEG"),
        "{body}"
    );
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn a_photo_part_declared_as_html_is_415() {
    let app = app().await;
    let form = Form::new().text("report", REPORT).part(
        "photo",
        Part::bytes(photos::jpeg(32, 32))
            .mime_str("text/html")
            .unwrap(),
    );
    let response = app.submit(Some(TOKEN), Some(&key()), form).await;
    problem(response, 415, "/problems/unsupported-media-type").await;
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn polyglots_are_422() {
    let app = app().await;
    let jpeg = photos::jpeg(32, 32);
    let png = photos::png(32, 32);
    for photo in [
        [&jpeg[..], b"PK\x03\x04\x14\0\0\0zip central directory"].concat(),
        [&png[..], b"<html><script>alert(1)</script></html>"].concat(),
        [&jpeg[..], b"%PDF-1.7 ..."].concat(),
    ] {
        let response = submit(&app, Some(REPORT), &[photo]).await;
        let body = problem(response, 422, "/problems/polyglot").await;
        assert_eq!(body["field"], "photo");
    }
    app.assert_nothing_kept().await;
    app.assert_still_answers().await;
}

#[tokio::test]
async fn a_retry_of_an_accepted_report_is_not_rate_limited() {
    let app = spawn_with(|c| {
        c.rate_per_minute = 1.0;
        c.rate_burst = 1;
    })
    .await;
    let jpeg = photos::jpeg(32, 32);
    let accepted_key = key();
    let send = |k: String| {
        let form = form(Some(REPORT), &[&jpeg]);
        let app = &app;
        async move { app.submit(Some(TOKEN), Some(&k), form).await }
    };
    let first = send(accepted_key.clone()).await;
    assert_eq!(first.status().as_u16(), 202);
    let first: serde_json::Value = first.json().await.unwrap();
    // The bucket is empty now: a retry is answered, a new report waits.
    let retry = send(accepted_key).await;
    assert_eq!(retry.status().as_u16(), 202);
    let retry: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(retry["report_id"], first["report_id"]);
    problem(send(key()).await, 429, "/problems/rate-limited").await;
    app.wait_for_messages(1).await;
}

#[tokio::test]
async fn a_courier_over_the_rate_limit_gets_429_with_retry_after() {
    let app = spawn_with(|c| {
        c.rate_per_minute = 6.0;
        c.rate_burst = 2;
    })
    .await;
    let jpeg = photos::jpeg(32, 32);
    for _ in 0..2 {
        assert_eq!(
            submit(&app, Some(REPORT), &[&jpeg]).await.status().as_u16(),
            202
        );
    }
    let response = submit(&app, Some(REPORT), &[&jpeg]).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    problem(response, 429, "/problems/rate-limited").await;
    app.wait_for_messages(2).await;
    // Another courier is not limited.
    app.assert_still_answers().await;
}
