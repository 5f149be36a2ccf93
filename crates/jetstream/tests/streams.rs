//! Replicas from configuration, on a real 3-node JetStream cluster and on
//! a single server.

use async_nats::jetstream::{object_store, stream};
use civicprobe_jetstream::{ensure_object_store, ensure_stream, Error, JetStreamSettings};
use civicprobe_model::nats::object_store_stream;
use civicprobe_testkit::{NatsCluster, NatsServer};

type Result<T = ()> = anyhow::Result<T>;

fn replicas(n: usize) -> JetStreamSettings {
    JetStreamSettings {
        replicas: n,
        ..Default::default()
    }
}

fn config(name: &str) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("test.{}.>", name.to_lowercase())],
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

async fn replicas_of(js: &async_nats::jetstream::Context, name: &str) -> Result<usize> {
    Ok(js.get_stream(name).await?.info().await?.config.num_replicas)
}

#[tokio::test]
async fn on_a_cluster_streams_and_object_stores_get_the_configured_replicas() -> Result {
    let cluster = NatsCluster::start(3)?;
    let (_client, js) = cluster.connect().await?;

    let made = ensure_stream(&js, config("FRESH"), &replicas(3)).await?;
    assert_eq!(made.config.num_replicas, 3);
    assert_eq!(replicas_of(&js, "FRESH").await?, 3);

    // An existing R1 stream (as every stream was created before) is
    // updated, and keeps its messages.
    ensure_stream(&js, config("OLD"), &replicas(1)).await?;
    assert_eq!(replicas_of(&js, "OLD").await?, 1);
    js.publish("test.old.a", "kept".into()).await?.await?;
    let updated = ensure_stream(&js, config("OLD"), &replicas(3)).await?;
    assert_eq!(updated.config.num_replicas, 3);
    assert_eq!(replicas_of(&js, "OLD").await?, 3);
    let mut old = js.get_stream("OLD").await?;
    assert_eq!(old.info().await?.state.messages, 1);
    assert_eq!(&old.get_raw_message(1).await?.payload[..], b"kept");

    let bucket = object_store::Config {
        bucket: "PICS".to_owned(),
        storage: stream::StorageType::File,
        ..Default::default()
    };
    let store = ensure_object_store(&js, bucket.clone(), &replicas(3)).await?;
    store.put("a", &mut &b"photo"[..]).await?;
    assert_eq!(replicas_of(&js, &object_store_stream("PICS")).await?, 3);
    // Idempotent, and an R1 bucket is updated too.
    ensure_object_store(&js, bucket.clone(), &replicas(3)).await?;
    let r1 = object_store::Config {
        bucket: "OLDPICS".to_owned(),
        ..bucket
    };
    ensure_object_store(&js, r1.clone(), &replicas(1)).await?;
    ensure_object_store(&js, r1, &replicas(3)).await?;
    assert_eq!(replicas_of(&js, &object_store_stream("OLDPICS")).await?, 3);
    Ok(())
}

#[tokio::test]
async fn three_replicas_on_a_single_server_is_a_clear_error() -> Result {
    let server = NatsServer::start()?;
    let (_client, js) = server.connect().await?;
    let error = ensure_stream(&js, config("SOLO"), &replicas(3))
        .await
        .expect_err("a single server holds one replica");
    assert!(
        matches!(error, Error::Replicas { replicas: 3, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("stream SOLO") && text.contains("3 replicas"),
        "{text}"
    );

    // Nor may an existing R1 stream be raised to 3 there.
    ensure_stream(&js, config("SOLO"), &replicas(1)).await?;
    let error = ensure_stream(&js, config("SOLO"), &replicas(3))
        .await
        .expect_err("update refused");
    assert!(matches!(error, Error::Replicas { .. }), "{error:?}");
    assert_eq!(replicas_of(&js, "SOLO").await?, 1);
    Ok(())
}
