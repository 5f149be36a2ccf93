//! Scope end to end, on both databases: two couriers report at the same
//! spot, the router merges the second report into the first one's ticket,
//! and the second courier sees only their own report, cannot steer the
//! ticket and cannot fetch the first courier's photo; Open311's public
//! reads carry no courier id; photos can be hidden, or kept private for a
//! whole district; a courier fetches their own unrouted photo; proof
//! photos and reroute targets are checked.

#[allow(dead_code)]
mod support;

use civicprobe_testkit::photos;
use serde_json::{json, Value};
use support::{items, Harness, OUTSIDE, WENQUAN};

on_both_databases!(
    a_merged_courier_sees_and_steers_only_what_is_theirs,
    photos_are_hidden_one_by_one_or_kept_private_by_the_district,
);

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Waits until the courier's `report` has a ticket; returns its id.
async fn ticket_of(h: &Harness, token: &str, report: &str) -> anyhow::Result<String> {
    let me = h
        .wait_for(token, "/v1/couriers/me", |me| {
            items(&me["reports"])
                .iter()
                .any(|r| r["report_id"] == report && r["ticket_id"].is_string())
        })
        .await?;
    let found = items(&me["reports"])
        .into_iter()
        .find(|r| r["report_id"] == report)
        .expect("the report");
    Ok(found["ticket_id"].as_str().expect("ticket id").to_owned())
}

