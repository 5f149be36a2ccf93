//! Tamper evidence on both databases: the event table is one hash chain;
//! an attacker with database access who edits or removes a row (after
//! disabling the append-only trigger) is named by `verify_chain`, by
//! `GET /v1/audit/verify` and by `civicprobe audit verify`.

mod common;

use civicprobe_model::Role;
use civicprobe_tracker::cli::{run_with_store, AuditArgs, AuditCommand};
use civicprobe_tracker::{Store, Transition};
use common::{actors, base_time, disable_append_only, exec, get, open_ticket, store};
use time::Duration;

on_both_databases!(
    an_untouched_chain_verifies,
    an_edited_row_is_named,
    a_row_edited_into_no_event_is_named,
    a_removed_row_is_named,
    a_removed_tail_is_caught_by_the_head,
);

/// Three tickets with a few steps each: 3 × 3 events.
async fn history(store: &Store) -> Vec<civicprobe_tracker::TicketEvent> {
    let mut all = Vec::new();
    for _ in 0..3 {
        let ev = open_ticket(store, "wenquan", civicprobe_model::CourierId::new()).await;
        for action in [
            civicprobe_model::TicketAction::Acknowledge,
            civicprobe_model::TicketAction::Resolve,
        ] {
            let current = store.ticket(ev.ticket_id).await.unwrap().unwrap();
            let change = Transition {
                action,
                actor: "office:wenquan".into(),
                role: Role::Office,
                at: base_time() + Duration::minutes(3),
                reason: None,
                note: Some("fixed".into()),
                proof_photo_sha256: None,
            };
            store.apply(&current, &change).await.unwrap();
        }
        all.extend(store.ticket_events(ev.ticket_id).await.unwrap());
    }
    all
}

fn verify_args() -> AuditArgs {
    AuditArgs {
        command: Some(AuditCommand::Verify),
        ..AuditArgs::default()
    }
}

async fn an_untouched_chain_verifies(kind: &str) {
    let (_db, store) = store(kind).await;
    let events = history(&store).await;
    let report = store.verify_chain().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.rows, 9);
    assert_eq!(
        report.head_hash,
        events.last().unwrap().hash.unwrap().to_string()
    );
    let mut out = Vec::new();
    run_with_store(&verify_args(), &store, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("intact: 9 rows"), "{text}");
}

/// A kind no event has, or an id that is no uuid, is an alteration the
/// check names (not an error that stops it).
async fn a_row_edited_into_no_event_is_named(kind: &str) {
    let (_db, store) = store(kind).await;
    let events = history(&store).await;
    disable_append_only(&store, kind).await;
    // Rows are chained in the order `history` made them: events[i] is row i + 1.
    for (column, value, at) in [("kind", "closed", 6), ("event_id", "e-1", 2)] {
        let victim = &events[at];
        exec(
            &store,
            &format!(
                "UPDATE ticket_events SET {column} = '{value}' WHERE event_id = '{}'",
                victim.event_id
            ),
        )
        .await;
        let report = store.verify_chain().await.unwrap();
        let broken = report.broken.expect("the edit is detected");
        let named = if column == "event_id" {
            value.to_owned()
        } else {
            victim.event_id.to_string()
        };
        assert_eq!(broken.event_id, named);
        assert_eq!(broken.chain_seq, Some(at as i64 + 1));
        assert!(
            broken.problem.contains("altered") && broken.problem.contains(value),
            "{}",
            broken.problem
        );
    }
}

async fn an_edited_row_is_named(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let events = history(&store).await;
    disable_append_only(&store, kind).await;
    let victim = &events[4];
    exec(
        &store,
        &format!(
            "UPDATE ticket_events SET at = at - 3600000 WHERE event_id = '{}'",
            victim.event_id
        ),
    )
    .await;
    let report = store.verify_chain().await.unwrap();
    let broken = report.broken.expect("the edit is detected");
    assert_eq!(broken.event_id, victim.event_id.to_string());
    assert_eq!(broken.chain_seq, Some(5));
    assert!(broken.problem.contains("altered"), "{}", broken.problem);

    let mut out = Vec::new();
    let outcome = run_with_store(&verify_args(), &store, &mut out).await;
    assert!(outcome.is_err());
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("BROKEN") && text.contains(&victim.event_id.to_string()),
        "{text}"
    );

    let reply = get(&store, "/v1/audit/verify", &a.supervisor).await;
    assert_eq!(reply.body["intact"], false);
    assert_eq!(
        reply.body["report"]["broken"]["event_id"],
        victim.event_id.to_string()
    );
    common::assert_problem(
        &get(&store, "/v1/audit/verify", &a.wenquan).await,
        403,
        None,
    );
}

async fn a_removed_row_is_named(kind: &str) {
    let (_db, store) = store(kind).await;
    let events = history(&store).await;
    disable_append_only(&store, kind).await;
    exec(
        &store,
        &format!(
            "DELETE FROM ticket_events WHERE event_id = '{}'",
            events[2].event_id
        ),
    )
    .await;
    let broken = store.verify_chain().await.unwrap().broken.unwrap();
    assert_eq!(
        broken.event_id,
        events[3].event_id.to_string(),
        "the row after the gap is named"
    );
    assert!(broken.problem.contains("missing"), "{}", broken.problem);
}

async fn a_removed_tail_is_caught_by_the_head(kind: &str) {
    let (_db, store) = store(kind).await;
    let events = history(&store).await;
    disable_append_only(&store, kind).await;
    exec(
        &store,
        &format!(
            "DELETE FROM ticket_events WHERE event_id = '{}'",
            events[8].event_id
        ),
    )
    .await;
    let broken = store.verify_chain().await.unwrap().broken.unwrap();
    assert_eq!(broken.event_id, events[7].event_id.to_string());
    assert!(broken.problem.contains("head"), "{}", broken.problem);
}
