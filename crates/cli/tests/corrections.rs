//! `classify --train --corrections-from`: an office's re-triage, stored by
//! the tracker in a real SQLite database, comes back as a labelled example
//! with the report's text, from a database URL, a data directory or a file.

use civicprobe::corrections;
use civicprobe_model::{Category, CourierId, Location, ReportId, ReportSubmitted, Role};
use civicprobe_router::{Jurisdictions, Routed, Router, SlaPolicy};
use civicprobe_tracker::{Store, Triage};
use std::path::Path;

fn router() -> Router {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson");
    Router::new(Jurisdictions::load(&path).unwrap(), SlaPolicy::default())
}

#[tokio::test]
async fn a_re_triage_is_read_back_as_a_labelled_example() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("civicprobe.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    let report = ReportSubmitted {
        report_id: ReportId::new(),
        courier_id: CourierId::new(),
        location: Location::new(29.84, 114.32).unwrap(),
        position_as_sent: None,
        accuracy_m: Some(5.0),
        category_hint: None,
        text: Some("梯控读卡器坏了 刷不上去".into()),
        reported_at: None,
        received_at: time::OffsetDateTime::now_utc(),
        photos: vec![],
        evidence: Default::default(),
        open311: None,
    };
    let Routed::Ticket(opened) = router().route(&report, time::OffsetDateTime::now_utc()) else {
        panic!("the point is in Wenquan");
    };
    assert!(opened.model_version.is_some());
    assert!(store.record_ticket_opened(&opened).await.unwrap());
    let ticket = store.ticket(opened.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.model_version, opened.model_version);
    let to = if ticket.category == Category::Elevator {
        Category::Other
    } else {
        Category::Elevator
    };
    let triage = Triage {
        category: Some(to),
        urgent: Some(false),
        reason: "梯控是电梯的".into(),
        actor: "office:wenquan:test".into(),
        role: Role::Office,
        at: time::OffsetDateTime::now_utc(),
    };
    store.triage(&ticket, &triage).await.unwrap();

    let expected = corrections::load(&url).await.unwrap();
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert_eq!(expected[0].text, "梯控读卡器坏了 刷不上去");
    assert_eq!((expected[0].category, expected[0].urgent), (to, false));
    // The data directory holding the database gives the same.
    let from_dir = corrections::load(dir.path().to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(from_dir, expected);
    // So does a labelled JSON Lines file.
    let file = dir.path().join("corrections.jsonl");
    let line = format!(
        "{{\"text\":\"梯控读卡器坏了 刷不上去\",\"category\":\"{to}\",\"urgent\":false}}\n"
    );
    std::fs::write(&file, line).unwrap();
    assert_eq!(
        corrections::load(file.to_str().unwrap()).await.unwrap(),
        expected
    );
}

#[tokio::test]
async fn a_directory_without_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = corrections::load(dir.path().to_str().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no civicprobe.db"), "{err}");
}
