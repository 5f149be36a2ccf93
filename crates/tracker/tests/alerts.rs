//! Alerts end to end, on both databases, against a real nats-server and a
//! real local HTTP receiver: which events alert whom, each format's body
//! as its vendor documents it, the signatures recomputed by the receiver,
//! once per event and channel even when JetStream redelivers.

mod common;
#[path = "common/alerts_harness.rs"]
mod harness;

use civicprobe_model::nats::{ticket_subject, unrouted_subject};
use civicprobe_model::{CourierId, EventId, TicketChanged, TicketState};
use civicprobe_tracker::alerts::Audience;
use civicprobe_tracker::{MockClock, Store};
use common::{base_time, merged, office, opened, store, unrouted};
use harness::{
    assert_dingtalk_signed, assert_feishu_signed, assert_json_signed, channel, config, Receiver,
    Running,
};
use sqlx::Row;
use std::sync::Arc;

on_both_databases!(
    an_urgent_ticket_reaches_every_format_once,
    escalations_and_disputes_reach_the_supervisors,
    merges_triage_and_reroutes_alert_when_urgent
);

async fn deliveries(store: &Store) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM alert_deliveries")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0)
}

async fn an_urgent_ticket_reaches_every_format_once(kind: &str) {
    let (_db, store) = store(kind).await;
    let rx = Receiver::start().await;
    store
        .add_office(&office("wenquan"), Some("温泉街道"))
        .await
        .unwrap();
    let wq = || Audience::Office(office("wenquan"));
    for (path, format, secret) in [
        ("/cgi-bin/webhook/send?key=k1", "wecom", None),
        ("/robot/send?access_token=tok", "dingtalk", Some("SECd")),
        ("/open-apis/bot/v2/hook/h", "feishu", Some("fs")),
        ("/json", "json", Some("js")),
    ] {
        channel(&store, wq(), &format!("{}{path}", rx.base), format, secret).await;
    }
    let run = Running::start(&store, config()).await;

    let routine = wenquan_ticket(false);
    run.publish(
        ticket_subject(
            &routine.office_id,
            routine.category,
            civicprobe_model::EventKind::Opened,
        ),
        &routine,
    )
    .await;
    let mut urgent = wenquan_ticket(true);
    urgent.office_name = "温泉街道".into();
    urgent.report.text = Some("井盖整个掉下去了\n露出**大洞** <font>".into());
    let subject = ticket_subject(
        &urgent.office_id,
        urgent.category,
        civicprobe_model::EventKind::Opened,
    );
    run.publish(subject.clone(), &urgent).await;
    // The same message again (no Nats-Msg-Id: the stream keeps both).
    run.publish(subject, &urgent).await;
    // A sentinel after them: once it is delivered, the others were decided.
    let sentinel = wenquan_ticket(true);
    run.publish(
        ticket_subject(
            &sentinel.office_id,
            sentinel.category,
            civicprobe_model::EventKind::Opened,
        ),
        &sentinel,
    )
    .await;
    let got = rx.wait_for(8).await;
    run.stop().await;
    assert_eq!(
        got.len(),
        8,
        "two urgent tickets × four channels, the copy added nothing"
    );
    assert_eq!(deliveries(&store).await, 8);
    let id = urgent.ticket_id.to_string();
    let about = |path: &str| {
        let mine: Vec<_> = rx
            .at(path)
            .into_iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(&id))
            .collect();
        assert_eq!(mine.len(), 1, "{path}: one request about the urgent ticket");
        mine.into_iter().next().unwrap()
    };

    let wecom = about("/cgi-bin/webhook/send?key=k1").json();
    assert_eq!(wecom["msgtype"], "markdown");
    let content = wecom["markdown"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("**【紧急】井盖 · 温泉街道 · 新工单**"),
        "{content}"
    );
    assert!(
        content.contains("井盖整个掉下去了 露出\\*\\*大洞\\*\\* ＜font＞"),
        "escaped: {content}"
    );
    assert!(
        content.contains(&format!("https://civic.example/office#ticket={id}")),
        "{content}"
    );
    assert!(content.len() <= 4096);

    let ding = about("/robot/send");
    assert_dingtalk_signed(&ding, "SECd");
    let body = ding.json();
    assert_eq!(body["msgtype"], "markdown");
    assert!(body["markdown"]["title"]
        .as_str()
        .unwrap()
        .contains("【紧急】"));
    assert!(body["markdown"]["text"]
        .as_str()
        .unwrap()
        .contains("受理期限 Acknowledge by"));

    let feishu = about("/open-apis/bot/v2/hook/h");
    assert_feishu_signed(&feishu, "fs");
    let body = feishu.json();
    assert_eq!(body["msg_type"], "text");
    assert!(
        body["content"]["text"]
            .as_str()
            .unwrap()
            .contains("露出**大洞** <font>"),
        "plain text is not escaped"
    );

    let json = about("/json");
    assert_json_signed(&json, "js");
    let alert = json.json();
    assert_eq!(alert["version"], 1);
    assert_eq!(alert["kind"], "opened");
    assert_eq!(alert["ticket_id"], id);
    assert_eq!(alert["office_id"], "wenquan");
    assert_eq!(alert["urgent"], true);
    assert_eq!(alert["state"], "open");
    assert!(alert["deadlines"]["acknowledge_by"].is_string());
    assert!(alert["location"]["lat"].is_number());
    assert!(
        !String::from_utf8_lossy(
            &rx.requests()
                .iter()
                .flat_map(|r| r.body.clone())
                .collect::<Vec<_>>()
        )
        .contains(&routine.ticket_id.to_string()),
        "the routine ticket alerted nobody"
    );
}

