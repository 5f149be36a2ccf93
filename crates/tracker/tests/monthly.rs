//! The printable monthly report of an office on both databases: its
//! month's KPIs and tickets only, every value HTML-escaped, the print
//! stylesheet linked under a strict CSP; offices see their own only.

mod common;

use civicprobe_model::{CourierId, Role, TicketAction};
use civicprobe_tracker::{Store, Transition};
use common::{actors, base_time, opened, store};
use time::Duration;

on_both_databases!(a_month_of_one_office_escaped_and_scoped);

/// The page's body, status and headers.
async fn page(store: &Store, uri: &str, token: &str) -> (u16, String, String, String) {
    use tower::ServiceExt;
    let request = axum::http::Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = civicprobe_tracker::app(store.clone())
        .oneshot(request)
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, csp) = (header("content-type"), header("content-security-policy"));
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        String::from_utf8(bytes.to_vec()).unwrap(),
        content_type,
        csp,
    )
}

async fn a_month_of_one_office_escaped_and_scoped(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let months = [
        (base_time(), "<script>alert('x')</script> & 井盖"),
        (base_time() - Duration::days(40), "april"),
    ];
    let mut ids = Vec::new();
    for (i, (received, text)) in months.into_iter().enumerate() {
        let mut ev = opened("wenquan", CourierId::new(), received, Duration::minutes(30));
        ev.report.text = Some(text.into());
        store.record_ticket_opened(&ev).await.unwrap();
        ids.push(ev.ticket_id);
        let current = store.ticket(ev.ticket_id).await.unwrap().unwrap();
        let change = Transition {
            action: TicketAction::Acknowledge,
            actor: "office:wenquan".into(),
            role: Role::Office,
            at: received + Duration::minutes(10 + 40 * i as i64),
            reason: None,
            note: None,
            proof_photo_sha256: None,
        };
        store.apply(&current, &change).await.unwrap();
    }
    let other = opened(
        "fushan",
        CourierId::new(),
        base_time(),
        Duration::minutes(30),
    );
    store.record_ticket_opened(&other).await.unwrap();

    let uri = "/v1/audit/offices/wenquan/monthly?month=2025-06";
    let (status, html, content_type, csp) = page(&store, uri, &a.wenquan).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/report.css\">"));
    assert!(html.contains("<h1>温泉 · 2025-06</h1>"), "{html}");
    assert!(!html.contains("<script>"), "the courier's text is escaped");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 井盖"),
        "{html}"
    );
    assert!(html.contains(&ids[0].to_string()));
    assert!(
        !html.contains(&ids[1].to_string()),
        "April's ticket is another month"
    );
    assert!(
        !html.contains(&other.ticket_id.to_string()),
        "another office's"
    );
    assert!(
        html.contains("<td>1/1 (100%)</td>"),
        "one acknowledged on time: {html}"
    );
    assert!(
        html.contains("<th>acknowledge 受理</th><td>1</td><td>10m00s</td>"),
        "{html}"
    );

    let (status, april, _, _) = page(
        &store,
        "/v1/audit/offices/wenquan/monthly?month=2025-04",
        &a.supervisor,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        april.contains(&ids[1].to_string()) && april.contains("<td>0/1 (0%)</td>"),
        "{april}"
    );

    let (status, body, content_type, _) = page(&store, uri, &a.fushan).await;
    assert_eq!(
        (status, content_type.as_str()),
        (404, "application/problem+json"),
        "{body}"
    );
    assert_eq!(page(&store, uri, &a.courier).await.0, 403);
    let (status, body, _, _) = page(
        &store,
        "/v1/audit/offices/wenquan/monthly?month=2025-6",
        &a.wenquan,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("\"field\":\"month\""), "{body}");
    let (status, _, _, _) = page(
        &store,
        "/v1/audit/offices/nowhere/monthly?month=2025-06",
        &a.supervisor,
    )
    .await;
    assert_eq!(status, 404);
}
