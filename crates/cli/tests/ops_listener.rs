//! `--ops-listen` on an in-process `up` (SQLite): `/metrics` leaves the
//! main listener (404 even with the token that opened it there) and is
//! served on the ops listener, asking for the token only when one is
//! configured; `/healthz` and `/readyz` answer on both.

mod common;

use civicprobe::ops::MetricsToken;
use common::stack_on_with;
use std::net::SocketAddr;

const TOKEN: &str = "ops-listener-test-token-0123456789";

/// `GET url`, with the metrics token if `token`; the status.
async fn status(url: &str, token: bool) -> u16 {
    let mut request = reqwest::Client::new().get(url);
    if token {
        request = request.bearer_auth(TOKEN);
    }
    request.send().await.expect("answered").status().as_u16()
}

/// The stack's main and ops base URLs, with `token` configured or not.
async fn up_with_ops_listener(token: bool) -> (common::OnDatabase, String, String) {
    let on = stack_on_with("sqlite", |c| {
        c.ops_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.metrics_token = token.then(|| MetricsToken::new(TOKEN).expect("token"));
    })
    .await;
    let ops = on.stack.ops_addr.expect("an ops listener");
    let base = on.stack.base_url();
    (on, base, format!("http://{ops}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_to_the_ops_listener() {
    let (on, base, ops) = up_with_ops_listener(false).await;
    assert_eq!(status(&format!("{base}/metrics"), false).await, 404);
    assert_eq!(status(&format!("{ops}/metrics"), false).await, 200);
    for path in ["/healthz", "/readyz"] {
        assert_eq!(status(&format!("{base}{path}"), false).await, 200, "{path}");
        assert_eq!(status(&format!("{ops}{path}"), false).await, 200, "{path}");
    }
    on.stack.stop().await.expect("stop");

    let (on, base, ops) = up_with_ops_listener(true).await;
    assert_eq!(
        status(&format!("{base}/metrics"), true).await,
        404,
        "the token opens /metrics on the main listener no more"
    );
    assert_eq!(status(&format!("{ops}/metrics"), false).await, 401);
    assert_eq!(status(&format!("{ops}/metrics"), true).await, 200);
    on.stack.stop().await.expect("stop");
}