/// The status of a GET with `token` (None: no token) and its body text.
async fn fetch(h: &Harness, token: Option<&str>, path: &str) -> anyhow::Result<(u16, String)> {
    let mut request = h.http.get(h.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// Two couriers' reports at one spot, merged: (first's id, first's report,
/// second's token, second's id, second's report, the ticket).
struct Pair {
    first_id: String,
    first_report: String,
    second: String,
    second_id: String,
    second_report: String,
    ticket: String,
}

async fn merged_pair(h: &Harness) -> anyhow::Result<Pair> {
    let first = "井盖缺失 first courier's manhole";
    let (status, body) = h
        .submit(&key(), WENQUAN, first, photos::jpeg(640, 480))
        .await?;
    assert_eq!(status, 202, "{body}");
    let first_report = body["report_id"].as_str().expect("id").to_owned();
    let ticket = ticket_of(h, &h.courier_token, &first_report).await?;
    let (second_id, second) = h.stack.store.add_courier("second").await?;
    let text = "井盖没了 second courier's words";
    let (status, body) = h
        .submit_as(&second, &key(), WENQUAN, text, photos::png(320, 240))
        .await?;
    assert_eq!(status, 202, "{body}");
    let second_report = body["report_id"].as_str().expect("id").to_owned();
    let joined = ticket_of(h, &second, &second_report).await?;
    assert_eq!(joined, ticket, "the router merged the duplicate");
    let (_, me) = h.get(&h.courier_token, "/v1/couriers/me").await?;
    Ok(Pair {
        first_id: me["courier_id"].as_str().expect("id").to_owned(),
        first_report,
        second,
        second_id: second_id.to_string(),
        second_report,
        ticket,
    })
}

async fn a_merged_courier_sees_and_steers_only_what_is_theirs(db: &str) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let wenquan = h.office_token("wenquan").await?;
    let p = merged_pair(&h).await?;
    let t = format!("/v1/tickets/{}", p.ticket);

    // The second courier's view: their own report, never the first's.
    let (status, view) = h.get(&p.second, &t).await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["report_id"], p.second_report.as_str());
    assert_eq!(view["text"], "井盖没了 second courier's words");
    assert_eq!(view["office_id"], "wenquan");
    let raw = view.to_string();
    for secret in [&p.first_id, &p.first_report, "first courier"] {
        assert!(!raw.contains(secret), "{secret} leaked: {raw}");
    }
    let photo = |report: &str| format!("/v1/reports/{report}/photos/0");
    assert_eq!(
        fetch(&h, Some(&p.second), &photo(&p.first_report)).await?.0,
        404
    );
    assert_eq!(
        fetch(&h, Some(&p.second), &photo(&p.second_report))
            .await?
            .0,
        200
    );

    // Only the opener (or a supervisor) reopens and closes.
    h.post(&wenquan, &format!("{t}/acknowledge"), json!({}))
        .await?;
    let never = json!({"note": "fixed", "proof_photo_sha256": "ab".repeat(32)});
    let (status, body) = h.post(&wenquan, &format!("{t}/resolve"), never).await?;
    assert_eq!(
        (status, &body["field"]),
        (400, &json!("proof_photo_sha256"))
    );
    let sha = upload_proof(&h, &wenquan, &p.ticket).await?;
    let proven = json!({"note": "fixed", "proof_photo_sha256": sha});
    let (status, body) = h.post(&wenquan, &format!("{t}/resolve"), proven).await?;
    assert_eq!(status, 200, "{body}");
    // Both reporting couriers see the proof photo on their list and fetch
    // it; a courier who reported nothing of the ticket gets 404.
    let proof = format!("{t}/proof-photos/{sha}?size=thumbnail");
    let (_, stranger) = h.stack.store.add_courier("stranger").await?;
    for token in [&h.courier_token, &p.second] {
        let (_, me) = h.get(token, "/v1/couriers/me").await?;
        assert_eq!(me["reports"][0]["proof_photo"]["sha256"], sha.as_str());
        assert_eq!(fetch(&h, Some(token), &proof).await?.0, 200);
    }
    assert_eq!(fetch(&h, Some(&stranger), &proof).await?.0, 404);
    let upload = upload_status(&h, &p.second, &p.ticket).await?;
    assert_eq!(upload, 404, "reading is not uploading");
    for action in ["reopen", "close"] {
        let (status, body) = h
            .post(&p.second, &format!("{t}/{action}"), json!({}))
            .await?;
        assert_eq!(status, 403, "{action}: {body}");
    }
    let words = json!({"note": "first courier says still loose"});
    let (status, body) = h
        .post(&h.courier_token, &format!("{t}/reopen"), words)
        .await?;
    assert_eq!((status, body["state"].as_str()), (200, Some("reopened")));

    // Open311's public reads carry neither courier's id nor courier notes.
    for path in [
        "/open311/v2/requests.json".to_owned(),
        "/open311/v2/requests.xml".to_owned(),
        format!("/open311/v2/requests/{}.json", p.second_report),
        format!("/open311/v2/tokens/{}.json", p.second_report),
        "/open311/v2/servicerequestupdates.json".to_owned(),
        "/open311/v2/servicerequestupdates.xml".to_owned(),
    ] {
        let (status, body) = fetch(&h, None, &path).await?;
        assert_eq!(status, 200, "{path}: {body}");
        for secret in [&p.first_id, &p.second_id, "still loose"] {
            assert!(!body.contains(secret), "{path} carries {secret}: {body}");
        }
    }
    // The merged request's media_url answers too.
    let (_, body) = fetch(
        &h,
        None,
        &format!("/open311/v2/requests/{}.json", p.second_report),
    )
    .await?;
    let url: Value = serde_json::from_str::<Value>(&body)?[0]["media_url"].clone();
    let path = url
        .as_str()
        .and_then(|u| u.find("/open311/").map(|i| &u[i..]));
    let path = path.expect("a media_url").to_owned();
    assert_eq!(fetch(&h, None, &path).await?.0, 200, "{path}");

    // Reroutes go to known offices: fushan is in the jurisdictions file
    // (no token was ever issued for it), "nowhere" is not.
    let reroute = format!("{t}/reroute");
    let (status, body) = h
        .post(
            &h.supervisor_token,
            &reroute,
            json!({"office_id": "nowhere"}),
        )
        .await?;
    assert_eq!(
        (status, &body["field"]),
        (400, &json!("office_id")),
        "{body}"
    );
    let (status, body) = h
        .post(
            &h.supervisor_token,
            &reroute,
            json!({"office_id": "fushan"}),
        )
        .await?;
    assert_eq!(
        (status, body["office_id"].as_str()),
        (200, Some("fushan")),
        "{body}"
    );

    // A courier fetches the photo of their own unrouted report; nobody
    // else but a supervisor does.
    let (status, body) = h
        .submit(&key(), OUTSIDE, "路灯倒了 far away", photos::jpeg(320, 240))
        .await?;
    assert_eq!(status, 202, "{body}");
    let lost = body["report_id"].as_str().expect("id").to_owned();
    h.wait_for(&h.supervisor_token, "/v1/unrouted", |u| {
        items(u).iter().any(|r| r["report_id"] == lost.as_str())
    })
    .await?;
    assert_eq!(
        fetch(&h, Some(&h.courier_token), &photo(&lost)).await?.0,
        200
    );
    assert_eq!(
        fetch(&h, Some(&h.supervisor_token), &photo(&lost)).await?.0,
        200
    );
    assert_eq!(fetch(&h, Some(&p.second), &photo(&lost)).await?.0, 404);
    assert_eq!(fetch(&h, Some(&wenquan), &photo(&lost)).await?.0, 404);
    h.stop().await
}

