//! A rewritten or truncated chain, which passes the walk and the
//! figures, caught by the signed head on ANCHORS; a head signed by another
//! key refused.

use super::*;

/// A NATS with the district's key and the heads it published.
struct Anchored {
    nats_url: String,
    _nats: NatsServer,
    _dir: tempfile::TempDir,
    args: AnchorArgs,
}

/// Starts NATS, makes a key and publishes the current head with
/// `audit anchor --publish`; returns the printed head's sequence.
async fn anchored(store: &Store) -> (Anchored, i64) {
    let nats = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("district.key");
    let public = civicprobe_tracker::anchor::generate_key_file(&key).unwrap();
    let args = AnchorArgs {
        anchor_key: Some(key),
        anchor_public_key: Some(public),
        nats: civicprobe_tracker::cli::NatsConnect::url(nats.url()),
        stream_replicas: 1,
    };
    let publish = AuditArgs {
        command: Some(AuditCommand::Anchor { publish: true }),
        anchor: args.clone(),
        ..AuditArgs::default()
    };
    let mut out = Vec::new();
    run_with_store(&publish, store, &mut out).await.unwrap();
    let head: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let anchored = Anchored {
        nats_url: nats.url(),
        _nats: nats,
        _dir: dir,
        args,
    };
    (anchored, head["chain_seq"].as_i64().unwrap())
}

/// Recomputes every row's hash from the genesis and the head, as the
/// chain's documented rule says (the insider read the source).
async fn rehash_everything(store: &Store) {
    let rows = sqlx::query(
        "SELECT chain_seq, event_id, ticket_id, seq, kind, actor, role, at, reason, note, \
         office_id, from_office, proof_photo_sha256, terms FROM ticket_events ORDER BY chain_seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut prev = "0".repeat(64);
    let mut last_seq = 0_i64;
    for row in &rows {
        let s = |c: &str| row.try_get::<Option<String>, _>(c).unwrap();
        let n = |c: &str| row.try_get::<i64, _>(c).unwrap();
        let content = serde_json::json!([
            n("chain_seq"),
            s("event_id"),
            s("ticket_id"),
            n("seq"),
            s("kind"),
            s("actor"),
            s("role"),
            n("at"),
            s("reason"),
            s("note"),
            s("office_id"),
            s("from_office"),
            s("proof_photo_sha256"),
        ]);
        let content = match (s("terms"), content) {
            (Some(terms), serde_json::Value::Array(mut columns)) => {
                columns.push(terms.into());
                serde_json::Value::Array(columns).to_string()
            }
            (_, content) => content.to_string(),
        };
        let mut hasher = Sha256::new();
        hasher.update(prev.as_bytes());
        hasher.update(content.as_bytes());
        prev = hex::encode(hasher.finalize());
        last_seq = n("chain_seq");
        let sql = format!(
            "UPDATE ticket_events SET hash = '{prev}' WHERE event_id = '{}'",
            s("event_id").unwrap()
        );
        exec(store, &sql).await;
    }
    let head =
        format!("UPDATE event_chain SET last_seq = {last_seq}, last_hash = '{prev}' WHERE id = 1");
    exec(store, &head).await;
}

pub(super) async fn a_rewritten_chain_is_caught_by_the_anchor(kind: &str) {
    let (_db, store) = store(kind).await;
    let ids = history(&store).await;
    let (anchor, seq) = anchored(&store).await;
    assert_eq!(seq, store.chain_head().await.unwrap().0);
    let (text, ok) = verify_text(&store, anchor.args.clone()).await;
    assert!(ok && text.contains("anchor holds"), "{text}");
    // The tracker's own check, with the district's public key.
    let supervisor = actors(&store).await.supervisor;
    let key = civicprobe_tracker::anchor::parse_public_key(
        anchor.args.anchor_public_key.as_deref().unwrap(),
    )
    .unwrap();
    let client = async_nats::connect(&anchor.nats_url).await.unwrap();
    let held = store
        .clone()
        .with_anchor(key, async_nats::jetstream::new(client));
    let reply = get(&held, "/v1/audit/verify", &supervisor).await;
    assert_eq!(reply.body["anchor"]["status"], "holds", "{}", reply.body);
    assert_eq!(reply.body["intact"], true, "{}", reply.body);

    disable_append_only(&store, kind).await;
    let ack = base_time() + Duration::seconds(2);
    let ack_ms = (ack.unix_timestamp_nanos() / 1_000_000) as i64;
    exec(&store, &format!("UPDATE ticket_events SET at = {ack_ms} WHERE ticket_id = '{}' AND kind = 'acknowledged'", ids[0])).await;
    exec(
        &store,
        &format!(
            "UPDATE tickets SET acknowledged_at = {ack_ms} WHERE ticket_id = '{}'",
            ids[0]
        ),
    )
    .await;
    rehash_everything(&store).await;
    assert!(
        store.verify_chain().await.unwrap().is_intact(),
        "the rewrite is consistent"
    );
    assert_eq!(store.verify_figures().await.unwrap(), vec![]);

    let (text, ok) = verify_text(&store, anchor.args.clone()).await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("anchor BROKEN") && text.contains("rewritten"),
        "{text}"
    );
    assert!(text.contains(&format!("row {seq} has hash")), "{text}");
    let reply = get(&held, "/v1/audit/verify", &supervisor).await;
    assert_eq!(reply.body["anchor"]["status"], "broken", "{}", reply.body);
    assert!(
        reply.body["anchor"]["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("rewritten"),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["intact"], false, "{}", reply.body);
}

pub(super) async fn a_truncated_chain_is_caught_by_the_anchor(kind: &str) {
    let (_db, store) = store(kind).await;
    let ids = history(&store).await;
    let (anchor, seq) = anchored(&store).await;
    disable_append_only(&store, kind).await;
    // The last ticket's only event goes, with the ticket, and the head is
    // set back: the walk and the figures see a shorter, consistent chain.
    exec(
        &store,
        &format!("DELETE FROM ticket_events WHERE ticket_id = '{}'", ids[3]),
    )
    .await;
    exec(
        &store,
        &format!(
            "DELETE FROM ticket_reporters WHERE ticket_id = '{}'",
            ids[3]
        ),
    )
    .await;
    exec(
        &store,
        &format!("DELETE FROM tickets WHERE ticket_id = '{}'", ids[3]),
    )
    .await;
    rehash_everything(&store).await;
    assert!(store.verify_chain().await.unwrap().is_intact());
    assert_eq!(store.chain_head().await.unwrap().0, seq - 1);

    let (text, ok) = verify_text(&store, anchor.args.clone()).await;
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "row {seq} was anchored but the chain ends at row {}",
            seq - 1
        )),
        "{text}"
    );
}

pub(super) async fn a_head_signed_by_another_key_is_refused(kind: &str) {
    let (_db, store) = store(kind).await;
    history(&store).await;
    let (anchor, _) = anchored(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let other = civicprobe_tracker::anchor::generate_key_file(&dir.path().join("k")).unwrap();
    let args = AnchorArgs {
        anchor_public_key: Some(other),
        ..anchor.args.clone()
    };
    let (text, ok) = verify_text(&store, args).await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("not signed with the district's key"),
        "{text}"
    );
}