/// A ticket of wenquan: urgent (acknowledge within 30 min) or routine (4 h).
fn wenquan_ticket(urgent: bool) -> civicprobe_model::TicketOpened {
    let ack = if urgent {
        time::Duration::minutes(30)
    } else {
        time::Duration::hours(4)
    };
    let mut t = opened("wenquan", CourierId::new(), base_time(), ack);
    t.urgent = urgent;
    t
}

/// A tracker step as the outbox publishes it.
fn changed(
    t: &civicprobe_model::TicketOpened,
    kind: &str,
    reason: Option<&str>,
    urgent: bool,
) -> TicketChanged {
    TicketChanged {
        event_id: EventId::derived(t.ticket_id.0, kind),
        ticket_id: t.ticket_id,
        office_id: t.office_id.clone(),
        category: t.category,
        urgent,
        kind: kind.parse().unwrap(),
        state: if kind == "rejected" {
            TicketState::Rejected
        } else {
            TicketState::Open
        },
        actor: "office:wenquan".into(),
        at: base_time(),
        reason: reason.map(Into::into),
        note: None,
        from_office: None,
        from_category: None,
        deadlines: None,
    }
}

async fn escalations_and_disputes_reach_the_supervisors(kind: &str) {
    let (_db, store) = store(kind).await;
    // The SLA clock runs on a mock clock, past the acknowledgement deadline.
    let clock = MockClock::at(base_time() + time::Duration::hours(1));
    let store = store.with_clock(Arc::new(clock));
    let rx = Receiver::start().await;
    store.add_office(&office("wenquan"), None).await.unwrap();
    channel(
        &store,
        Audience::Office(office("wenquan")),
        &format!("{}/office", rx.base),
        "json",
        Some("o"),
    )
    .await;
    channel(
        &store,
        Audience::Supervisors,
        &format!("{}/sup?access_token=tok", rx.base),
        "dingtalk",
        None,
    )
    .await;
    let run = Running::start(&store, config()).await;

    // Routine, but due within 30 minutes.
    let mut late = wenquan_ticket(true);
    late.urgent = false;
    store.record_ticket_opened(&late).await.unwrap();
    // The real escalation, published through the tracker's own outbox.
    assert_eq!(store.escalate_overdue().await.unwrap().len(), 1);
    civicprobe_tracker::outbox::publish_pending(&run.js, &store)
        .await
        .unwrap();
    let subject = |k: &str| ticket_subject(&late.office_id, late.category, k.parse().unwrap());
    run.publish(
        subject("acknowledged"),
        &changed(&late, "acknowledged", None, false),
    )
    .await;
    run.publish(
        subject("rejected"),
        &changed(&late, "rejected", Some("not_a_hazard"), false),
    )
    .await;
    run.publish(
        subject("rejected"),
        &changed(&late, "rejected", Some("not_our_area"), false),
    )
    .await;
    let mut lost = unrouted(CourierId::new());
    lost.urgent = true;
    run.publish(unrouted_subject(lost.category), &lost).await;
    let got = rx.wait_for(4).await;
    run.stop().await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(
        deliveries(&store).await,
        4,
        "nothing for acknowledged or not_a_hazard"
    );
    let office_got = rx.at("/office");
    assert_eq!(office_got.len(), 1, "the office: its escalation only");
    assert_eq!(office_got[0].json()["kind"], "escalated");
    assert_eq!(office_got[0].json()["reason"], "acknowledge");
    let kinds: Vec<String> = rx
        .at("/sup")
        .iter()
        .map(|r| r.json()["markdown"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.iter().any(|t| t.contains("超时督办")), "{kinds:?}");
    assert!(kinds.iter().any(|t| t.contains("非本辖区")), "{kinds:?}");
    assert!(kinds.iter().any(|t| t.contains("未分派")), "{kinds:?}");
}

async fn merges_triage_and_reroutes_alert_when_urgent(kind: &str) {
    let (_db, store) = store(kind).await;
    let rx = Receiver::start().await;
    for o in ["wenquan", "fushan"] {
        store.add_office(&office(o), None).await.unwrap();
        channel(
            &store,
            Audience::Office(office(o)),
            &format!("{}/{o}", rx.base),
            "json",
            Some("s"),
        )
        .await;
    }
    let run = Running::start(&store, config()).await;
    let urgent = wenquan_ticket(true);
    let routine = wenquan_ticket(false);
    store.record_ticket_opened(&urgent).await.unwrap();
    store.record_ticket_opened(&routine).await.unwrap();
    let on = |t: &civicprobe_model::TicketOpened, k: &str| {
        ticket_subject(&t.office_id, t.category, k.parse().unwrap())
    };
    // Into an urgent ticket: alerts. A routine duplicate of a routine one: nothing.
    let into_urgent = merged(&urgent, CourierId::new(), false);
    run.publish(on(&urgent, "merged"), &into_urgent).await;
    run.publish(
        on(&routine, "merged"),
        &merged(&routine, CourierId::new(), false),
    )
    .await;
    // An urgent duplicate of the routine ticket: alerts.
    let mut urgent_dup = merged(&routine, CourierId::new(), false);
    urgent_dup.urgent = true;
    run.publish(on(&routine, "merged"), &urgent_dup).await;
    // Triage to routine: nothing; to urgent: alerts. A reroute of an urgent ticket alerts the new office.
    run.publish(
        on(&routine, "triaged"),
        &changed(&routine, "triaged", None, false),
    )
    .await;
    let mut triaged = changed(&routine, "triaged", None, true);
    triaged.event_id = EventId::new();
    run.publish(on(&routine, "triaged"), &triaged).await;
    let mut moved = changed(&urgent, "rerouted", None, true);
    moved.office_id = office("fushan");
    moved.from_office = Some(office("wenquan"));
    run.publish(
        ticket_subject(
            &moved.office_id,
            moved.category,
            civicprobe_model::EventKind::Rerouted,
        ),
        &moved,
    )
    .await;
    let got = rx.wait_for(4).await;
    run.stop().await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(deliveries(&store).await, 4);
    let kinds: Vec<(String, String)> = rx
        .at("/wenquan")
        .iter()
        .map(|r| {
            (
                r.json()["kind"].as_str().unwrap().to_owned(),
                r.json()["report_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("merged".into(), into_urgent.report.report_id.to_string())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("merged".into(), urgent_dup.report.report_id.to_string())),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|(k, _)| k == "triaged"), "{kinds:?}");
    let fushan = rx.at("/fushan");
    assert_eq!(fushan.len(), 1);
    assert_eq!(fushan[0].json()["kind"], "rerouted");
    assert_eq!(fushan[0].json()["office_id"], "fushan");
}
