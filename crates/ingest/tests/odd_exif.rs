//! Every photo a phone makes: the odd-EXIF corpus
//! (`fixtures/photos/odd-exif/`) through the real HTTP intake (real NATS),
//! one row per file: accepted, stored without any metadata, its sound
//! evidence kept and the rest named in an `exif_unreadable` flag. Also a
//! report placed by its photo's GPS, and EXIF spliced into a resized JPEG.

mod common;

use civicprobe_ingest::photo::exif;
use civicprobe_model::{EvidenceFlag, Location, ReportSubmitted};
use civicprobe_testkit::odd_exif;
use common::{contains, form, key, problem, spawn_app, TestApp, OFFICE_TOKEN, REPORT, TOKEN};
use time::macros::datetime;

const MIB: usize = 1 << 20;

/// The corpus folder.
const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/photos/odd-exif"
);

/// Where the sound files say they were taken (Wenquan).
const WENQUAN: (f64, f64) = (29.8413, 114.3225);

/// What ingest must make of a corpus file: whether the GPS position and
/// DateTimeOriginal survive, and the words its `exif_unreadable` reason
/// holds (`None`: no such flag).
struct Expected {
    file: &'static str,
    gps: bool,
    taken: bool,
    reason: Option<&'static str>,
}

const fn row(file: &'static str, gps: bool, taken: bool, reason: Option<&'static str>) -> Expected {
    Expected {
        file,
        gps,
        taken,
        reason,
    }
}

const EXPECTED: &[Expected] = &[
    row("be-motorola.jpg", true, true, None),
    row("le-intel.jpg", true, true, None),
    row("gps-two-rationals.jpg", true, true, None),
    row("gps-srational.jpg", true, true, None),
    row(
        "gps-zero-over-zero.jpg",
        false,
        true,
        Some("GPSLatitude has a zero denominator (0/0)"),
    ),
    row(
        "gps-x-over-zero.jpg",
        false,
        true,
        Some("GPSLatitude has a zero denominator (50/0)"),
    ),
    row(
        "gps-ref-missing.jpg",
        false,
        true,
        Some("GPSLatitudeRef is missing"),
    ),
    row("gps-ref-lowercase.jpg", true, true, None),
    row(
        "gps-latitude-95.jpg",
        false,
        true,
        Some("GPSLatitude 95° is past the pole"),
    ),
    row(
        "gps-nan-double.jpg",
        false,
        true,
        Some("GPSLatitude is not a number (NaN)"),
    ),
    row(
        "gps-ascii-type.jpg",
        false,
        true,
        Some("GPSLatitude is ASCII, not rationals"),
    ),
    row(
        "gps-ifd-past-end.jpg",
        false,
        true,
        Some("the GPS IFD offset 60000 is past the end"),
    ),
    row(
        "gps-count-billions.jpg",
        false,
        true,
        Some("run past the end"),
    ),
    row(
        "date-zeros.jpg",
        true,
        false,
        Some("a camera's placeholder for no date"),
    ),
    row("date-blank.jpg", true, false, None),
    row("date-trailing-nuls.jpg", true, true, None),
    row("date-with-timezone.jpg", true, true, None),
    row(
        "date-1970.jpg",
        true,
        false,
        Some("1970:01:01 08:00:00 is before 1990"),
    ),
    row(
        "date-2099.jpg",
        true,
        false,
        Some("2099:01:01 08:00:00 is in the future"),
    ),
    row(
        "orientation-9.jpg",
        true,
        true,
        Some("Orientation 9 is not 1 to 8"),
    ),
    row(
        "ifd-chain-loop.jpg",
        true,
        true,
        Some("the IFD chain loops"),
    ),
    row(
        "wrong-type-codes.jpg",
        true,
        true,
        Some("Orientation has unknown type code 255"),
    ),
    row("makernote-bad-offsets.jpg", true, true, None),
    row(
        "app1-truncated.jpg",
        false,
        false,
        Some("the IFD0 claims 5 entries but the EXIF data ends after 2"),
    ),
    row(
        "ifd0-offset-past-end.jpg",
        false,
        false,
        Some("the IFD0 offset 4294901760 is past the end"),
    ),
    row("two-app1-exif-xmp.jpg", true, true, None),
    row(
        "two-app1-disagree.jpg",
        false,
        true,
        Some("two EXIF segments disagree on the GPS position"),
    ),
    row("no-exif-header.jpg", true, true, None),
    row("xmp-only.jpg", false, false, None),
    row("png-exif-chunk.png", true, true, None),
    row(
        "webp-exif-chunk.webp",
        false,
        true,
        Some("GPSLatitude has a zero denominator (50/0)"),
    ),
];

