//! People, token lifetimes, revocation and web sessions, on both databases.

mod common;

use civicprobe_model::{Actor, Principal, Role};
use civicprobe_tracker::{MockClock, Revocation, SessionPolicy, Store};
use common::{base_time, get, office, open_ticket, post, store};
use std::sync::Arc;
use time::Duration;

on_both_databases!(
    the_history_names_the_person_who_acted,
    tokens_expire,
    revoked_and_rotated_tokens_stop_at_once,
    sessions_end_on_sign_out_when_idle_and_at_max_age,
    revoking_a_token_ends_its_sessions,
    tokens_from_before_persons_keep_working,
);

/// A store on a fresh database whose clock the test moves.
async fn store_with_clock(kind: &str) -> (civicprobe_testkit::TestDb, Store, MockClock) {
    let (db, store) = store(kind).await;
    let clock = MockClock::at(base_time());
    let store = store.with_clock(Arc::new(clock.clone()));
    (db, store, clock)
}

async fn the_history_names_the_person_who_acted(kind: &str) {
    let (_db, store) = store(kind).await;
    let wenquan = office("wenquan");
    let wang = store
        .issue_office(&wenquan, Some("温泉"), "Wang Fang", None)
        .await
        .unwrap();
    let li = store
        .issue_office(&wenquan, None, "Li Na", None)
        .await
        .unwrap();
    let zhang = store.issue_supervisor("Zhang Min", None).await.unwrap();
    assert_ne!(wang.principal.actor(), li.principal.actor());
    let Principal::Office { office_id, person } = &wang.principal else {
        panic!("not office staff: {:?}", wang.principal);
    };
    assert_eq!(office_id, &wenquan);
    assert_eq!(person.name, "Wang Fang");
    assert_eq!(
        store.authenticate(&wang.token).await.unwrap().as_ref(),
        Some(&wang.principal)
    );

    let (courier, _) = store.add_courier("Ada").await.unwrap();
    let ticket = open_ticket(&store, "wenquan", courier).await.ticket_id;
    let uri = format!("/v1/tickets/{ticket}");
    let r = post(&store, &format!("{uri}/acknowledge"), &wang.token, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(&store, &format!("{uri}/start"), &zhang.token, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&store, &uri, &li.token).await;
    let ack = &r.body["events"][1];
    assert_eq!(ack["kind"], "acknowledged");
    assert_eq!(ack["actor"], wang.principal.actor());
    assert_eq!(ack["actor_name"], "Wang Fang");
    assert_eq!(
        Actor::parse(ack["actor"].as_str().unwrap()),
        Actor::Office {
            office_id: wenquan,
            person_id: Some(person.person_id)
        }
    );
    let start = &r.body["events"][2];
    assert_eq!(start["actor"], zhang.principal.actor());
    assert_eq!(start["actor_name"], "Zhang Min");
    // The router's opening has no person behind it.
    assert!(r.body["events"][0].get("actor_name").is_none());
}

async fn tokens_expire(kind: &str) {
    let (_db, store, clock) = store_with_clock(kind).await;
    let short = store
        .issue_supervisor("Zhang Min", Some(Duration::days(2)))
        .await
        .unwrap();
    let default = store.issue_courier("Ada", None).await.unwrap();
    let staff = store
        .issue_office(&office("fushan"), None, "Chen Jie", None)
        .await
        .unwrap();
    assert_eq!(short.expires_at, base_time() + Duration::days(2));
    assert_eq!(default.expires_at, base_time() + Duration::days(365));
    assert_eq!(staff.expires_at, base_time() + Duration::days(90));

    clock.advance(Duration::days(2) - Duration::seconds(1));
    assert!(store.authenticate(&short.token).await.unwrap().is_some());
    clock.advance(Duration::seconds(1));
    assert_eq!(store.authenticate(&short.token).await.unwrap(), None);
    let r = get(&store, "/v1/audit/overdue", &short.token).await;
    assert_eq!(r.status, 401);
    clock.advance(Duration::days(88));
    assert_eq!(store.authenticate(&staff.token).await.unwrap(), None);
    assert!(store.authenticate(&default.token).await.unwrap().is_some());
}

async fn revoked_and_rotated_tokens_stop_at_once(kind: &str) {
    let (_db, store, clock) = store_with_clock(kind).await;
    let wang = store
        .issue_office(&office("wenquan"), None, "Wang Fang", None)
        .await
        .unwrap();
    let ada = store.issue_courier("Ada", None).await.unwrap();
    assert!(store.authenticate(&ada.token).await.unwrap().is_some());
    clock.advance(Duration::minutes(5));
    assert!(store.authenticate(&wang.token).await.unwrap().is_some());

    let listed = store.tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    let entry = listed.iter().find(|t| t.token_id == wang.token_id).unwrap();
    assert_eq!(
        (entry.role(), entry.holder_name()),
        (Role::Office, "Wang Fang")
    );
    assert_eq!(entry.last_used_at, Some(base_time() + Duration::minutes(5)));
    assert_eq!(entry.revoked_at, None);

    assert_eq!(
        store.revoke_token(&ada.token_id).await.unwrap(),
        Revocation::Revoked
    );
    assert_eq!(store.authenticate(&ada.token).await.unwrap(), None);
    assert_eq!(
        store.revoke_token(&ada.token_id).await.unwrap(),
        Revocation::AlreadyRevoked
    );
    assert_eq!(
        store.revoke_token("0000000000000000").await.unwrap(),
        Revocation::NotFound
    );

    let rotated = store
        .rotate_token(&wang.token_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(rotated.token, wang.token);
    assert_ne!(rotated.token_id, wang.token_id);
    assert_eq!(rotated.principal, wang.principal, "the same person");
    assert_eq!(store.authenticate(&wang.token).await.unwrap(), None);
    assert_eq!(
        store.authenticate(&rotated.token).await.unwrap(),
        Some(wang.principal.clone())
    );
    assert!(store
        .rotate_token(&wang.token_id, None)
        .await
        .unwrap()
        .is_none());
    let revoked = store.tokens().await.unwrap();
    let old = revoked
        .iter()
        .find(|t| t.token_id == wang.token_id)
        .unwrap();
    assert_eq!(old.revoked_at, Some(base_time() + Duration::minutes(5)));
}

/// An idle limit of 30 minutes and at most 2 hours.
const POLICY: SessionPolicy = SessionPolicy {
    idle: Duration::minutes(30),
    max_age: Duration::hours(2),
};

async fn sessions_end_on_sign_out_when_idle_and_at_max_age(kind: &str) {
    let (_db, store, clock) = store_with_clock(kind).await;
    let zhang = store.issue_supervisor("Zhang Min", None).await.unwrap();
    let (session, who) = store
        .create_session(&zhang.token, POLICY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(who, zhang.principal);
    assert!(session.starts_with("cps_") && !session.contains(&zhang.token));
    assert_eq!(
        store.authenticate(&session).await.unwrap(),
        Some(who.clone())
    );
    let r = get(&store, "/v1/audit/overdue", &session).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A session cannot start another one (that would outlive max_age).
    assert_eq!(store.create_session(&session, POLICY).await.unwrap(), None);

    // Busy: every 29 minutes a request keeps it alive, until 2 hours.
    for _ in 0..4 {
        clock.advance(Duration::minutes(29));
        assert!(store.authenticate(&session).await.unwrap().is_some());
    }
    clock.advance(Duration::minutes(4));
    assert_eq!(store.authenticate(&session).await.unwrap(), None, "max age");

    // Idle: 30 minutes without a request.
    let (idle, _) = store
        .create_session(&zhang.token, POLICY)
        .await
        .unwrap()
        .unwrap();
    clock.advance(Duration::minutes(29));
    assert!(store.authenticate(&idle).await.unwrap().is_some());
    clock.advance(Duration::minutes(30));
    assert_eq!(store.authenticate(&idle).await.unwrap(), None, "idle");

    // Signed out: gone at once, the token itself still works.
    let (out, _) = store
        .create_session(&zhang.token, POLICY)
        .await
        .unwrap()
        .unwrap();
    assert!(store.end_session(&out).await.unwrap());
    assert_eq!(store.authenticate(&out).await.unwrap(), None);
    assert!(!store.end_session(&out).await.unwrap());
    assert!(store.authenticate(&zhang.token).await.unwrap().is_some());
}

async fn revoking_a_token_ends_its_sessions(kind: &str) {
    let (_db, store) = store(kind).await;
    let wang = store
        .issue_office(&office("wenquan"), None, "Wang Fang", None)
        .await
        .unwrap();
    let li = store
        .issue_office(&office("wenquan"), None, "Li Na", None)
        .await
        .unwrap();
    let (a, _) = store
        .create_session(&wang.token, POLICY)
        .await
        .unwrap()
        .unwrap();
    let (b, _) = store
        .create_session(&li.token, POLICY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.session_count(&wang.token_id).await.unwrap(), 1);
    store.revoke_token(&wang.token_id).await.unwrap();
    assert_eq!(store.authenticate(&a).await.unwrap(), None);
    assert_eq!(store.session_count(&wang.token_id).await.unwrap(), 0);
    assert!(
        store.authenticate(&b).await.unwrap().is_some(),
        "others stay"
    );
    let rotated = store
        .rotate_token(&li.token_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.authenticate(&b).await.unwrap(), None);
    assert_eq!(
        store.create_session(&wang.token, POLICY).await.unwrap(),
        None
    );
    assert!(store
        .create_session(&rotated.token, POLICY)
        .await
        .unwrap()
        .is_some());
}

/// A database made by migrations 0001–0005 with a shared office token and
/// a supervisor token, then opened by this version.
async fn tokens_from_before_persons_keep_working(kind: &str) {
    civicprobe_testkit::init_tracing();
    let db = civicprobe_testkit::TestDb::of_kind(kind).await.unwrap();
    let old = tempfile::tempdir().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(kind);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0006" {
            std::fs::copy(&path, old.path().join(name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(db.url()).await.unwrap();
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    migrator.run(&pool).await.unwrap();
    let (office_token, supervisor_token) = ("a".repeat(64), "b".repeat(64));
    for (token, role, subject, name) in [
        (&office_token, "office", "wenquan", "温泉"),
        (&supervisor_token, "supervisor", "zhang", "zhang"),
    ] {
        sqlx::query(
            "INSERT INTO tokens (token_hash, role, subject, name, created_at) \
             VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            token.as_bytes(),
        )))
        .bind(role)
        .bind(subject)
        .bind(name)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = Store::connect(db.url()).await.unwrap();
    let staff = store.authenticate(&office_token).await.unwrap().unwrap();
    let Principal::Office { office_id, person } = &staff else {
        panic!("not office staff: {staff:?}");
    };
    assert_eq!((office_id.as_str(), person.name.as_str()), ("wenquan", ""));
    assert!(matches!(
        Actor::parse(&staff.actor()),
        Actor::Office {
            person_id: Some(_),
            ..
        }
    ));
    let boss = store
        .authenticate(&supervisor_token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(boss.person().unwrap().name, "zhang");
    assert_ne!(staff.person(), boss.person());
    // Both got an id and an expiry, and can be revoked like any other.
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .all(|t| t.token_id.len() == 16 && t.expires_at.is_some()));
    let id = &listed
        .iter()
        .find(|t| t.role() == Role::Office)
        .unwrap()
        .token_id;
    assert_eq!(store.revoke_token(id).await.unwrap(), Revocation::Revoked);
    assert_eq!(store.authenticate(&office_token).await.unwrap(), None);
}
