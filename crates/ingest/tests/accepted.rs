//! Good submissions: accepted only once published, stored without
//! metadata, idempotent under retries.

mod common;

use civicprobe_model::Sha256;
use civicprobe_model::{Category, Location, ReportId};
use civicprobe_testkit::photos;
use common::{contains, form, key, spawn_app, with_exif, REPORT, TOKEN};
use time::macros::datetime;

const MIB: usize = 1 << 20;

#[tokio::test]
async fn a_jpeg_with_exif_is_published_once_and_stored_without_it() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let jpeg = with_exif(&photos::jpeg(320, 240));
    let before = time::OffsetDateTime::now_utc();

    let key = key();
    let response = app
        .submit(Some(TOKEN), Some(&key), form(Some(REPORT), &[&jpeg]))
        .await;

    assert_eq!(response.status().as_u16(), 202);
    let expected_id = ReportId::for_submission(app.courier, &key);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        format!("/v1/reports/{expected_id}")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["report_id"], expected_id.to_string());

    app.wait_for_messages(1).await;
    let (report, msg_id) = app.message(1).await;
    assert_eq!(msg_id, expected_id.to_string());
    assert_eq!(report.report_id, expected_id);
    assert_eq!(report.courier_id, app.courier);
    assert_eq!(report.location, Location::new(29.8413, 114.3225).unwrap());
    assert_eq!(report.accuracy_m, Some(6.5));
    assert_eq!(report.category_hint, Some(Category::Manhole));
    assert_eq!(
        report.text.as_deref(),
        Some("温泉路井盖缺失 manhole cover missing")
    );
    assert_eq!(report.reported_at, Some(datetime!(2025-05-01 08:00 +08:00)));
    assert!(report.received_at >= before && report.received_at <= time::OffsetDateTime::now_utc());
    assert_eq!(report.received_at.offset(), time::UtcOffset::UTC);

    assert_eq!(report.photos.len(), 1);
    let photo = &report.photos[0];
    assert_eq!(photo.media_type, "image/jpeg");
    assert_eq!((photo.width, photo.height), (320, 240));
    // The evidence was read before the EXIF was stripped.
    let exif = &report.evidence.photos[0];
    let gps = exif.gps.unwrap();
    assert!((gps.lat() - 29.8413).abs() < 1e-5 && (gps.lon() - 114.3225).abs() < 1e-5);
    assert_eq!(exif.taken_at, Some(datetime!(2025-05-01 07:55 +08:00)));
    assert_eq!(exif.orientation, Some(1));
    // Taken long ago (2025) relative to now: flagged with the measure.
    assert!(
        matches!(
            report.evidence.flags.as_slice(),
            [civicprobe_model::EvidenceFlag::TakenLongBefore {
                photo: 0,
                threshold_s: 86400,
                ..
            }]
        ),
        "{:?}",
        report.evidence.flags
    );
    let thumb = photo.thumbnail_sha256.unwrap();
    // Read back from the message's 16 hex digits.
    assert!(photo.phash.is_some(), "{photo:?}");
    let files = app.stored_files();
    let expected_path = app.photo_path(&photo.sha256);
    let mut expected = vec![expected_path.clone(), app.photo_path(&thumb)];
    expected.sort();
    assert_eq!(files, expected);
    let stored = std::fs::read(&expected_path).unwrap();
    assert_eq!(Sha256::of(&stored), photo.sha256);
    assert_eq!(stored.len() as u64, photo.bytes);
    assert!(contains(&jpeg, b"Exif") && !contains(&stored, b"Exif"));
    assert!(!contains(&stored, b"GPSLatitude"));
    let original = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    let kept = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert!(original.as_raw() == kept.as_raw(), "stored pixels differ");
}

