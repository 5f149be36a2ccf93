//! Verification by a courier passing by (核查), end to end on both
//! databases: courier A reports, the office resolves, courier B finds the
//! ticket near them, uploads a fresh photo to ingest (its EXIF time and
//! GPS kept as evidence, the stored photo stripped of them), verifies it
//! with the photo and their position; the ticket closes, A is paid for the
//! fix and B for the check. Offices, and any upload while the ticket is
//! not resolved, get 404.

#[allow(dead_code)]
mod support;

use civicprobe_testkit::photos;
use serde_json::{json, Value};
use support::{items, Harness, WENQUAN};

on_both_databases!(a_courier_passing_by_verifies_with_a_fresh_photo);

/// A JPEG whose EXIF says it was taken now (China time, as phones write
/// it) about 20 m from the hazard.
fn fresh_photo() -> Vec<u8> {
    civicprobe_ingest::photo::exif::taken_now_at(
        &photos::jpeg(320, 240),
        (WENQUAN.0 + 0.0002, WENQUAN.1),
    )
}

/// `POST /v1/tickets/{ticket}/verification-photos`: status and body.
async fn upload(h: &Harness, token: &str, ticket: &str) -> anyhow::Result<(u16, Value)> {
    let form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(fresh_photo()).file_name("check.jpg"),
    );
    let response = h
        .http
        .post(h.url(&format!("/v1/tickets/{ticket}/verification-photos")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn a_courier_passing_by_verifies_with_a_fresh_photo(db: &str) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let wenquan = h.office_token("wenquan").await?;
    let (b_id, b) = h.stack.store.add_courier("Chen Jing").await?;
    let key = uuid::Uuid::new_v4().to_string();
    let (status, body) = h
        .submit(&key, WENQUAN, "井盖缺失 manhole", photos::jpeg(640, 480))
        .await?;
    assert_eq!(status, 202, "{body}");
    let me = h
        .wait_for(&h.courier_token, "/v1/couriers/me", |me| {
            items(&me["reports"])
                .iter()
                .any(|r| r["ticket_id"].is_string())
        })
        .await?;
    let ticket = items(&me["reports"])[0]["ticket_id"]
        .as_str()
        .expect("ticket")
        .to_owned();
    let t = format!("/v1/tickets/{ticket}");
    // Not resolved yet: nobody may upload a verification photo.
    assert_eq!(upload(&h, &b, &ticket).await?.0, 404);
    for (step, body) in [
        ("acknowledge", json!({})),
        ("resolve", json!({"note": "新井盖"})),
    ] {
        let (status, body) = h.post(&wenquan, &format!("{t}/{step}"), body).await?;
        assert_eq!(status, 200, "{step}: {body}");
    }
    assert_eq!(
        upload(&h, &wenquan, &ticket).await?.0,
        404,
        "offices do not"
    );
    assert_eq!(upload(&h, "junk", &ticket).await?.0, 401);

    let here = format!(
        "/v1/verifications/nearby?lat={}&lon={}",
        WENQUAN.0, WENQUAN.1
    );
    let (status, near) = h.get(&b, &here).await?;
    assert_eq!(status, 200, "{near}");
    assert_eq!(items(&near["tickets"])[0]["ticket_id"], ticket.as_str());
    let (status, photo) = upload(&h, &b, &ticket).await?;
    assert_eq!(status, 201, "{photo}");
    assert!(
        photo["taken_at"].is_string() && photo["gps"]["lat"].is_number(),
        "{photo}"
    );
    let sha: civicprobe_model::Sha256 = photo["sha256"].as_str().expect("sha256").parse()?;
    let stored = h.stack.ingest.photo(sha).await?.expect("stored");
    let exif_marker: &[u8] = b"Exif\0\0";
    assert!(
        !stored.windows(6).any(|w| w == exif_marker),
        "metadata stripped"
    );
    // What the EXIF said is kept as the check's evidence, for B only.
    let ticket_id = ticket.parse()?;
    let kept = h
        .stack
        .store
        .verification_photo(ticket_id, b_id, sha)
        .await?;
    let kept = kept.expect("the evidence was recorded");
    assert!(kept.taken_at.is_some() && kept.phash.is_some(), "{kept:?}");
    let gps = kept.gps.expect("EXIF GPS");
    assert!((gps.lat() - (WENQUAN.0 + 0.0002)).abs() < 1e-5, "{gps:?}");

    let check = json!({"fixed": true, "photo_sha256": sha, "lat": WENQUAN.0, "lon": WENQUAN.1});
    let (status, body) = h.post(&b, &format!("{t}/verify"), check).await?;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("closed")),
        "{body}"
    );
    let (_, mine) = h.get(&b, "/v1/couriers/me").await?;
    assert_eq!(mine["points"], 2);
    let (_, theirs) = h.get(&h.courier_token, "/v1/couriers/me").await?;
    assert_eq!(theirs["points"], 10);
    h.stop().await
}
