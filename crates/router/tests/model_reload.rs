//! A running router takes up a new model file without a restart, and each
//! ticket names the model that decided it (against a real nats-server).

mod common;

use civicprobe_model::TicketOpened;
use civicprobe_router::{
    classifier::{file, live::LiveClassifier, Thresholds},
    Classifier, Jurisdictions, Router, SlaPolicy,
};
use civicprobe_testkit::{init_tracing, NatsServer};
use common::*;
use std::{path::Path, sync::Arc, time::Duration};

fn opened(tickets: &[(String, serde_json::Value, String)], text: &str) -> TicketOpened {
    let (_, body, _) = tickets
        .iter()
        .find(|(_, b, _)| b["report"]["text"] == text)
        .expect("a ticket for the report");
    serde_json::from_value(body.clone()).unwrap()
}

#[tokio::test]
async fn a_new_model_file_is_used_for_the_next_report_without_a_restart() -> Result {
    init_tracing();
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    create_reports_stream(&js).await?;

    let dir = tempfile::tempdir()?;
    let a = Classifier::builtin();
    let b = a.as_ref().clone().with_thresholds(Thresholds {
        confident: 0.55,
        urgent: 0.2,
    });
    let a_file = file::save(&a, dir.path())?;
    let b_file = file::save(&b, dir.path())?;
    let current = dir.path().join("current.json");
    std::fs::copy(&a_file, &current)?;

    let geo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson");
    let router = Arc::new(
        Router::new(Jurisdictions::load(&geo)?, SlaPolicy::default())
            .with_live_classifier(Arc::new(LiveClassifier::load(&current)?)),
    );
    let running = spawn_router(&js, router.clone());

    publish_report(&js, &report(29.84, 114.32, "井盖没了")).await?;
    let first = wait_for_tickets(&js, 1).await?;
    assert_eq!(
        opened(&first, "井盖没了").model_version.as_deref(),
        Some(a.version())
    );

    // The deploy: the new model renamed over the file the router loaded.
    let next = dir.path().join("next.json");
    std::fs::copy(&b_file, &next)?;
    std::fs::rename(&next, &current)?;
    let mut swapped = false;
    for _ in 0..600 {
        if router.classifier().version() == b.version() {
            swapped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(swapped, "the router never took up {}", b.version());

    // 1 km away from the first: not a duplicate.
    publish_report(&js, &report(29.84, 114.33, "配电箱冒烟")).await?;
    let both = wait_for_tickets(&js, 2).await?;
    assert_eq!(
        opened(&both, "配电箱冒烟").model_version.as_deref(),
        Some(b.version())
    );
    running.shut_down().await
}
