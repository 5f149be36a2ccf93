//! `civicprobe ingest --photo-store nats` accepts reports with photos
//! while NATS is away: a report's photos wait in `<data_dir>/photo-spool`
//! (always: the request never waits on NATS), and they are uploaded to the
//! `PHOTOS` bucket, with the report's photo index, before the report
//! reaches `REPORTS`. Separate processes of the built binary on a
//! real nats-server (down when ingest starts, also across an ingest
//! restart; stopped under a running ingest; or with a full bucket) and a
//! tracker on a real SQLite database, whose courier ingest learns from
//! `TOKENS` and keeps in its local copy before NATS goes away.

mod common;
#[path = "common/services.rs"]
mod services;

use async_nats::jetstream;
use civicprobe_ingest::CredentialDirectory;
use civicprobe_model::nats::{PHOTOS_BUCKET, PHOTOS_STREAM, REPORTS_STREAM};
use civicprobe_model::{ReportId, ReportSubmitted};
use civicprobe_testkit::{photos, NatsServer, TestDb};
use common::{admin_on, post_report, report_form};
use services::{eventually, Service};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How long NATS may take to be back and the backlog to drain.
const SOON: Duration = Duration::from_secs(60);

/// `civicprobe <command>` on `nats` with its photos in the bucket.
fn service(command: &'static str, nats: &NatsServer, data: &Path, extra: &[&str]) -> Service {
    let mut args: Vec<OsString> = vec![
        "--nats-url".into(),
        nats.url().into(),
        "--data-dir".into(),
        data.as_os_str().to_owned(),
        "--photo-store".into(),
        "nats".into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    Service::start(command, args)
}

/// A courier issued on the tracker's database, and an ingest (on
/// `ingest_data`) that has learned it from `TOKENS` and keeps it in its
/// local copy; the tracker, to keep running or stop.
async fn known_courier(
    nats: &NatsServer,
    db: &TestDb,
    data: &Path,
    ingest_extra: &[&str],
) -> (String, Service, Service) {
    let tracker_data = data.join("tracker");
    std::fs::create_dir_all(&tracker_data).expect("tracker data");
    let tracker = service(
        "tracker",
        nats,
        &tracker_data,
        &["--database-url", db.url()],
    );
    let courier = admin_on(db.url(), &tracker_data, &["courier", "add", "Li Wei"]);
    let ingest_data = data.join("ingest");
    let ingest = service("ingest", nats, &ingest_data, ingest_extra);
    eventually("the courier in ingest's local copy", SOON, || async {
        match CredentialDirectory::open(&ingest_data).principal(&courier) {
            Some(_) => Ok(()),
            None => Err("not yet".to_owned()),
        }
    })
    .await;
    (courier, tracker, ingest)
}

/// Submits a report with a fresh photo (`seed` makes it differ); 202 asserted.
async fn submit(ingest: &Service, courier: &str, seed: u32) -> ReportId {
    let base = format!("http://127.0.0.1:{}", ingest.port);
    let form = report_form(
        (29.8413, 114.3225),
        "井盖缺失 manhole cover missing",
        photos::jpeg(64 + seed, 48),
    );
    let answer = post_report(&base, courier, form).await;
    assert_eq!(answer.status(), 202, "accepted with the bucket away");
    let body: serde_json::Value = answer.json().await.expect("json");
    body["report_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a report id")
}

/// The files waiting in ingest's photo spool.
fn spooled(data: &Path) -> usize {
    let Ok(folders) = std::fs::read_dir(data.join("photo-spool")) else {
        return 0;
    };
    folders
        .flat_map(|f| std::fs::read_dir(f.expect("folder").path()).expect("read"))
        .filter(|f| {
            !f.as_ref()
                .expect("file")
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count()
}

/// The bytes of object `name` in the `PHOTOS` bucket, if it is there.
async fn object(js: &jetstream::Context, name: &str) -> Option<Vec<u8>> {
    let bucket = js.get_object_store(PHOTOS_BUCKET).await.ok()?;
    let mut object = bucket.get(name).await.ok()?;
    let mut bytes = Vec::new();
    object.read_to_end(&mut bytes).await.expect("read object");
    Some(bytes)
}

/// Waits until `REPORTS` holds message `seq` (the report `want`), then
/// asserts at once that the bucket already has each of its photos and
/// thumbnails (content-addressed: the bytes hash to their name).
async fn published_after_its_photos(js: &jetstream::Context, seq: u64, want: ReportId) {
    let message = eventually("the report published", SOON, || async {
        let stream = js
            .get_stream(REPORTS_STREAM)
            .await
            .map_err(|e| e.to_string())?;
        stream.get_raw_message(seq).await.map_err(|e| e.to_string())
    })
    .await;
    let report: ReportSubmitted = serde_json::from_slice(&message.payload).expect("a report");
    assert_eq!(report.report_id, want);
    assert!(!report.photos.is_empty());
    for photo in &report.photos {
        let names = [Some(&photo.sha256), photo.thumbnail_sha256.as_ref()];
        for name in names.into_iter().flatten() {
            let bytes = object(js, &name.to_string())
                .await
                .unwrap_or_else(|| panic!("{name} not in the bucket when its report was"));
            assert_eq!(&civicprobe_model::Sha256::of(&bytes), name);
        }
    }
}

/// `civicprobe_ingest_photo_spool` on ingest's ops listener `ops`.
async fn spool_gauge(ops: &str) -> Option<f64> {
    let text = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with("civicprobe_ingest_photo_spool"))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// Waits until the spool is empty and the report's photo index is shared.
async fn spool_emptied(js: &jetstream::Context, data: &Path, report: ReportId) {
    eventually("the spool emptied", SOON, || async {
        match (spooled(data), object(js, &format!("report-{report}")).await) {
            (0, Some(_)) => Ok(()),
            (n, index) => Err(format!("{n} spooled, index {index:?}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_photos_when_started_while_nats_is_down() {
    let db = TestDb::sqlite().expect("database");
    let mut nats = NatsServer::start().expect("nats-server");
    let data = tempfile::tempdir().expect("tempdir");
    let (courier, tracker, ingest) = known_courier(&nats, &db, data.path(), &[]).await;
    drop((ingest, tracker));
    nats.stop();

    // Started with NATS down: the bucket was never made.
    let ingest_data = data.path().join("ingest");
    let mut ingest = service("ingest", &nats, &ingest_data, &["--drain-secs", "1"]);
    let report = submit(&ingest, &courier, 0).await;
    // The photo and its thumbnail (the index is written from the report
    // when it is published).
    assert_eq!(spooled(&ingest_data), 2, "spooled while NATS is down");
    // Stopped and started again, NATS still down: the spool is on disk.
    ingest.stop();
    ingest.restart();
    assert_eq!(spooled(&ingest_data), 2, "kept across a restart");

    nats.restart().expect("restart nats-server");
    let (_client, js) = nats.connect().await.expect("nats");
    published_after_its_photos(&js, 1, report).await;
    spool_emptied(&js, &ingest_data, report).await;
    drop(ingest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_photos_while_nats_is_stopped_under_it() {
    let db = TestDb::sqlite().expect("database");
    let mut nats = NatsServer::start().expect("nats-server");
    let data = tempfile::tempdir().expect("tempdir");
    let ops = format!(
        "127.0.0.1:{}",
        civicprobe_testkit::nats::free_port().expect("port")
    );
    let extra = ["--ops-listen", ops.as_str()];
    let (courier, _tracker, ingest) = known_courier(&nats, &db, data.path(), &extra).await;
    let ingest_data = data.path().join("ingest");
    let (_client, js) = nats.connect().await.expect("nats");

    let first = submit(&ingest, &courier, 0).await;
    published_after_its_photos(&js, 1, first).await;
    spool_emptied(&js, &ingest_data, first).await;

    nats.stop();
    let second = submit(&ingest, &courier, 1).await;
    assert_eq!(spooled(&ingest_data), 2, "spooled while NATS is stopped");
    eventually("the gauge at 2", SOON, || async {
        match spool_gauge(&ops).await {
            Some(2.0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    nats.restart().expect("restart nats-server");
    let (_client, js) = nats.connect().await.expect("nats");
    published_after_its_photos(&js, 2, second).await;
    spool_emptied(&js, &ingest_data, second).await;
    eventually("the gauge at 0", SOON, || async {
        match spool_gauge(&ops).await {
            Some(0.0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    left_over_photos_are_uploaded(&js, &ingest_data).await;
    drop(ingest);
}

/// A photo left in the spool long ago by a request that never committed
/// its report (a crash between the spool and the outbox) is uploaded once
/// the outbox is empty, then leaves the spool: the spool does not grow for
/// ever, and a retry that reused the file still finds its photo.
async fn left_over_photos_are_uploaded(js: &jetstream::Context, ingest_data: &Path) {
    let orphan = b"left over by a crash".to_vec();
    let name = civicprobe_model::Sha256::of(&orphan).to_string();
    let path = ingest_data.join("photo-spool").join(&name[..2]).join(&name);
    std::fs::create_dir_all(path.parent().expect("folder")).expect("spool folder");
    std::fs::write(&path, &orphan).expect("orphan");
    let fresh = eventually_not_uploaded(js, &name).await;
    assert!(fresh, "a fresh file is not taken for a left-over");
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("orphan")
        .set_modified(hour_ago)
        .expect("mtime");
    eventually("the left-over photo uploaded", SOON, || async {
        match (path.exists(), object(js, &name).await) {
            (false, Some(bytes)) if bytes == orphan => Ok(()),
            (spooled, bytes) => Err(format!("spooled {spooled}, in the bucket {bytes:?}")),
        }
    })
    .await;
}

/// Whether `name` stays out of the bucket over a few publisher rounds.
async fn eventually_not_uploaded(js: &jetstream::Context, name: &str) -> bool {
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        if object(js, name).await.is_some() {
            return false;
        }
    }
    true
}

/// The bucket refuses the photo (full) while `REPORTS` takes messages: the
/// report waits in the outbox, unpublished, for as long as its photo is
/// only in the spool; once the bucket has room, the photo goes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_waits_for_its_photos_to_reach_the_bucket() {
    let db = TestDb::sqlite().expect("database");
    let nats = NatsServer::start().expect("nats-server");
    let (_client, js) = nats.connect().await.expect("nats");
    // Made before ingest opens it (ingest keeps an existing bucket as is).
    js.create_object_store(jetstream::object_store::Config {
        bucket: PHOTOS_BUCKET.to_owned(),
        max_bytes: 64,
        ..Default::default()
    })
    .await
    .expect("a full PHOTOS bucket");
    let data = tempfile::tempdir().expect("tempdir");
    let (courier, _tracker, ingest) = known_courier(&nats, &db, data.path(), &[]).await;
    let ingest_data = data.path().join("ingest");

    let report = submit(&ingest, &courier, 0).await;
    assert_eq!(spooled(&ingest_data), 2, "the full bucket refused them");
    // Several publisher rounds (each second, and on each report): REPORTS
    // is up, yet the report stays out while its photo cannot be uploaded.
    for _ in 0..30 {
        let stream = js.get_stream(REPORTS_STREAM).await.expect("REPORTS");
        assert!(
            stream.get_raw_message(1).await.is_err(),
            "published before its photo was in the bucket"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut photos = js
        .get_stream(PHOTOS_STREAM)
        .await
        .expect("the photo store's stream");
    let mut config = photos.info().await.expect("info").config.clone();
    config.max_bytes = -1;
    js.update_stream(config).await.expect("room in the bucket");
    published_after_its_photos(&js, 1, report).await;
    spool_emptied(&js, &ingest_data, report).await;
    drop(ingest);
}
