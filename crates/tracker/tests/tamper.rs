//! A dishonest insider with write access to the database, on both
//! databases: an edited step time in `tickets`, or an edited deadline,
//! urgency or category (the terms a figure is judged by), is named by
//! `verify`'s figures check; a rewrite of the whole chain (an edited event with every
//! later hash and the head recomputed, the ticket's figure edited to
//! match) passes the chain walk and the figures check, and is caught by
//! the signed head on ANCHORS, as is a truncated chain, by `civicprobe
//! audit verify` and by the tracker's `GET /v1/audit/verify` alike.
//! Without a key, both say the chain is unanchored.

#[path = "tamper/anchor.rs"]
mod anchor;
mod common;

use anchor::{
    a_head_signed_by_another_key_is_refused, a_rewritten_chain_is_caught_by_the_anchor,
    a_truncated_chain_is_caught_by_the_anchor,
};
use civicprobe_model::{CourierId, Role, TicketAction};
use civicprobe_testkit::NatsServer;
use civicprobe_tracker::cli::{run_with_store, AnchorArgs, AuditArgs, AuditCommand};
use civicprobe_tracker::{Store, Transition};
use common::{actors, base_time, disable_append_only, exec, get, open_ticket, store};
use sha2::{Digest, Sha256};
use sqlx::Row;
use time::Duration;

on_both_databases!(
    untouched_figures_agree_with_their_events,
    edited_step_times_are_named,
    a_rewritten_chain_is_caught_by_the_anchor,
    a_truncated_chain_is_caught_by_the_anchor,
    a_head_signed_by_another_key_is_refused,
);

async fn step(store: &Store, id: civicprobe_model::TicketId, action: TicketAction, min: i64) {
    let current = store.ticket(id).await.unwrap().unwrap();
    let change = Transition {
        action,
        actor: "supervisor:zhang".into(),
        role: Role::Supervisor,
        at: base_time() + Duration::minutes(min),
        reason: None,
        note: None,
        proof_photo_sha256: None,
    };
    store.apply(&current, &change).await.unwrap();
}

/// Four tickets: acknowledged and resolved; reopened, resolved again and
/// verified; rerouted after an acknowledgement and acknowledged afresh;
/// only opened. The first is re-triaged urgent first (new terms).
async fn history(store: &Store) -> Vec<String> {
    use TicketAction::{Acknowledge, Reopen, Resolve, Verify};
    let mut ids = Vec::new();
    for i in 0..4 {
        let ev = open_ticket(store, "wenquan", CourierId::new()).await;
        let id = ev.ticket_id;
        match i {
            0 => {
                let current = store.ticket(id).await.unwrap().unwrap();
                let triage = civicprobe_tracker::routing::triage::Triage {
                    category: Some(civicprobe_model::Category::ElectricalBox),
                    urgent: Some(true),
                    reason: "smoke in the photo".into(),
                    actor: "supervisor:zhang".into(),
                    role: Role::Supervisor,
                    at: base_time() + Duration::minutes(1),
                };
                store.triage(&current, &triage).await.unwrap();
                step(store, id, Acknowledge, 5).await;
                step(store, id, Resolve, 60).await;
            }
            1 => {
                for (action, min) in [(Acknowledge, 3), (Resolve, 50), (Reopen, 70)] {
                    step(store, id, action, min).await;
                }
                step(store, id, Acknowledge, 80).await;
                step(store, id, Resolve, 90).await;
                step(store, id, Verify, 120).await;
            }
            2 => {
                step(store, id, Acknowledge, 2).await;
                let current = store.ticket(id).await.unwrap().unwrap();
                store
                    .reroute(
                        &current,
                        &common::office("fushan"),
                        "supervisor:zhang",
                        None,
                    )
                    .await
                    .unwrap();
                step(store, id, Acknowledge, 40).await;
            }
            _ => {}
        }
        ids.push(id.to_string());
    }
    ids
}

fn verify_args(anchor: AnchorArgs) -> AuditArgs {
    AuditArgs {
        command: Some(AuditCommand::Verify),
        anchor,
        ..AuditArgs::default()
    }
}

/// `audit verify`'s output and whether it passed.
async fn verify_text(store: &Store, anchor: AnchorArgs) -> (String, bool) {
    let mut out = Vec::new();
    let outcome = run_with_store(&verify_args(anchor), store, &mut out).await;
    (String::from_utf8(out).unwrap(), outcome.is_ok())
}