fn corpus_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{CORPUS}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `exif_unreadable` reasons of a report.
fn unreadable(report: &ReportSubmitted) -> Vec<&str> {
    report
        .evidence
        .flags
        .iter()
        .filter_map(|f| match f {
            EvidenceFlag::ExifUnreadable { photo: 0, reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_committed_corpus_is_what_the_generator_makes_and_the_readme_names_it() {
    let generated = odd_exif::corpus();
    let readme = std::fs::read_to_string(format!("{CORPUS}/README.md")).unwrap();
    let mut on_disk: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = generated.iter().map(|f| f.name.to_owned()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "regenerate: cargo run -p civicprobe-testkit --example odd_exif_corpus"
    );
    let mut expected: Vec<String> = EXPECTED.iter().map(|e| e.file.to_owned()).collect();
    expected.sort();
    assert_eq!(expected, names, "every file has one row in EXPECTED");
    for file in &generated {
        assert!(
            corpus_file(file.name) == file.bytes,
            "{} differs from the generator's",
            file.name
        );
        assert!(
            readme.contains(&format!("`{}`", file.name)),
            "README.md lacks {}",
            file.name
        );
    }
}

#[test]
fn the_exif_reader_never_panics_on_any_cut_of_any_file() {
    for e in EXPECTED {
        let bytes = corpus_file(e.file);
        for cut in (0..=bytes.len()).step_by(97) {
            let _ = exif::read(&bytes[..cut]);
        }
        // And byte by byte through the EXIF segment itself.
        for cut in 0..bytes.len().min(700) {
            let _ = exif::read(&bytes[..cut]);
        }
    }
}

#[tokio::test]
async fn every_corpus_photo_is_accepted_stored_clean_and_flagged_as_expected() {
    let app = spawn_app(16 * MIB, 50_000_000).await;
    for e in EXPECTED {
        let response = app
            .submit(
                Some(TOKEN),
                Some(&key()),
                form(Some(REPORT), &[corpus_file(e.file)]),
            )
            .await;
        assert_eq!(
            response.status().as_u16(),
            202,
            "{}: {}",
            e.file,
            response.text().await.unwrap()
        );
    }
    let n = EXPECTED.len() as u64;
    app.wait_for_messages(n).await;
    for (seq, e) in (1..=n).zip(EXPECTED) {
        let (report, _) = app.message(seq).await;
        check(&app, e, &report);
    }
}

/// One corpus file's report: evidence, flag and the stored bytes.
fn check(app: &TestApp, e: &Expected, report: &ReportSubmitted) {
    let exif = &report.evidence.photos[0];
    let file = e.file;
    assert_eq!(exif.gps.is_some(), e.gps, "{file}: {exif:?}");
    if let Some(gps) = exif.gps {
        let here = Location::new(WENQUAN.0, WENQUAN.1).unwrap();
        assert!(gps.distance_m(&here) < 5.0, "{file}: {gps:?}");
    }
    assert_eq!(exif.taken_at.is_some(), e.taken, "{file}: {exif:?}");
    if let Some(at) = exif.taken_at {
        assert_eq!(at, datetime!(2025-05-01 07:55 +08:00), "{file}");
    }
    let reasons = unreadable(report);
    match e.reason {
        None => assert!(reasons.is_empty(), "{file}: {reasons:?}"),
        Some(words) => {
            assert_eq!(reasons.len(), 1, "{file}: one flag per photo");
            assert!(
                reasons[0].contains(words),
                "{file}: {words:?} not in {reasons:?}"
            );
        }
    }
    let stored = std::fs::read(app.photo_path(&report.photos[0].sha256)).unwrap();
    for secret in [
        &b"Exif"[..],
        b"EXIF",
        b"eXIf",
        b"MM\0*",
        b"II*\0",
        b"HUAWEI",
        b"xmpmeta",
    ] {
        assert!(
            !contains(&stored, secret),
            "{file} kept {}",
            String::from_utf8_lossy(secret)
        );
    }
    image::load_from_memory(&stored).unwrap_or_else(|err| panic!("{file}: {err}"));
}

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
    for e in EXPECTED {
        let part = reqwest::multipart::Part::bytes(corpus_file(e.file))
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
        assert_eq!(response.status().as_u16(), 201, "{}", e.file);
        let proof: serde_json::Value = response.json().await.unwrap();
        let stored = std::fs::read(app.photo_path(proof["sha256"].as_str().unwrap())).unwrap();
        for secret in [&b"Exif"[..], b"EXIF", b"eXIf", b"HUAWEI", b"xmpmeta"] {
            assert!(!contains(&stored, secret), "{} kept metadata", e.file);
        }
    }
}
