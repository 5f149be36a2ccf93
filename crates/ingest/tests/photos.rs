//! Several photos and formats, the derived data, and serving photos back
//! through `GET /v1/reports/{id}/photos/{n}`, scoped by `ReportAccess`.

mod common;

use civicprobe_ingest::PhotoBackendKind;
use civicprobe_model::Sha256;
use civicprobe_testkit::photos;
use common::{
    contains, form, key, problem, spawn_app, spawn_with, with_exif, TestApp, OFFICE_TOKEN,
    OTHER_OFFICE_TOKEN, REPORT, TOKEN, TOKEN_2,
};

const MIB: usize = 1 << 20;

fn webp(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 90, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::WebP).unwrap();
    out.into_inner()
}

/// `webp` with an EXIF chunk (and the VP8X header announcing it).
fn webp_with_exif(w: u32, h: u32) -> Vec<u8> {
    let plain = webp(w, h);
    let exif = b"MM\0*\0\0\0\x08\0\0\0\0\0\0GPS-secret";
    let mut vp8x = vec![0x08, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = [
            kind,
            &u32::try_from(data.len()).unwrap().to_le_bytes(),
            data,
        ]
        .concat();
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let body = [
        chunk(b"VP8X", &vp8x),
        plain[12..].to_vec(),
        chunk(b"EXIF", exif),
    ]
    .concat();
    let len = u32::try_from(body.len() + 4).unwrap().to_le_bytes();
    [&b"RIFF"[..], &len, b"WEBP", &body].concat()
}

async fn get(app: &TestApp, token: Option<&str>, path: &str) -> reqwest::Response {
    let mut request = app.http.get(format!("{}{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn three_photos_in_three_formats_are_stripped_hashed_and_served_in_scope() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let jpeg = with_exif(&photos::jpeg(1200, 900));
    let png = photos::png(200, 100);
    let webp = webp_with_exif(64, 48);
    let response = app
        .submit(
            Some(TOKEN),
            Some(&key()),
            form(Some(REPORT), &[&jpeg, &png, &webp]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 202);
    let id = response.json::<serde_json::Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_messages(1).await;
    let (report, _) = app.message(1).await;
    let media: Vec<_> = report
        .photos
        .iter()
        .map(|p| p.media_type.as_str())
        .collect();
    assert_eq!(media, ["image/jpeg", "image/png", "image/webp"]);
    assert_eq!(report.evidence.photos.len(), 3);
    assert!(report.evidence.photos[0].gps.is_some());

    // Each photo comes back stripped, named by its sha256, to its office.
    for (n, photo) in report.photos.iter().enumerate() {
        let response = get(
            &app,
            Some(OFFICE_TOKEN),
            &format!("/v1/reports/{id}/photos/{n}"),
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"],
            photo.media_type.as_str()
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(Sha256::of(&bytes), photo.sha256);
        for secret in [&b"Exif"[..], b"EXIF", b"GPS"] {
            assert!(!contains(&bytes, secret), "photo {n} kept metadata");
        }
        image::load_from_memory(&bytes).unwrap();
        let thumb = get(
            &app,
            Some(OFFICE_TOKEN),
            &format!("/v1/reports/{id}/photos/{n}?size=thumbnail"),
        )
        .await;
        assert_eq!(thumb.headers()["content-type"], "image/jpeg");
        let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
        assert!(thumb.width().max(thumb.height()) <= 320);
        assert_eq!(thumb.width() > thumb.height(), photo.width > photo.height);
    }

    // Out of scope, unknown, or no such photo.
    let path = format!("/v1/reports/{id}/photos/0");
    problem(
        get(&app, Some(OTHER_OFFICE_TOKEN), &path).await,
        404,
        "/problems/not-found",
    )
    .await;
    // The courier who sent it sees it while the tracker does not know it
    // yet (this instance's local store recorded them); another does not.
    assert_eq!(get(&app, Some(TOKEN), &path).await.status().as_u16(), 200);
    problem(
        get(&app, Some(TOKEN_2), &path).await,
        404,
        "/problems/not-found",
    )
    .await;
    problem(
        get(&app, Some("nobody"), &path).await,
        401,
        "/problems/unauthorized",
    )
    .await;
    problem(get(&app, None, &path).await, 401, "/problems/unauthorized").await;
    let missing = format!("/v1/reports/{id}/photos/3");
    problem(
        get(&app, Some(OFFICE_TOKEN), &missing).await,
        404,
        "/problems/not-found",
    )
    .await;
    let bad = "/v1/reports/not-a-report/photos/0";
    problem(
        get(&app, Some(OFFICE_TOKEN), bad).await,
        404,
        "/problems/not-found",
    )
    .await;
}

#[tokio::test]
async fn the_jetstream_object_store_holds_photos_when_chosen() {
    let app = spawn_with(|c| c.storage.photo_store = PhotoBackendKind::Nats).await;
    let jpeg = photos::jpeg(640, 480);
    let response = app
        .submit(Some(TOKEN), Some(&key()), form(Some(REPORT), &[&jpeg]))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    let id = response.json::<serde_json::Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_messages(1).await;
    let (report, _) = app.message(1).await;
    assert!(app.stored_files().is_empty(), "nothing on the filesystem");
    let bucket = app
        .js
        .get_object_store(civicprobe_model::nats::PHOTOS_BUCKET)
        .await
        .unwrap();
    let sha = &report.photos[0].sha256;
    let name = sha.to_string();
    assert_eq!(
        bucket.info(&name).await.unwrap().size as u64,
        report.photos[0].bytes
    );
    let response = get(
        &app,
        Some(OFFICE_TOKEN),
        &format!("/v1/reports/{id}/photos/0"),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(Sha256::of(&response.bytes().await.unwrap()), *sha);

    // Another instance on the same bucket serves it too, thumbnail included;
    // one on its own filesystem store does not know the report.
    let (other, _, _data) = app.second_instance(PhotoBackendKind::Nats).await;
    let (alone, _, _alone_data) = app.second_instance(PhotoBackendKind::Fs).await;
    let client = reqwest::Client::new();
    let fetch = |base: &str, query: &str| {
        client
            .get(format!("{base}/v1/reports/{id}/photos/0{query}"))
            .bearer_auth(OFFICE_TOKEN)
            .send()
    };
    let response = fetch(&other, "").await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(Sha256::of(&response.bytes().await.unwrap()), *sha);
    let response = fetch(&other, "?size=thumbnail").await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        Some(Sha256::of(&response.bytes().await.unwrap())),
        report.photos[0].thumbnail_sha256
    );
    let missing = other.clone() + &format!("/v1/reports/{id}/photos/1");
    let response = client
        .get(missing)
        .bearer_auth(OFFICE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(fetch(&alone, "").await.unwrap().status().as_u16(), 404);
}
