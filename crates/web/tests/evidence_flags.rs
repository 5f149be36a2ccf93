//! The office's ticket detail shows every evidence flag in words, in
//! Chinese and in English: a node script renders `assets/ticket_detail.js`
//! with a minimal DOM (tests/js/evidence_flags.mjs). Also: every flag the
//! model can raise has a label in both languages.

use civicprobe_model::{EvidenceFlag, ReportId};
use std::path::Path;
use std::process::Command;

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");

/// One of each flag (a new variant fails to compile here until listed).
fn every_flag() -> Vec<EvidenceFlag> {
    let listed = |f: &EvidenceFlag| match f {
        EvidenceFlag::TakenLongBefore { .. }
        | EvidenceFlag::FarFromReported { .. }
        | EvidenceFlag::PhotoReuse { .. }
        | EvidenceFlag::ExifUnreadable { .. }
        | EvidenceFlag::PositionFromExif { .. } => (),
    };
    let _ = listed;
    vec![
        EvidenceFlag::TakenLongBefore {
            photo: 0,
            age_s: 1,
            threshold_s: 1,
        },
        EvidenceFlag::FarFromReported {
            photo: 0,
            distance_m: 1.0,
            threshold_m: 1.0,
        },
        EvidenceFlag::PhotoReuse {
            photo: 0,
            phash: civicprobe_model::PhotoHash(0),
            earlier_report: ReportId::for_submission(civicprobe_model::CourierId::new(), "k"),
            distance_bits: 0,
            threshold_bits: 0,
        },
        EvidenceFlag::ExifUnreadable {
            photo: 0,
            reason: String::new(),
        },
        EvidenceFlag::PositionFromExif { photo: 0 },
    ]
}

#[test]
fn every_flag_has_a_chinese_and_an_english_label() {
    let js = std::fs::read_to_string(Path::new(ASSETS).join("ticket_detail.js")).unwrap();
    let (zh, en) = js
        .split_once("\n  en: {")
        .expect("the zh and en dictionaries");
    for flag in every_flag() {
        let key = format!("flag_{}:", flag.name());
        assert!(zh.contains(&key), "no Chinese label for {}", flag.name());
        assert!(en.contains(&key), "no English label for {}", flag.name());
    }
}

#[test]
fn unreadable_exif_and_a_position_from_exif_are_shown_in_words_escaped() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/evidence_flags.mjs");
    let out = match Command::new("node").arg(&script).arg(ASSETS).output() {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => return eprintln!("SKIPPED: node: {e}"),
        Err(e) => panic!("node: {e}"),
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}
