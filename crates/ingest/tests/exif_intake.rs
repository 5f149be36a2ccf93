//! Odd EXIF on the other intake paths, with a real nats-server: a report
//! without `lat`/`lon` placed by its photo's EXIF GPS (or refused naming
//! `lat`), every corpus photo as a proof photo, and EXIF spliced into a
//! resized JPEG the way the courier page will.

mod common;

use civicprobe_ingest::photo::exif;
use civicprobe_model::{EvidenceFlag, Location, ReportSubmitted};
use common::{
    contains, corpus_file, corpus_names, form, key, problem, spawn_app, TestApp, OFFICE_TOKEN,
    TOKEN, WENQUAN,
};
use time::macros::datetime;

const MIB: usize = 1 << 20;

/// A report part without `lat`/`lon`.
const NO_POSITION: &str = r#"{"category_hint":"manhole","text":"井盖缺失"}"#;

#[tokio::test]
async fn a_report_without_a_position_takes_its_photos_gps_or_names_lat() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let photos = [corpus_file("xmp-only.jpg"), corpus_file("be-motorola.jpg")];
    let response = app
        .submit(Some(TOKEN), Some(&key()), form(Some(NO_POSITION), &photos))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    app.wait_for_messages(1).await;
    let (report, _) = app.message(1).await;
    let here = Location::new(WENQUAN.0, WENQUAN.1).unwrap();
    assert!(
        report.location.distance_m(&here) < 5.0,
        "{:?}",
        report.location
    );
    let flags = &report.evidence.flags;
    assert!(
        flags.contains(&EvidenceFlag::PositionFromExif { photo: 1 }),
        "{flags:?}"
    );
    assert!(
        !flags
            .iter()
            .any(|f| matches!(f, EvidenceFlag::FarFromReported { .. })),
        "{flags:?}"
    );

    // Photos without a position: refused before anything is kept.
    let fresh = spawn_app(16 * MIB, 50_000_000).await;
    let without = [corpus_file("gps-zero-over-zero.jpg")];
    let response = fresh
        .submit(Some(TOKEN), Some(&key()), form(Some(NO_POSITION), &without))
        .await;
    let body = problem(response, 400, "/problems/invalid-field").await;
    assert_eq!(body["field"], "lat");
    fresh.assert_nothing_kept().await;
    fresh.assert_still_answers().await;
}

/// What the courier page does when it shrinks a photo: the original's EXIF
/// APP1 with Orientation set to 1 (the canvas applied it) and IFD1 (the
/// thumbnail) dropped, inserted right after the resized JPEG's SOI.
fn splice(original: &[u8], resized: &[u8]) -> Vec<u8> {
    let mut pos = 2;
    let mut app1 = loop {
        let len = usize::from(u16::from_be_bytes([original[pos + 2], original[pos + 3]]));
        if original[pos + 1] == 0xE1 && original[pos + 4..].starts_with(b"Exif\0\0") {
            break original[pos + 4..pos + 2 + len].to_vec();
        }
        pos += 2 + len;
    };
    let tiff = &mut app1[6..];
    assert_eq!(&tiff[..4], b"MM\0*", "the fixture is big-endian");
    let be16 = |b: &[u8], at: usize| usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
    let ifd0 = u32::from_be_bytes([tiff[4], tiff[5], tiff[6], tiff[7]]) as usize;
    let count = be16(tiff, ifd0);
    for entry in (0..count).map(|i| ifd0 + 2 + 12 * i) {
        if be16(tiff, entry) == 0x0112 {
            tiff[entry + 8..entry + 10].copy_from_slice(&1u16.to_be_bytes());
        }
    }
    let next = ifd0 + 2 + 12 * count;
    tiff[next..next + 4].copy_from_slice(&[0; 4]);
    exif::with_app1(resized, &app1)
}

/// Submits `photo` at 1.1 km north of Wenquan; its report.
async fn far_report(app: &TestApp, photo: Vec<u8>, n: u64) -> ReportSubmitted {
    let report = r#"{"lat":29.8513,"lon":114.3225,"category_hint":"manhole"}"#;
    let response = app
        .submit(Some(TOKEN), Some(&key()), form(Some(report), &[photo]))
        .await;
    assert_eq!(response.status().as_u16(), 202);
    app.wait_for_messages(n).await;
    app.message(n).await.0
}

/// The flags' names, less photo reuse (the two pictures may look alike).
fn names(report: &ReportSubmitted) -> Vec<&'static str> {
    let flags = report.evidence.flags.iter().map(EvidenceFlag::name);
    flags.filter(|n| *n != "photo_reuse").collect()
}

#[tokio::test]
async fn exif_spliced_into_a_resized_jpeg_is_evidence_like_the_camera_file() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let camera = corpus_file("be-motorola.jpg");
    // The canvas's output: a JPEG the image crate encodes, no EXIF.
    let resized = civicprobe_testkit::photos::jpeg(320, 240);
    let spliced = splice(&camera, &resized);
    assert_eq!(image::load_from_memory(&spliced).unwrap().width(), 320);
    let from_camera = far_report(&app, camera, 1).await;
    let from_page = far_report(&app, spliced, 2).await;
    assert_eq!(
        from_page.evidence.photos[0].taken_at,
        Some(datetime!(2025-05-01 07:55 +08:00))
    );
    assert_eq!(from_page.evidence.photos, from_camera.evidence.photos);
    assert_eq!(
        names(&from_page),
        ["taken_long_before", "far_from_reported"]
    );
    assert_eq!(names(&from_page), names(&from_camera));
    assert_eq!(from_page.photos[0].width, 320);

    // Dropping IFD1 also drops what was odd in it: here a looping chain.
    let looped = corpus_file("ifd-chain-loop.jpg");
    assert!(!exif::read(&looped).unreadable.is_empty());
    let clean = exif::read(&splice(&looped, &resized));
    assert!(clean.unreadable.is_empty(), "{clean:?}");
    assert!(clean.exif.gps.is_some() && clean.exif.taken_at.is_some());
}

#[tokio::test]
async fn every_corpus_photo_is_accepted_as_a_proof_photo_and_stored_clean() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    let ticket = civicprobe_model::TicketId::new();
    let files = corpus_names();
    assert_eq!(files.len(), civicprobe_testkit::odd_exif::corpus().len());
    for file in &files {
        let part = reqwest::multipart::Part::bytes(corpus_file(file))
            .file_name("fixed.jpg")
            .mime_str("image/jpeg")
            .unwrap();
        let response = app
            .http
            .post(format!("{}/v1/tickets/{ticket}/proof-photos", app.base))
            .bearer_auth(OFFICE_TOKEN)
            .multipart(reqwest::multipart::Form::new().part("photo", part))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "{file}");
        let proof: serde_json::Value = response.json().await.unwrap();
        let stored =
            std::fs::read(app.photo_path(&proof["sha256"].as_str().unwrap().parse().unwrap()))
                .unwrap();
        for secret in [&b"Exif"[..], b"EXIF", b"eXIf", b"HUAWEI", b"xmpmeta"] {
            assert!(!contains(&stored, secret), "{file} kept metadata");
        }
    }
}
