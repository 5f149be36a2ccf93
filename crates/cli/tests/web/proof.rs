//! Proof photos through the whole pipeline: uploaded by the office,
//! kept with the ticket, shown to whom may see them.

use super::*;

/// A report by the courier at a point of Wenquan; its ticket's id once the
/// pipeline has opened it.
async fn open_ticket(http: &Client, base: &str, courier: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .part(
            "report",
            reqwest::multipart::Part::text(r#"{"lat":29.83,"lon":114.41,"text":"井盖没了"}"#)
                .mime_str("application/json")
                .expect("mime"),
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(civicprobe_testkit::photos::jpeg(64, 48))
                .file_name("p.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let sent = http
        .post(format!("{base}/v1/reports"))
        .bearer_auth(courier)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let me: serde_json::Value = http
            .get(format!("{base}/v1/couriers/me"))
            .bearer_auth(courier)
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("json");
        if let Some(id) = me["reports"][0]["ticket_id"].as_str() {
            return id.to_owned();
        }
        assert!(Instant::now() < deadline, "no ticket: {me}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `POST /v1/tickets/{id}/proof-photos` with these bytes as the photo.
async fn upload_proof(
    http: &Client,
    base: &str,
    ticket: &str,
    token: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("fixed.jpg")
            .mime_str("image/jpeg")
            .expect("mime"),
    );
    http.post(format!("{base}/v1/tickets/{ticket}/proof-photos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// `GET /v1/tickets/{ticket}/proof-photos/{path}`.
async fn get_proof(
    http: &Client,
    base: &str,
    ticket: &str,
    token: &str,
    path: String,
) -> reqwest::Response {
    http.get(format!("{base}/v1/tickets/{ticket}/proof-photos/{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
}

#[tokio::test(flavor = "multi_thread")]
async fn proof_photos_go_through_the_pipeline_and_stay_with_the_ticket() {
    let up = Up::start();
    let (http, base) = (Client::new(), up.url.clone());
    let [courier, office, supervisor] = up.tokens.clone();
    let fushan = admin(
        up._data.path(),
        &["office", "add", "fushan", "--person", "Chen Jie"],
    );
    let ticket = open_ticket(&http, &base, &courier).await;
    let photos = civicprobe_testkit::photos::jpeg(640, 480);

    // Bad photos: problem+json naming the part.
    for (bytes, status) in [
        (civicprobe_testkit::photos::not_a_photo(), 415),
        (civicprobe_testkit::photos::truncated_jpeg(), 422),
    ] {
        let r = upload_proof(&http, &base, &ticket, &office, bytes).await;
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/problem+json");
        let body: serde_json::Value = r.json().await.expect("problem");
        assert_eq!(body["field"], "photo", "{body}");
        assert!(body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/")));
    }
    // Another office, the courier, an unknown ticket: 404; no token: 401.
    for who in [&fushan, &courier] {
        let r = upload_proof(&http, &base, &ticket, who, photos.clone()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = upload_proof(&http, &base, &unknown, &office, photos.clone()).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http
        .post(format!("{base}/v1/tickets/{ticket}/proof-photos"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The ticket's office: stored, stripped, with a thumbnail.
    let r = upload_proof(&http, &base, &ticket, &office, photos.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let proof: serde_json::Value = r.json().await.expect("json");
    let sha = proof["sha256"].as_str().expect("sha256").to_owned();
    assert_eq!(sha.len(), 64);
    assert_eq!(proof["media_type"], "image/jpeg");
    assert_eq!(
        (proof["width"].as_u64(), proof["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert!(proof["thumbnail_sha256"]
        .as_str()
        .is_some_and(|t| t.len() == 64));

    for who in [&office, &supervisor] {
        let full = get_proof(&http, &base, &ticket, who, sha.clone()).await;
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.headers()[CONTENT_TYPE], "image/jpeg");
        let bytes = full.bytes().await.expect("bytes");
        let image = image::load_from_memory(&bytes).expect("a photo");
        assert_eq!((image.width(), image.height()), (640, 480));
        let thumb = get_proof(&http, &base, &ticket, who, format!("{sha}?size=thumbnail")).await;
        assert_eq!(thumb.status(), StatusCode::OK);
        let small = image::load_from_memory(&thumb.bytes().await.expect("bytes")).expect("thumb");
        assert!(small.width() < 640, "{}", small.width());
    }
    // The ticket's reporter sees how it was fixed; another office and a
    // courier who reported nothing of it do not.
    let reporter = get_proof(&http, &base, &ticket, &courier, sha.clone()).await;
    assert_eq!(reporter.status(), StatusCode::OK);
    for who in [&fushan, &up.second_courier] {
        assert_eq!(
            get_proof(&http, &base, &ticket, who, sha.clone())
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }
    // Only photos uploaded for this ticket: not any hash in the store.
    assert_eq!(
        get_proof(&http, &base, &ticket, &office, "ab".repeat(32))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let report_photo = http
        .get(format!("{base}/v1/tickets/{ticket}"))
        .bearer_auth(&office)
        .send()
        .await
        .expect("ticket")
        .json::<serde_json::Value>()
        .await
        .expect("json")["photos"][0]["sha256"]
        .as_str()
        .expect("photo")
        .to_owned();
    assert_eq!(
        get_proof(&http, &base, &ticket, &office, report_photo)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Resolving with it records it in the history.
    for (action, body) in [
        ("acknowledge", serde_json::json!({})),
        (
            "resolve",
            serde_json::json!({"note": "cover replaced", "proof_photo_sha256": sha}),
        ),
    ] {
        let r = http
            .post(format!("{base}/v1/tickets/{ticket}/{action}"))
            .bearer_auth(&office)
            .json(&body)
            .send()
            .await
            .expect("act");
        assert_eq!(r.status(), StatusCode::OK, "{action}: {:?}", r.text().await);
    }
    let after: serde_json::Value = http
        .get(format!("{base}/v1/tickets/{ticket}"))
        .bearer_auth(&office)
        .send()
        .await
        .expect("ticket")
        .json()
        .await
        .expect("json");
    let resolved = after["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "resolved")
        .expect("resolved event");
    assert_eq!(resolved["proof_photo_sha256"], sha.as_str());
}

/// A phone's photo: EXIF naming a Huawei camera, a position 1.1 km north
/// of the report's and a time long past (the evidence the office sees).
pub(crate) fn phone_photo() -> Vec<u8> {
    use civicprobe_ingest::photo::exif::{phone_app1, with_app1};
    with_app1(
        &civicprobe_testkit::photos::jpeg(1200, 900),
        &phone_app1((29.8501, 114.3201)),
    )
}
