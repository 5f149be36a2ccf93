//! The HTTP server every mode runs: hyper's HTTP/1 connection loop with the
//! limits `axum::serve` has no knobs for.
//!
//! - **Header-read timeout**: a client that has not sent a whole request
//!   head within [`HttpLimits::header_read_timeout`] (a slowloris, or an
//!   idle keep-alive connection) is disconnected.
//! - **Body idle timeout**: a request body that sends no byte for
//!   [`HttpLimits::body_idle_timeout`] while the handler waits for one is
//!   cut; the request is answered `408` problem+json, and what the handler
//!   held (its share of ingest's upload budget) is given back.
//! - **Buffers**: a connection buffers at most 64 KiB (a longer request
//!   head is answered `431`).
//! - **Connection cap**: at most [`HttpLimits::max_connections`] open
//!   connections. Beyond it, new connections are not accepted but wait in
//!   the kernel's listen backlog until one closes: the timeouts above bound
//!   how long any client can keep one, so a waiting client is served soon
//!   rather than refused, and an attacker's flood costs kernel queue
//!   entries, not tasks, buffers or file descriptors.
//! - **Graceful shutdown**: on the shutdown signal the listener closes,
//!   idle connections close, and requests in flight finish (up to
//!   [`GRACE`]).
//!
//! Every request is traced with its method and path, never its query
//! string (Open311 may carry `api_key` there).

use crate::shutdown::Shutdown;
use axum::body::{Body, BodyDataStream, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use civicprobe_model::{Problem, PROBLEM_JSON};
use futures::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long requests in flight may take to finish after the shutdown signal.
pub const GRACE: Duration = Duration::from_secs(8);

/// The most one connection buffers (a request head, a body chunk): with
/// [`HttpLimits::max_connections`], what slow or idle clients can hold.
const MAX_BUF_BYTES: usize = 64 * 1024;

/// What [`linger`] discards of a refused request's body at most.
const LINGER_BYTES: usize = 1024 * 1024;

/// How long [`linger`] waits for it at most.
const LINGER_TIME: Duration = Duration::from_secs(1);

/// The whole-request timeout (`408` after it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Connection and request limits of the HTTP server.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct HttpLimits {
    /// Seconds a client may take to send a request's headers; the
    /// connection is closed after that (also an idle keep-alive one).
    #[arg(long, env = "CIVICPROBE_HEADER_READ_TIMEOUT", value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub header_read_timeout: Duration,
    /// Seconds a request body may send nothing while it is read; `408`
    /// after that.
    #[arg(long, env = "CIVICPROBE_BODY_IDLE_TIMEOUT", value_name = "SECONDS", default_value = "20", value_parser = seconds)]
    pub body_idle_timeout: Duration,
    /// Open connections at most; more wait in the listen backlog.
    #[arg(long, env = "CIVICPROBE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(20),
            max_connections: 1024,
        }
    }
}

/// A positive number of seconds, at most a day.
fn seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{s:?} is not a number of seconds in (0, 86400]"))
}

/// Serves `app` within `limits` until `shutdown`, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let app = layered(app, &limits);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_BUF_BYTES);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let stop = shutdown.signalled();
    tokio::pin!(stop);
    loop {
        let (stream, permit) = tokio::select! {
            () = &mut stop => break,
            accepted = accept(&listener, &connections) => accepted,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            metrics::gauge!("civicprobe_http_connections_open").increment(1);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            metrics::gauge!("civicprobe_http_connections_open").decrement(1);
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {GRACE:?}: dropped");
    }
    Ok(())
}

