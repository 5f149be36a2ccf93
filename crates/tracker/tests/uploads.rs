//! Photos a split ingest announced on `UPLOADS` are recorded only in
//! scope, and a resolve faster than the consumer finds them on the stream.
//! Real NATS, both databases.

mod common;

use civicprobe_model::nats::{UPLOADS_STREAM, UPLOAD_SUBJECTS};
use civicprobe_model::{PhotoUploaded, Principal, TicketAction, UploadKind};
use common::{actors, open_ticket, store, wenquan_acknowledges};

fn upload(
    ticket: civicprobe_model::TicketId,
    sha: char,
    who: &Principal,
    kind: UploadKind,
) -> PhotoUploaded {
    PhotoUploaded {
        ticket_id: ticket,
        sha256: sha.to_string().repeat(64).parse().unwrap(),
        uploader: who.clone(),
        uploaded_at: common::base_time(),
        kind,
    }
}

fn verification() -> UploadKind {
    UploadKind::Verification {
        thumbnail_sha256: None,
        taken_at: None,
        gps: None,
        phash: Some("00ff00ff00ff00ff".parse().expect("a photo hash")),
    }
}

async fn uploads_are_recorded_in_scope_only(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let who = |token: String| {
        let store = store.clone();
        async move { store.authenticate(&token).await.unwrap().expect("holder") }
    };
    let (wenquan, fushan, courier) = (
        who(a.wenquan).await,
        who(a.fushan).await,
        who(a.courier).await,
    );
    let ticket = open_ticket(&store, "wenquan", a.courier_id).await.ticket_id;

    // Proof: another office's is dropped; the ticket's own is recorded.
    let theirs = upload(ticket, 'a', &fushan, UploadKind::Proof);
    assert!(!store.record_upload(&theirs).await.unwrap());
    assert!(!store
        .proof_photo_uploaded(ticket, theirs.sha256)
        .await
        .unwrap());
    let ours = upload(ticket, 'b', &wenquan, UploadKind::Proof);
    assert!(store.record_upload(&ours).await.unwrap());
    assert!(store
        .proof_photo_uploaded(ticket, ours.sha256)
        .await
        .unwrap());
    assert!(!store
        .record_upload(&upload(ticket, 'c', &courier, UploadKind::Proof))
        .await
        .unwrap());

    // Verification: a courier's, only while the ticket is resolved.
    let early = upload(ticket, 'd', &courier, verification());
    assert!(!store.record_upload(&early).await.unwrap());
    let current = store.ticket(ticket).await.unwrap().expect("ticket");
    let current = store
        .apply(&current, &wenquan_acknowledges(common::base_time()))
        .await
        .unwrap();
    let mut resolve = wenquan_acknowledges(common::base_time());
    resolve.action = TicketAction::Resolve;
    store.apply(&current, &resolve).await.unwrap();
    assert!(!store
        .record_upload(&upload(ticket, 'e', &wenquan, verification()))
        .await
        .unwrap());
    let checked = upload(ticket, 'f', &courier, verification());
    assert!(store.record_upload(&checked).await.unwrap());
    let kept = store
        .verification_photo(ticket, a.courier_id, checked.sha256)
        .await
        .unwrap();
    assert_eq!(
        kept.expect("recorded")
            .phash
            .map(|h| h.to_string())
            .as_deref(),
        Some("00ff00ff00ff00ff")
    );
}

async fn an_unrecorded_upload_is_found_on_the_stream(kind: &str) {
    let (_db, store) = store(kind).await;
    let nats = civicprobe_testkit::NatsServer::start().expect("nats");
    let (_client, js) = nats.connect().await.expect("connect");
    js.create_stream(async_nats::jetstream::stream::Config {
        name: UPLOADS_STREAM.into(),
        subjects: vec![UPLOAD_SUBJECTS.into()],
        ..Default::default()
    })
    .await
    .expect("UPLOADS");
    let a = actors(&store).await;
    let wenquan = store
        .authenticate(&a.wenquan)
        .await
        .unwrap()
        .expect("office");
    let ticket = open_ticket(&store, "wenquan", a.courier_id).await.ticket_id;
    let ours = upload(ticket, 'b', &wenquan, UploadKind::Proof);
    js.publish(ours.subject(), serde_json::to_vec(&ours).unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap();

    let proof = civicprobe_model::nats::PROOF_UPLOAD;
    // Without the stream configured, nothing is looked up.
    assert!(!store
        .catch_up_upload(proof, ticket, ours.sha256)
        .await
        .unwrap());
    let store = store.with_uploads(js);
    let missing = civicprobe_model::Sha256::from([0x99; 32]);
    assert!(!store.catch_up_upload(proof, ticket, missing).await.unwrap());
    assert!(store
        .catch_up_upload(proof, ticket, ours.sha256)
        .await
        .unwrap());
    assert!(store
        .proof_photo_uploaded(ticket, ours.sha256)
        .await
        .unwrap());
}

on_both_databases!(
    uploads_are_recorded_in_scope_only,
    an_unrecorded_upload_is_found_on_the_stream
);