/// Uploads a proof photo for `ticket`; returns its sha256.
async fn upload_proof(h: &Harness, token: &str, ticket: &str) -> anyhow::Result<String> {
    let response = send_proof(h, token, ticket).await?;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await?;
    Ok(body["sha256"].as_str().expect("sha256").to_owned())
}

/// The status of a proof-photo upload for `ticket` by `token`.
async fn upload_status(h: &Harness, token: &str, ticket: &str) -> anyhow::Result<u16> {
    Ok(send_proof(h, token, ticket).await?.status().as_u16())
}

async fn send_proof(h: &Harness, token: &str, ticket: &str) -> anyhow::Result<reqwest::Response> {
    let form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(photos::jpeg(200, 150)).file_name("fix.jpg"),
    );
    Ok(h.http
        .post(h.url(&format!("/v1/tickets/{ticket}/proof-photos")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?)
}

async fn photos_are_hidden_one_by_one_or_kept_private_by_the_district(
    db: &str,
) -> anyhow::Result<()> {
    let h = Harness::start(db).await?;
    let (status, body) = h
        .submit(&key(), WENQUAN, "井盖缺失 manhole", photos::jpeg(640, 480))
        .await?;
    assert_eq!(status, 202, "{body}");
    let report = body["report_id"].as_str().expect("id").to_owned();
    ticket_of(&h, &h.courier_token, &report).await?;
    let request = format!("/open311/v2/requests/{report}.json");
    let media = format!("/open311/v2/media/{report}/0");
    let media_url = |body: &str| -> Value {
        serde_json::from_str::<Value>(body).expect("json")[0]["media_url"].clone()
    };
    let (_, body) = fetch(&h, None, &request).await?;
    assert!(
        media_url(&body)
            .as_str()
            .is_some_and(|u| u.ends_with(&media)),
        "{body}"
    );
    assert_eq!(fetch(&h, None, &media).await?.0, 200);

    let hide = format!("/v1/reports/{report}/photos/0/hide");
    let (status, _) = h.post(&h.courier_token, &hide, json!({})).await?;
    assert_eq!(status, 403);
    let (status, body) = h.post(&h.supervisor_token, &hide, json!({})).await?;
    assert_eq!((status, &body["hidden"]), (200, &json!(true)), "{body}");
    let (_, body) = fetch(&h, None, &request).await?;
    assert!(media_url(&body).is_null(), "{body}");
    assert_eq!(fetch(&h, None, &media).await?.0, 404);
    // Still there for the courier through the API.
    let own = format!("/v1/reports/{report}/photos/0");
    assert_eq!(fetch(&h, Some(&h.courier_token), &own).await?.0, 200);
    let unhide = format!("/v1/reports/{report}/photos/0/unhide");
    let (status, _) = h.post(&h.supervisor_token, &unhide, json!({})).await?;
    assert_eq!(status, 200);
    assert_eq!(fetch(&h, None, &media).await?.0, 200);
    h.stop().await?;

    // A district that keeps photos private.
    let h = Harness::start_with(db, |c| c.open311_public_photos = false).await?;
    let (_, body) = h
        .submit(&key(), WENQUAN, "井盖缺失 manhole", photos::jpeg(640, 480))
        .await?;
    let report = body["report_id"].as_str().expect("id").to_owned();
    ticket_of(&h, &h.courier_token, &report).await?;
    let (_, body) = fetch(&h, None, &format!("/open311/v2/requests/{report}.json")).await?;
    assert!(media_url(&body).is_null(), "{body}");
    let media = format!("/open311/v2/media/{report}/0");
    assert_eq!(fetch(&h, None, &media).await?.0, 404);
    h.stop().await
}
