//! Positions in GCJ-02 (Amap, Tencent, WeChat) and jurisdiction files in
//! GCJ-02 or BD-09 (Baidu):
//! courier → ingest → router → tracker on a real nats-server, SQLite and
//! PostgreSQL. Everything is routed and stored in WGS-84; what was sent is
//! kept beside it.

#[allow(dead_code)]
mod support;

use civicprobe_model::{Datum, Location};
use civicprobe_testkit::{datums::geojson_in, photos};
use serde_json::{json, Value};
use support::{fixtures, items, Harness};

on_both_databases!(
    a_declared_gcj02_position_is_routed_in_wgs84_and_kept_as_sent,
    a_gcj02_jurisdictions_file_routes_wgs84_reports_right,
    a_bd09_jurisdictions_file_routes_wgs84_reports_right,
);

/// 100 m west (`-1.0`) or east (`1.0`) of the guanbuqiao / wenquan edge
/// (114.28 E) in WGS-84. GCJ-02 shifts positions here ~520 m east.
fn off_the_edge(side: f64) -> Location {
    let lat: f64 = 29.86;
    Location::new(
        lat,
        114.28 + side * 100.0 / (111_320.0 * lat.to_radians().cos()),
    )
    .unwrap()
}

/// The `/v1/tickets/{id}` body of the only ticket in `office`'s queue.
async fn only_ticket(h: &Harness, office: &str) -> anyhow::Result<Value> {
    let token = h.office_token(office).await?;
    let queue = h
        .wait_for(&token, &format!("/v1/offices/{office}/tickets"), |q| {
            items(q).len() == 1
        })
        .await?;
    let id = items(&queue)[0]["ticket_id"].as_str().unwrap().to_owned();
    let (status, ticket) = h.get(&token, &format!("/v1/tickets/{id}")).await?;
    assert_eq!(status, 200, "{ticket}");
    Ok(ticket)
}

fn location_of(v: &Value) -> Location {
    Location::new(v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()).unwrap()
}

async fn a_declared_gcj02_position_is_routed_in_wgs84_and_kept_as_sent(
    db: &str,
) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    // In guanbuqiao; its GCJ-02 numbers lie ~420 m east of the edge.
    let wgs = off_the_edge(-1.0);
    let (lat, lon) = Datum::Gcj02.from_wgs84(&wgs);
    let report = json!({"lat": lat, "lon": lon, "datum": "gcj02", "text": "井盖没了"});
    let token = h.courier_token.clone();
    let (status, body) = h
        .submit_report(&token, &key("gcj-1"), report, photos::jpeg(320, 240))
        .await?;
    assert_eq!(status, 202, "{body}");

    let ticket = only_ticket(&h, "guanbuqiao").await?;
    let stored = location_of(&ticket["location"]);
    assert!(stored.distance_m(&wgs) < 0.05, "{ticket}");
    let sent = json!({"lat": lat, "lon": lon, "datum": "gcj02"});
    assert_eq!(ticket["position_as_sent"], sent, "{ticket}");
    assert_eq!(ticket["reports"][0]["position_as_sent"], sent, "{ticket}");

    // The same numbers without the declaration are a WGS-84 position ~420 m
    // east of the edge: wenquan's, with nothing kept beside it.
    let undeclared = json!({"lat": lat, "lon": lon, "text": "电梯困人"});
    let (status, body) = h
        .submit_report(&token, &key("gcj-2"), undeclared, photos::png(200, 100))
        .await?;
    assert_eq!(status, 202, "{body}");
    let ticket = only_ticket(&h, "wenquan").await?;
    assert_eq!(
        (
            ticket["location"]["lat"].as_f64(),
            ticket["location"]["lon"].as_f64()
        ),
        (Some(lat), Some(lon))
    );
    assert!(ticket.get("position_as_sent").is_none(), "{ticket}");

    // A datum that is none of the three is a 400 naming the field.
    let bad = json!({"lat": lat, "lon": lon, "datum": "mars"});
    let (status, body) = h
        .submit_report(&token, &key("gcj-3"), bad, photos::jpeg(64, 64))
        .await?;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("datum")),
        "{body}"
    );
    h.stop().await
}

async fn a_gcj02_jurisdictions_file_routes_wgs84_reports_right(db: &str) -> anyhow::Result<()> {
    // As a district drew it on Amap or Tencent Maps.
    a_file_in(Datum::Gcj02, db).await
}

async fn a_bd09_jurisdictions_file_routes_wgs84_reports_right(db: &str) -> anyhow::Result<()> {
    // As a district drew it on Baidu Maps.
    a_file_in(Datum::Bd09, db).await
}

/// The fixture with every vertex in `datum`, declared at the top of the
/// collection: a WGS-84 report 100 m inside wenquan goes to wenquan.
async fn a_file_in(datum: Datum, db: &str) -> anyhow::Result<()> {
    let wgs = std::fs::read_to_string(fixtures().join("jurisdictions.geojson"))?;
    let file = geojson_in(&wgs, datum, Some(datum));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(format!("jurisdictions-{datum}.geojson"));
    std::fs::write(&path, file)?;
    let h = Harness::start_with(db, |config| config.router.jurisdictions = path).await?;

    // In wenquan; the file misread as WGS-84 would put the edge hundreds
    // of metres east of it (GCJ-02 ~520 m, BD-09 ~1.15 km), and the point
    // in guanbuqiao.
    let at = off_the_edge(1.0);
    let token = h.courier_token.clone();
    let report = json!({"lat": at.lat(), "lon": at.lon(), "text": "井盖没了"});
    let (status, body) = h
        .submit_report(&token, &key("wgs-1"), report, photos::jpeg(320, 240))
        .await?;
    assert_eq!(status, 202, "{body}");
    let ticket = only_ticket(&h, "wenquan").await?;
    assert_eq!(ticket["office_id"], "wenquan", "{datum}: {ticket}");
    assert_eq!(ticket["boundary"], false, "{datum}: {ticket}");
    h.stop().await
}

/// An `Idempotency-Key` (a UUID) named for readability.
fn key(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}
