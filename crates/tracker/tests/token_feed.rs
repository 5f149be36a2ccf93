//! The `TOKENS` stream keeps what ingests need and no more: a revoked
//! token's tombstone is published, and purged once old, but never while no
//! live credential would remain (an empty stream reads as lost, and an
//! ingest then keeps its local copy). Real NATS, both databases.

mod common;

use civicprobe_model::nats::TOKENS_STREAM;
use civicprobe_tracker::identity::feed::{publish_changes, purge_tombstones, read_back, Published};
use common::store;
use std::time::Duration;

async fn messages(js: &async_nats::jetstream::Context) -> u64 {
    let mut stream = js.get_stream(TOKENS_STREAM).await.expect("TOKENS");
    stream.info().await.expect("info").state.messages
}

async fn old_tombstones_are_purged_while_a_credential_lives(kind: &str) {
    let (_db, store) = store(kind).await;
    let nats = civicprobe_testkit::NatsServer::start().expect("nats");
    let (_client, js) = nats.connect().await.expect("connect");
    let stream = civicprobe_tracker::ensure_tokens_stream(&js, 1)
        .await
        .expect("TOKENS");
    let first = store.issue_courier("Li Wei", None).await.expect("courier");
    let mut published = Published::new();
    assert_eq!(
        publish_changes(&js, &store, &mut published).await.unwrap(),
        1
    );

    // Revoked: the grant becomes a tombstone on the stream.
    store.revoke_token(&first.token_id).await.expect("revoke");
    assert_eq!(
        publish_changes(&js, &store, &mut published).await.unwrap(),
        1
    );
    let held = read_back(&stream).await.expect("read back");
    assert_eq!(held.len(), 1);
    assert!(held.values().all(|h| h.grant.is_none()), "{held:?}");

    // Old, but the only message: purging it would empty the stream.
    let purged = purge_tombstones(&stream, &mut published, Duration::ZERO)
        .await
        .expect("purge");
    assert_eq!(purged, 0);
    assert_eq!(messages(&js).await, 1);

    // With a live credential beside it, a young tombstone stays ...
    store.issue_courier("Wu Fang", None).await.expect("courier");
    assert_eq!(
        publish_changes(&js, &store, &mut published).await.unwrap(),
        1
    );
    let kept = civicprobe_tracker::identity::feed::TOMBSTONE_KEPT;
    let purged = purge_tombstones(&stream, &mut published, kept)
        .await
        .expect("purge");
    assert_eq!(purged, 0);
    assert_eq!(messages(&js).await, 2);

    // ... and an old one goes, from the stream and from what the feed
    // believes it holds (so it is not re-read, nor published again).
    let mut from_stream = read_back(&stream).await.expect("read back");
    let purged = purge_tombstones(&stream, &mut from_stream, Duration::ZERO)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(messages(&js).await, 1);
    assert_eq!(from_stream.len(), 1);
    assert!(from_stream.values().all(|h| h.grant.is_some()));
    assert_eq!(
        publish_changes(&js, &store, &mut from_stream)
            .await
            .unwrap(),
        0
    );
    assert_eq!(read_back(&stream).await.expect("read back"), from_stream);
}

civicprobe_testkit::on_both_databases!(old_tombstones_are_purged_while_a_credential_lives);