/// The next connection, once there is room for one.
async fn accept(
    listener: &TcpListener,
    connections: &Arc<Semaphore>,
) -> (TcpStream, OwnedSemaphorePermit) {
    let Ok(permit) = connections.clone().acquire_owned().await else {
        // Never closed; should it be, accept nothing more.
        return std::future::pending().await;
    };
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => return (stream, permit),
            Err(error) => {
                // EMFILE and the like: wait rather than spin.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// `app` with the body idle timeout, the request timeout (its 408 a
/// problem too), the HTTP latency histogram and tracing.
fn layered(app: Router, limits: &HttpLimits) -> Router {
    layered_with(app, limits, REQUEST_TIMEOUT)
}

/// [`layered`] with a given request timeout (tests shorten it).
fn layered_with(app: Router, limits: &HttpLimits, request_timeout: Duration) -> Router {
    app.layer(axum::middleware::from_fn_with_state(
        limits.body_idle_timeout,
        body_idle,
    ))
    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        request_timeout,
    ))
    // The timeout's 408 is empty: answered as a problem like every error.
    .layer(axum::middleware::from_fn(crate::answers::answer_errors))
    .layer(axum::middleware::from_fn(crate::http_metrics::record))
    .layer(
        tower_http::trace::TraceLayer::new_for_http().make_span_with(|r: &Request| {
            tracing::debug_span!("request", method = %r.method(), path = %r.uri().path())
        }),
    )
}

/// Cuts a body that sends nothing for `idle` and answers `408` for it,
/// whatever the handler made of the cut. After any other refusal it
/// [`linger`]s over the body's unread rest.
async fn body_idle(State(idle): State<Duration>, request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let stalled = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let (body, rest) = idle_limited(body, idle, stalled.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    if stalled.load(Ordering::Acquire) {
        metrics::counter!("civicprobe_http_body_timeouts_total").increment(1);
        return body_timeout(idle);
    }
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        linger(&rest).await;
    }
    response
}

/// A request body's unread rest: the handler reads through it, and
/// [`linger`] may discard what is left after a refusal. (Taken out while a
/// chunk is awaited, put back after it.)
type Rest = Arc<Mutex<Option<BodyDataStream>>>;

/// `body`, failing once no byte came for `idle` while it was read, and
/// its unread rest.
fn idle_limited(body: Body, idle: Duration, stalled: Arc<AtomicBool>) -> (Body, Rest) {
    let rest: Rest = Arc::new(Mutex::new(Some(body.into_data_stream())));
    let state = (rest.clone(), stalled);
    let body = Body::from_stream(futures::stream::unfold(
        state,
        move |(rest, stalled)| async move {
            let mut stream = take(&rest)?;
            match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(chunk)) => {
                    put_back(&rest, stream);
                    Some((chunk, (rest, stalled)))
                }
                Ok(None) => None,
                Err(_) => {
                    stalled.store(true, Ordering::Release);
                    let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "body idle");
                    Some((Err(axum::Error::new(e)), (rest, stalled)))
                }
            }
        },
    ));
    (body, rest)
}

fn take(rest: &Rest) -> Option<BodyDataStream> {
    rest.lock().unwrap_or_else(PoisonError::into_inner).take()
}

fn put_back(rest: &Rest, stream: BodyDataStream) {
    *rest.lock().unwrap_or_else(PoisonError::into_inner) = Some(stream);
}