#[tokio::test]
async fn a_png_is_published_and_stored_by_its_sha256() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let png = photos::png(200, 100);
    let report = r#"{"lat":29.85,"lon":114.3}"#;

    let response = app
        .submit(Some(TOKEN), Some(&key()), form(Some(report), &[&png]))
        .await;

    assert_eq!(response.status().as_u16(), 202);
    app.wait_for_messages(1).await;
    let (report, _) = app.message(1).await;
    assert_eq!(
        (
            report.accuracy_m,
            report.category_hint,
            report.text.as_deref()
        ),
        (None, None, None)
    );
    let photo = &report.photos[0];
    assert_eq!(photo.media_type, "image/png");
    assert_eq!((photo.width, photo.height), (200, 100));
    // The testkit PNG carries no ancillary chunks: stored unchanged.
    assert_eq!(photo.sha256, Sha256::of(&png));
    let path = app.photo_path(&photo.sha256);
    assert_eq!(std::fs::read(path).unwrap(), png);
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_same_answer_and_publishes_once() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let jpeg = photos::jpeg(64, 48);
    let same = key();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = app
            .submit(Some(TOKEN), Some(&same), form(Some(REPORT), &[&jpeg]))
            .await;
        let status = response.status().as_u16();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let body: serde_json::Value = response.json().await.unwrap();
        answers.push((status, location, body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 202);
    app.wait_for_messages(1).await;
    assert_eq!(app.stored_files().len(), 2, "photo and thumbnail");

    // The same key with another body is a conflict, and changes nothing.
    let other_report = r#"{"lat":29.85,"lon":114.3}"#;
    let response = app
        .submit(Some(TOKEN), Some(&same), form(Some(other_report), &[&jpeg]))
        .await;
    let body = common::problem(response, 409, "/problems/idempotency-conflict").await;
    assert_eq!(body["field"], "Idempotency-Key");
    let response = app
        .submit(
            Some(TOKEN),
            Some(&same),
            form(Some(REPORT), &[photos::jpeg(64, 49)]),
        )
        .await;
    common::problem(response, 409, "/problems/idempotency-conflict").await;

    // Another key is another report (same photo, same files), flagged as
    // a reuse of the first report's photo.
    let response = app
        .submit(Some(TOKEN), Some(&key()), form(Some(REPORT), &[jpeg]))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    app.wait_for_messages(2).await;
    assert_eq!(app.stored_files().len(), 2);
    let (second, _) = app.message(2).await;
    let first_id = ReportId::for_submission(app.courier, &same);
    assert!(
        matches!(
            second.evidence.flags.as_slice(),
            [civicprobe_model::EvidenceFlag::PhotoReuse { photo: 0, distance_bits: 0, earlier_report, .. }]
                if *earlier_report == first_id
        ),
        "{:?}",
        second.evidence.flags
    );
}

#[tokio::test]
async fn a_photo_above_the_default_axum_limit_is_accepted() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    // A noisy 1500×1500 PNG compresses badly: several MB.
    let noisy = image::RgbImage::from_fn(1500, 1500, |x, y| {
        let v = x
            .wrapping_mul(2_654_435_761)
            .wrapping_add(y.wrapping_mul(40_503))
            ^ (x * y);
        image::Rgb([(v >> 3) as u8, (v >> 11) as u8, (v >> 19) as u8])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    noisy.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let png = png.into_inner();
    assert!(png.len() > 2 * MIB, "{} bytes", png.len());

    let response = app
        .submit(Some(TOKEN), Some(&key()), form(Some(REPORT), &[png]))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    app.wait_for_messages(1).await;
}

#[tokio::test]
async fn sixty_four_concurrent_uploads_share_a_small_budget_and_all_land() {
    // A budget of one full body: the uploads queue for memory, none fails.
    let app = std::sync::Arc::new(
        common::spawn_with(|c| {
            c.max_photo_bytes = 256 * 1024;
            c.upload_budget_bytes = 1;
        })
        .await,
    );
    let photo = photos::jpeg(800, 600);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (app, photo) = (app.clone(), photo.clone());
        tasks.push(tokio::spawn(async move {
            app.submit(Some(TOKEN), Some(&key()), form(Some(REPORT), &[photo]))
                .await
                .status()
                .as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 202);
    }
    app.wait_for_messages(64).await;
}

#[tokio::test]
async fn a_photo_first_sent_to_another_instance_is_flagged_as_reused() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let (other, other_state, _data) = app
        .second_instance(civicprobe_ingest::PhotoBackendKind::Fs)
        .await;
    let jpeg = photos::jpeg(640, 480);
    let first_key = key();
    let response = app
        .submit(Some(TOKEN), Some(&first_key), form(Some(REPORT), &[&jpeg]))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    app.wait_for_messages(1).await;
    // The other instance learns the hash from REPORTS.
    for _ in 0..500 {
        if other_state.known_photo_hashes() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(other_state.known_photo_hashes(), 1);

    let response = app
        .http
        .post(format!("{other}/v1/reports"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", key())
        .multipart(form(Some(REPORT), &[&jpeg]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    app.wait_for_messages(2).await;
    let (second, _) = app.message(2).await;
    let first_id = ReportId::for_submission(app.courier, &first_key);
    assert!(
        matches!(
            second.evidence.flags.as_slice(),
            [civicprobe_model::EvidenceFlag::PhotoReuse { earlier_report, distance_bits: 0, .. }]
                if *earlier_report == first_id
        ),
        "{:?}",
        second.evidence.flags
    );
    // The first instance holds both reports' hashes; its own report came
    // back on the feed (before the other's: the feed is ordered) and is
    // indexed once, not twice.
    for _ in 0..500 {
        if app.state.known_photo_hashes() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.state.known_photo_hashes(), 2);
}
