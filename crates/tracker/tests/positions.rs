//! Positions on both databases: a position sent in GCJ-02 kept beside the
//! WGS-84 one (migration 0016), and the recent positions the jurisdictions
//! check holds a file against.

mod common;

use civicprobe_model::{CourierId, Datum, Location, PositionAsSent};
use common::{base_time, opened, store, unrouted};
use time::Duration;

on_both_databases!(
    a_position_sent_in_gcj02_is_kept_beside_the_wgs84_one,
    recent_positions_are_the_newest_tickets_and_unrouted_reports,
);

async fn a_position_sent_in_gcj02_is_kept_beside_the_wgs84_one(kind: &str) {
    let (_db, store) = store(kind).await;
    let courier = CourierId::new();
    let mut ev = opened("wenquan", courier, base_time(), Duration::minutes(30));
    let sent = PositionAsSent {
        lat: 29.8375,
        lon: 114.3254,
        datum: Datum::Gcj02,
    };
    ev.report.location = Datum::Gcj02.to_wgs84(sent.lat, sent.lon).unwrap();
    ev.report.position_as_sent = Some(sent);
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.location, ev.report.location);
    assert_eq!(ticket.position_as_sent, Some(sent));
    let reports = store.ticket_reports(&ticket).await.unwrap();
    assert_eq!(reports[0].position_as_sent, Some(sent));
    let json = serde_json::to_value(&ticket).unwrap();
    assert_eq!(
        json["position_as_sent"],
        serde_json::json!({"lat": 29.8375, "lon": 114.3254, "datum": "gcj02"})
    );

    // A WGS-84 position keeps nothing beside it.
    let plain = opened("wenquan", courier, base_time(), Duration::minutes(30));
    assert!(store.record_ticket_opened(&plain).await.unwrap());
    let ticket = store.ticket(plain.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.position_as_sent, None);
    assert!(serde_json::to_value(&ticket)
        .unwrap()
        .get("position_as_sent")
        .is_none());
}

async fn recent_positions_are_the_newest_tickets_and_unrouted_reports(kind: &str) {
    let (_db, store) = store(kind).await;
    assert_eq!(store.recent_positions(10).await.unwrap(), vec![]);
    let courier = CourierId::new();
    let at = |lat: f64| Location::new(lat, 114.32).unwrap();
    for (minutes, lat) in [(1, 29.81), (3, 29.83), (2, 29.82)] {
        let mut ev = opened("wenquan", courier, base_time(), Duration::minutes(30));
        ev.report.received_at = base_time() + Duration::minutes(minutes);
        ev.report.location = at(lat);
        assert!(store.record_ticket_opened(&ev).await.unwrap());
    }
    let mut outside = unrouted(courier);
    outside.report.received_at = base_time() + Duration::minutes(4);
    outside.report.location = Location::new(30.6, 114.3).unwrap();
    assert!(store.record_unrouted(&outside).await.unwrap());

    let newest = store.recent_positions(3).await.unwrap();
    assert_eq!(newest, vec![outside.report.location, at(29.83), at(29.82)]);
    assert_eq!(store.recent_positions(10).await.unwrap().len(), 4);
}