/// After a refusal, reads and discards what the client is still sending
/// (at most [`LINGER_BYTES`], for at most [`LINGER_TIME`]; nothing is
/// kept), so that a client refused mid-upload reads the answer instead of
/// a connection reset by the close that follows it.
async fn linger(rest: &Rest) {
    let Some(mut stream) = take(rest) else {
        return;
    };
    let discard = async {
        let mut left = LINGER_BYTES;
        while let Some(Ok(chunk)) = stream.next().await {
            if chunk.len() >= left {
                break;
            }
            left -= chunk.len();
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, discard).await;
}

/// `408` problem+json; the connection is closed (its body is unread).
fn body_timeout(idle: Duration) -> Response {
    let problem = Problem::new(408, "body-timeout", "Request body timed out")
        .detail(format!(
            "no byte of the request body came for {} s",
            idle.as_secs_f64()
        ))
        .field("body");
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (
        StatusCode::REQUEST_TIMEOUT,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)),
            (header::CONNECTION, HeaderValue::from_static("close")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Log lines written here.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `app` served with the default limits on a free port.
    async fn serving(
        app: Router,
    ) -> (
        std::net::SocketAddr,
        Shutdown,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = Shutdown::new();
        let limits = HttpLimits::default();
        let server = tokio::spawn(serve(listener, app, limits, shutdown.clone()));
        (addr, shutdown, server)
    }

    #[tokio::test]
    async fn request_spans_name_the_path_never_the_query() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("tower_http=debug,civicprobe=debug")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = Router::new().route("/x", axum::routing::get(|| async { "ok" }));
        let (addr, shutdown, server) = serving(app).await;
        let url = format!("http://{addr}/x?api_key=secret-key");
        let body = reqwest::get(url).await.expect("get").text().await;
        assert_eq!(body.expect("body"), "ok");
        shutdown.trigger();
        server.await.expect("join").expect("served");
        let logs = String::from_utf8_lossy(&logs.0.lock().expect("lock")).into_owned();
        assert!(logs.contains("path=/x"), "{logs}");
        assert!(!logs.contains("secret-key"), "{logs}");
    }

    #[tokio::test]
    async fn a_request_over_the_timeout_is_a_408_problem() {
        use tower::ServiceExt;
        // The same log interest as the span test beside it, so that this
        // thread's requests never mark its callsites as disabled.
        let quiet = tracing_subscriber::fmt()
            .with_env_filter("tower_http=debug,civicprobe=debug")
            .with_writer(std::io::sink)
            .finish();
        let _guard = tracing::subscriber::set_default(quiet);
        let slow = Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
        let app = layered_with(slow, &HttpLimits::default(), Duration::from_millis(50));
        let request = Request::builder()
            .uri("/slow?q=echo-me")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("answered");
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        let kind = response.headers()[axum::http::header::CONTENT_TYPE].clone();
        assert_eq!(kind, "application/problem+json");
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(problem["status"], 408, "{problem}");
        assert!(!String::from_utf8_lossy(&body).contains("echo-me"));
    }

    #[tokio::test]
    async fn a_stream_outlives_the_request_and_body_timeouts() {
        // An event stream answers at once, then writes for longer than
        // the whole-request timeout: neither timeout may cut it.
        let events = || {
            Body::from_stream(futures::stream::unfold(0u32, |n| async move {
                tokio::time::sleep(Duration::from_millis(40)).await;
                Some((
                    Ok::<_, std::convert::Infallible>(format!("data: {n}\n\n")),
                    n + 1,
                ))
            }))
        };
        let app = Router::new().route(
            "/events",
            axum::routing::get(move || async move { events() }),
        );
        let limits = HttpLimits {
            body_idle_timeout: Duration::from_millis(20),
            ..HttpLimits::default()
        };
        let app = layered_with(app, &limits, Duration::from_millis(60));
        let request = Request::builder().uri("/events").body(Body::empty());
        let response = tower::ServiceExt::oneshot(app, request.expect("request")).await;
        let response = response.expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        let chunks = response.into_body().into_data_stream().take(8);
        let got: Vec<_> = chunks.collect().await;
        assert_eq!(got.len(), 8, "cut after {} events", got.len());
        assert!(got.iter().all(Result::is_ok));
    }

    #[tokio::test]
    async fn a_client_refused_mid_upload_reads_the_answer() {
        // Refuses without reading the body, as every upload does before
        // the sender is known.
        let app = Router::new().route(
            "/up",
            axum::routing::post(|| async { StatusCode::UNAUTHORIZED }),
        );
        let (addr, shutdown, server) = serving(app).await;
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let size = 20 * 16 * 1024;
        let head = format!(
            "POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
        );
        client.write_all(head.as_bytes()).await.expect("head");
        // The answer is out at once; the client is still sending.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(15)).await;
            client
                .write_all(&[0u8; 16 * 1024])
                .await
                .expect("still sending");
        }
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer));
        read.await.expect("in time").expect("read, not reset");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        shutdown.trigger();
        server.await.expect("join").expect("served");
    }

    #[test]
    fn seconds_are_positive_and_bounded() {
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds("30"), Ok(Duration::from_secs(30)));
        for bad in ["0", "-1", "NaN", "inf", "1e9", "ten"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }
}