async fn untouched_figures_agree_with_their_events(kind: &str) {
    let (_db, store) = store(kind).await;
    history(&store).await;
    // A report outside every area, routed by a supervisor: its ticket's
    // terms come from the `rerouted` event.
    let unrouted = common::unrouted(CourierId::new());
    store.record_unrouted(&unrouted).await.unwrap();
    let routed = store
        .route_unrouted(
            unrouted.report.report_id,
            &common::office("fushan"),
            "supervisor:zhang",
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.verify_figures().await.unwrap(), vec![]);
    exec(
        &store,
        &format!(
            "UPDATE tickets SET resolve_by = resolve_by + 1 WHERE ticket_id = '{}'",
            routed.ticket_id
        ),
    )
    .await;
    let found: Vec<&str> = store
        .verify_figures()
        .await
        .unwrap()
        .iter()
        .map(|m| m.column)
        .collect();
    assert_eq!(found, ["resolve_by"]);
    exec(
        &store,
        &format!(
            "UPDATE tickets SET resolve_by = resolve_by - 1 WHERE ticket_id = '{}'",
            routed.ticket_id
        ),
    )
    .await;
    let (text, ok) = verify_text(&store, AnchorArgs::default()).await;
    assert!(ok, "{text}");
    assert!(text.contains("ticket figures agree"), "{text}");
    assert!(
        text.contains("chain UNANCHORED: no anchor key is configured"),
        "no key: verify must say so, {text}"
    );
}

async fn edited_step_times_are_named(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ids = history(&store).await;
    // The attack: three offices look instant.
    exec(
        &store,
        &format!(
            "UPDATE tickets SET acknowledged_at = received_at WHERE ticket_id IN ('{}', '{}', '{}')",
            ids[0], ids[1], ids[2]
        ),
    )
    .await;
    exec(
        &store,
        &format!(
            "UPDATE tickets SET reopen_count = 0, verified_by = 'reporter' WHERE ticket_id = '{}'",
            ids[1]
        ),
    )
    .await;
    exec(
        &store,
        &format!(
            "UPDATE tickets SET received_at = received_at + 600000 WHERE ticket_id = '{}'",
            ids[3]
        ),
    )
    .await;
    // The terms: a later deadline, urgency dropped, another category.
    exec(
        &store,
        &format!(
            "UPDATE tickets SET acknowledge_by = acknowledge_by + 86400000 WHERE ticket_id = '{}'",
            ids[0]
        ),
    )
    .await;
    exec(
        &store,
        &format!(
            "UPDATE tickets SET urgent = 0 WHERE ticket_id = '{}'",
            ids[0]
        ),
    )
    .await;
    exec(
        &store,
        &format!(
            "UPDATE tickets SET category = 'other' WHERE ticket_id = '{}'",
            ids[2]
        ),
    )
    .await;
    let found: Vec<(String, &str)> = store
        .verify_figures()
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.ticket_id, m.column))
        .collect();
    let want = |i: usize, c: &'static str| (ids[i].clone(), c);
    let mut expected = vec![
        want(0, "acknowledged_at"),
        want(0, "acknowledge_by"),
        want(1, "acknowledged_at"),
        want(1, "reopen_count"),
        want(1, "verified_by"),
        want(2, "acknowledged_at"),
        want(2, "category"),
        want(3, "received_at"),
        want(0, "urgent"),
    ];
    let mut found_sorted = found.clone();
    found_sorted.sort();
    expected.sort();
    assert_eq!(found_sorted, expected);

    let (text, ok) = verify_text(&store, AnchorArgs::default()).await;
    assert!(!ok, "verify fails on edited figures: {text}");
    assert!(
        text.contains("event chain intact"),
        "the events are untouched: {text}"
    );
    for id in &ids {
        assert!(
            text.contains(&format!("DISAGREES: ticket {id}")),
            "{id}: {text}"
        );
    }
    let reply = get(&store, "/v1/audit/verify", &a.supervisor).await;
    assert_eq!(reply.body["intact"], false);
    assert_eq!(
        reply.body["anchor"]["status"], "unanchored",
        "{}",
        reply.body
    );
    assert_eq!(reply.body["figures"].as_array().unwrap().len(), 9);
}
