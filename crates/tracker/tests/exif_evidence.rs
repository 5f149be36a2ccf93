//! The flags of odd EXIF, on both databases: a report that took its
//! photo's GPS position (`position_from_exif`) and a photo whose EXIF was
//! partly unreadable (`exif_unreadable`, with the reason in words) are
//! stored and shown to the ticket's office and supervisors in
//! `reports[].evidence`, and to no other office.

mod common;

use civicprobe_model::{EvidenceFlag, Location, PhotoExif};
use common::{actors, base_time, get, opened, store};
use time::Duration;

on_both_databases!(the_office_sees_why_exif_was_dropped_and_where_a_position_came_from,);

/// As ingest words it; markup in it is data, never HTML.
const REASON: &str = "GPSLatitude has a zero denominator (0/0); <script>x</script>";

async fn the_office_sees_why_exif_was_dropped_and_where_a_position_came_from(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let mut ev = opened("wenquan", a.courier_id, base_time(), Duration::hours(4));
    let from_photo = Location::new(29.8413, 114.3225).unwrap();
    ev.report.location = from_photo;
    ev.report.photos.push(ev.report.photos[0].clone());
    ev.report.photos[1].sha256 = civicprobe_model::Sha256::from([0xcd; 32]);
    ev.report.evidence.photos = vec![
        PhotoExif {
            gps: Some(from_photo),
            ..PhotoExif::default()
        },
        PhotoExif {
            taken_at: Some(base_time() - Duration::minutes(5)),
            ..PhotoExif::default()
        },
    ];
    ev.report.evidence.flags = vec![
        EvidenceFlag::PositionFromExif { photo: 0 },
        EvidenceFlag::ExifUnreadable {
            photo: 1,
            reason: REASON.into(),
        },
    ];
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    let uri = format!("/v1/tickets/{}", ev.ticket_id);

    for who in [&a.wenquan, &a.supervisor] {
        let staff = get(&store, &uri, who).await;
        assert_eq!(staff.status, 200, "{}", staff.body);
        let report = &staff.body["reports"][0];
        assert_eq!(report["location"]["lat"], 29.8413);
        let flags = &report["evidence"]["flags"];
        assert_eq!(
            flags,
            &serde_json::json!([
                {"flag": "position_from_exif", "photo": 0},
                {"flag": "exif_unreadable", "photo": 1, "reason": REASON},
            ]),
            "{}",
            staff.body
        );
        let photos = &report["evidence"]["photos"];
        assert!(photos[0]["gps"].is_object() && photos[0]["taken_at"].is_null());
        assert!(photos[1]["gps"].is_null() && photos[1]["taken_at"].is_string());
    }
    let other = get(&store, &uri, &a.fushan).await;
    assert_eq!(other.status, 404, "{}", other.body);
    assert!(!other.body.to_string().contains("zero denominator"));
}
