//! Every photo a phone makes: the odd-EXIF corpus
//! (`fixtures/photos/odd-exif/`) through the real HTTP intake (real NATS),
//! one row per file: accepted, stored without any metadata, its sound
//! evidence kept and the rest named in an `exif_unreadable` flag.

mod common;

use civicprobe_ingest::photo::exif;
use civicprobe_model::{EvidenceFlag, Location, ReportSubmitted};
use civicprobe_testkit::odd_exif;
use common::{
    contains, corpus_file, corpus_names, form, key, spawn_app, TestApp, CORPUS, REPORT, TOKEN,
    WENQUAN,
};
use time::macros::datetime;

const MIB: usize = 1 << 20;

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
    let on_disk = corpus_names();
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

#[test]
fn the_exif_reader_never_panics_on_any_byte_of_the_exif_changed() {
    for e in EXPECTED {
        let bytes = corpus_file(e.file);
        for at in 0..bytes.len().min(700) {
            for value in [0x00, 0xFF, bytes[at] ^ 0x80, bytes[at].wrapping_add(1)] {
                let mut changed = bytes.clone();
                changed[at] = value;
                let _ = exif::read(&changed);
            }
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
