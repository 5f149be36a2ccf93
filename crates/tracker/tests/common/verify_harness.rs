//! Helpers of the verification tests (核查): a resolved ticket, a
//! verification photo as ingest records it.
#![allow(dead_code)]

use crate::common::{base_time, get, opened, post, Actors};
use civicprobe_model::{CourierId, Location, TicketOpened};
use civicprobe_tracker::verification::photos::VerificationPhoto;
use civicprobe_tracker::Store;
use serde_json::{json, Value};
use time::Duration;

/// The perceptual hash of the report's photo. The hazard is at 29.84,
/// 114.32 (common::report); 29.841 is about 111 m north.
pub const REPORT_PHASH: &str = "00ff00ff00ff00ff";

/// A POST that must answer 200; its body.
pub async fn ok(store: &Store, uri: &str, token: &str, body: Value) -> Value {
    let reply = post(store, uri, token, Some(body)).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
    reply.body
}

/// A ticket of `courier` in wenquan (urgent as `urgent`), acknowledged
/// and resolved by the office; the event and the ticket's URI.
pub async fn resolved_ticket(
    store: &Store,
    a: &Actors,
    courier: CourierId,
    urgent: bool,
) -> (TicketOpened, String) {
    let mut ev = opened("wenquan", courier, base_time(), Duration::minutes(30));
    ev.urgent = urgent;
    ev.report.photos[0].phash = Some(REPORT_PHASH.parse().expect("a photo hash"));
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    ok(store, &format!("{t}/acknowledge"), &a.wenquan, json!({})).await;
    let body = json!({"note": "cover replaced"});
    ok(store, &format!("{t}/resolve"), &a.wenquan, body).await;
    (ev, t)
}

/// How a test changes the default photo.
pub type PhotoEdit = fn(&mut VerificationPhoto);

/// The default photo: fresh, taken at the spot, unlike the report's.
pub fn as_is(_: &mut VerificationPhoto) {}

/// Records a verification photo of `courier` for `ev` as ingest would.
pub async fn photo(
    store: &Store,
    ev: &TicketOpened,
    courier: CourierId,
    sha: &str,
    edit: PhotoEdit,
) {
    let mut p = VerificationPhoto {
        ticket_id: ev.ticket_id,
        courier_id: courier,
        sha256: sha.parse().expect("a sha256"),
        thumbnail_sha256: Some(civicprobe_model::Sha256::from([0xee; 32])),
        taken_at: Some(store.now() - Duration::minutes(5)),
        gps: Some(Location::new(29.8401, 114.3201).unwrap()),
        phash: Some("ff00ff00ff00ff00".parse().expect("a photo hash")),
        uploaded_at: store.now(),
    };
    edit(&mut p);
    store.record_verification_photo(&p).await.unwrap();
}

/// A courier's net points.
pub async fn points(store: &Store, courier: CourierId) -> i64 {
    store.courier_points(courier).await.unwrap()
}

/// The ticket's last event as a supervisor reads it.
pub async fn last_event(store: &Store, t: &str, a: &Actors) -> Value {
    let ticket = get(store, t, &a.supervisor).await.body;
    ticket["events"].as_array().unwrap().last().unwrap().clone()
}
