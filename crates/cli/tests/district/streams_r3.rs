//! TEMPORARY: delete this file (and its one call in `district.rs`) once
//! the services honour CIVICPROBE_STREAM_REPLICAS (issue 14 item 2), which
//! the box's environment file already sets to 3.
//!
//! Until then the services create their streams with one replica, and a
//! killed node would take REPORTS with it; so the test makes the streams
//! and the photo bucket itself, with the services' own functions, and
//! raises them to 3 replicas before any service starts.

use async_nats::jetstream;

/// REPORTS, TICKETS, ROUTER_CLAIMS and the PHOTOS object store, R3.
pub async fn make_streams_r3(js: &jetstream::Context) {
    civicprobe_ingest::ensure_reports_stream(js)
        .await
        .expect("REPORTS");
    civicprobe_router::ensure_tickets_stream(js)
        .await
        .expect("TICKETS");
    civicprobe_router::dedup::claim::ensure_claims_stream(js)
        .await
        .expect("ROUTER_CLAIMS");
    for name in [
        civicprobe_model::nats::REPORTS_STREAM,
        civicprobe_model::nats::TICKETS_STREAM,
        civicprobe_router::dedup::claim::CLAIMS_STREAM,
    ] {
        let mut stream = js.get_stream(name).await.expect("stream");
        let mut config = stream.info().await.expect("info").config.clone();
        config.num_replicas = 3;
        js.update_stream(config).await.expect("3 replicas");
    }
    js.create_object_store(jetstream::object_store::Config {
        bucket: civicprobe_model::nats::PHOTOS_BUCKET.to_owned(),
        storage: jetstream::stream::StorageType::File,
        num_replicas: 3,
        ..Default::default()
    })
    .await
    .expect("PHOTOS, 3 replicas");
}
