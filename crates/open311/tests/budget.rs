//! Open311 posts and ingest's upload budget: taken only for bytes that
//! arrive after a valid key.

mod common;

use common::*;

/// A post holds its share of ingest's upload budget for the bytes that
/// arrived, like a courier's upload, once its `api_key` is known, and gives
/// it back when it ends; without a key it holds nothing.
#[tokio::test]
async fn posts_share_the_upload_budget() {
    use tokio::io::AsyncWriteExt;
    let h = harness("sqlite").await;
    let free = h.ingest.upload_budget_free_kib();
    let address = h.base.trim_start_matches("http://").to_owned();
    let head = |query: &str| {
        format!(
            "POST /open311/v2/requests.json{query} HTTP/1.1\r\nHost: test\r\n\
             Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 2000000\r\n\r\n"
        )
    };
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"media\"\r\n\r\n".to_vec();
    body.resize(300_000, 0);
    let mut upload = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let query = format!("?api_key={}", h.courier);
    upload
        .write_all(head(&query).as_bytes())
        .await
        .expect("send");
    upload.write_all(&body).await.expect("send");
    let held = free - 300_000usize.div_ceil(1024);
    let mut seen = Vec::new();
    for _ in 0..500 {
        seen.push(h.ingest.upload_budget_free_kib());
        if seen.last() == Some(&held) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen.last(), Some(&held), "free KiB seen: {seen:?}");
    drop(upload);
    for _ in 0..500 {
        if h.ingest.upload_budget_free_kib() == free {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.ingest.upload_budget_free_kib(), free);
    // No key: a declared length and a text part take nothing.
    let mut anonymous = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    anonymous
        .write_all(head("").as_bytes())
        .await
        .expect("send");
    let text = b"--B\r\nContent-Disposition: form-data; name=\"service_code\"\r\n\r\nother\r\n";
    anonymous.write_all(text).await.expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.ingest.upload_budget_free_kib(), free);
}
