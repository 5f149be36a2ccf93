//! `--stream-replicas 3` on a real 3-node JetStream cluster: the whole
//! stack (ingest with the NATS photo store, router, tracker) makes every
//! stream and the photo bucket with 3 replicas, and updates an existing
//! R1 stream to 3.

#[path = "common/mod.rs"]
mod common;

use civicprobe::stack::{Stack, StackConfig};
use civicprobe_model::nats::{
    object_store_stream, JetStreamSettings, DEAD_LETTERS_STREAM, PHOTOS_BUCKET, REPORTS_STREAM,
    TICKETS_STREAM,
};
use civicprobe_testkit::NatsCluster;
use std::time::{Duration, Instant};

async fn replicas(js: &async_nats::jetstream::Context, stream: &str) -> Option<usize> {
    let mut stream = js.get_stream(stream).await.ok()?;
    Some(stream.info().await.ok()?.config.num_replicas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_stream_and_the_photo_bucket_get_three_replicas_on_a_cluster() {
    let cluster = NatsCluster::start(3).expect("cluster");
    let (_client, js) = cluster.connect().await.expect("connect");
    // REPORTS as an older version made it: one replica.
    civicprobe_jetstream::ensure_reports_stream(&js, &JetStreamSettings::default())
        .await
        .expect("R1 REPORTS");
    assert_eq!(replicas(&js, REPORTS_STREAM).await, Some(1));

    let data = tempfile::tempdir().expect("tempdir");
    let fixtures = common::repo().join("fixtures");
    let mut config = StackConfig::new(data.path().join("stack"), String::new(), &fixtures);
    config.nats.urls = cluster.urls().split(',').map(str::to_owned).collect();
    config.jetstream = JetStreamSettings {
        replicas: 3,
        ..Default::default()
    };
    config.ingest.storage.photo_store = civicprobe_ingest::PhotoBackendKind::Nats;
    let stack = Stack::start(config).await.expect("stack on the cluster");
    let (_, courier) = stack.store.add_courier("ada").await.expect("courier");
    let photo = civicprobe_testkit::photos::jpeg(640, 480);
    let form = common::report_form((29.84, 114.32), "井盖缺失", photo);
    let answer = common::post_report(&stack.base_url(), &courier, form).await;
    assert_eq!(answer.status(), 202);

    let photos = object_store_stream(PHOTOS_BUCKET);
    let streams = [
        REPORTS_STREAM,
        TICKETS_STREAM,
        civicprobe_router::dedup::claim::CLAIMS_STREAM,
        DEAD_LETTERS_STREAM,
        photos.as_str(),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    for stream in streams {
        // The claims stream and the bucket appear once the report is handled.
        while replicas(&js, stream).await.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(replicas(&js, stream).await, Some(3), "{stream}");
    }
    stack.stop().await.expect("stops");
}
