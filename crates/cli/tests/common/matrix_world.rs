//! The world the authorization matrix (`tests/authz.rs`) runs in: the
//! whole pipeline in-process on a testkit nats-server and a fresh SQLite or
//! PostgreSQL database, the people it calls as, and the reports, tickets
//! and photos every endpoint is aimed at.

use anyhow::{bail, ensure, Context};
use civicprobe::stack::{Stack, StackConfig};
use civicprobe_testkit::{NatsServer, TestDb};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use crate::common::{jpeg_part, report_form};
pub use crate::matrix_people::{register, Caller, People, Session, A_TEXT, B_TEXT};

/// Outside every area of `fixtures/jurisdictions.geojson` (east of it).
pub const OUTSIDE: (f64, f64) = (29.84, 114.50);
/// The Origin a cross-site page sends.
pub const EVIL_ORIGIN: &str = "http://evil.example";

/// One running pipeline and what the cells aim at.
pub struct World {
    pub stack: Stack,
    pub http: Client,
    pub base: String,
    pub people: People,
    /// Office X's browser session.
    pub session: Session,
    /// Distinct photos: no two reports share a perceptual hash.
    photos: AtomicU32,
    /// Distinct spots in office X's area, about 100 m apart.
    spots: AtomicU32,
    // Dropped last: the stack stops before its NATS and database go.
    _data: tempfile::TempDir,
    _db: TestDb,
    _nats: NatsServer,
}

impl World {
    /// NATS, database, stack, people, office X's session.
    pub async fn start(db_kind: &str) -> anyhow::Result<Self> {
        civicprobe_testkit::init_tracing();
        let nats = NatsServer::start()?;
        let db = TestDb::of_kind(db_kind).await?;
        let data = tempfile::tempdir()?;
        let fixtures = crate::common::repo().join("fixtures");
        let mut config = StackConfig::new(data.path().to_path_buf(), nats.url(), &fixtures);
        config.database.database_url = Some(db.url().to_owned());
        // The fixtures are many reports of two couriers within seconds.
        config.ingest.rate_per_minute = 60_000.0;
        config.ingest.rate_burst = 1_000;
        // Manhole tickets overdue within seconds: the overdue list has
        // something to keep from the other office.
        let policy = data.path().join("policy.toml");
        std::fs::write(&policy, POLICY)?;
        config.router_options.policy = policy;
        let stack = Stack::start(config).await?;
        let people = register(&stack.store).await?;
        let mut world = World {
            base: stack.base_url(),
            stack,
            http: Client::new(),
            people,
            session: Session {
                jar: String::new(),
                csrf: String::new(),
            },
            photos: AtomicU32::new(1),
            spots: AtomicU32::new(0),
            _data: data,
            _db: db,
            _nats: nats,
        };
        world.session = world.sign_in(&world.people.office_x.clone()).await?;
        Ok(world)
    }

    /// The bearer token a caller sends; for the cookies, the token of the
    /// session's owner (office X), which they put in a body where one is
    /// asked for (sign-in, Open311's `api_key`).
    pub fn token_of(&self, caller: Caller) -> Option<&str> {
        let p = &self.people;
        Some(match caller {
            Caller::None => return None,
            Caller::Junk => &p.junk,
            Caller::CourierA => &p.a,
            Caller::CourierB => &p.b,
            Caller::Supervisor => &p.supervisor,
            Caller::OfficeY => &p.office_y,
            Caller::OfficeX
            | Caller::CookieNoCsrf
            | Caller::CookieForeignOrigin
            | Caller::Cookie => &p.office_x,
        })
    }

    /// A request as `caller` sends it (cookies from `session`).
    pub fn request(
        &self,
        method: Method,
        path: &str,
        caller: Caller,
        session: &Session,
    ) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match caller {
            Caller::None => r,
            Caller::CookieNoCsrf => r.header(COOKIE, &session.jar).header("origin", &self.base),
            Caller::CookieForeignOrigin => r
                .header(COOKIE, &session.jar)
                .header(civicprobe_web::auth::CSRF_HEADER, &session.csrf)
                .header("origin", EVIL_ORIGIN),
            Caller::Cookie => r
                .header(COOKIE, &session.jar)
                .header(civicprobe_web::auth::CSRF_HEADER, &session.csrf)
                .header("origin", &self.base),
            _ => r.bearer_auth(self.token_of(caller).unwrap_or_default()),
        }
    }

    /// `POST /session` from this site with `token`.
    pub async fn sign_in(&self, token: &str) -> anyhow::Result<Session> {
        let r = self
            .http
            .post(format!("{}/session", self.base))
            .header("origin", &self.base)
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await?;
        ensure!(r.status() == 200, "sign-in: {}", r.status());
        let pairs: Vec<String> = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        let csrf_prefix = format!("{}=", civicprobe_web::auth::CSRF_COOKIE);
        let csrf = pairs
            .iter()
            .find_map(|p| p.strip_prefix(&csrf_prefix))
            .context("no CSRF cookie")?
            .to_owned();
        Ok(Session {
            jar: pairs.join("; "),
            csrf,
        })
    }

    /// A photo no other report of this world has (random 16 px blocks).
    pub fn next_photo(&self) -> Vec<u8> {
        photo(self.photos.fetch_add(1, Ordering::Relaxed))
    }

    /// A spot in office X's area no other ticket of this world is near.
    fn next_spot(&self) -> (f64, f64) {
        let i = f64::from(self.spots.fetch_add(1, Ordering::Relaxed));
        let (row, col) = ((i / 40.0).floor(), i % 40.0);
        (29.825 + row * 0.001, 114.29 + col * 0.001)
    }

    /// A courier's report at `at`; its id.
    pub async fn submit(&self, token: &str, at: (f64, f64), text: &str) -> anyhow::Result<String> {
        let key = uuid::Uuid::new_v4().to_string();
        let photo = self.next_photo();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .http
                .post(format!("{}/v1/reports", self.base))
                .bearer_auth(token)
                .header("idempotency-key", &key)
                .multipart(report_form(at, text, photo.clone()))
                .send()
                .await?;
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            // A courier app retries when told to wait (rate or upload caps).
            let busy = status == 429 || status == 503;
            if !busy || Instant::now() > deadline {
                ensure!(status == 202, "submit: {status} {body}");
                return Ok(body["report_id"].as_str().context("report_id")?.to_owned());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `GET path` as the supervisor, as JSON.
    pub async fn supervisor_get(&self, path: &str) -> anyhow::Result<Value> {
        self.get_as(&self.people.supervisor, path).await
    }

    /// `GET path` with `token`, as JSON.
    pub async fn get_as(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        ensure!(r.status() == 200, "GET {path}: {}", r.status());
        Ok(r.json().await?)
    }

    /// The tickets of the courier's `reports`, once the pipeline has
    /// opened or joined them (30 s at most).
    pub async fn tickets_of(&self, token: &str, reports: &[String]) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let me = self.get_as(token, "/v1/couriers/me").await?;
            let ticket = |id: &String| {
                me["reports"].as_array()?.iter().find_map(|r| {
                    (r["report_id"] == id.as_str())
                        .then(|| r["ticket_id"].as_str().map(str::to_owned))?
                })
            };
            let found: Option<Vec<String>> = reports.iter().map(ticket).collect();
            if let Some(found) = found {
                return Ok(found);
            }
            if Instant::now() > deadline {
                bail!("no tickets for {reports:?}: {me}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `n` new tickets in office X's area, each opened by courier A's
    /// report and joined by courier B's (same spot, same category).
    pub async fn new_tickets(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let spots: Vec<(f64, f64)> = (0..n).map(|_| self.next_spot()).collect();
        let a_reports = self.submit_all(&self.people.a, &spots, A_TEXT).await?;
        let tickets = self.tickets_of(&self.people.a, &a_reports).await?;
        let b_reports = self.submit_all(&self.people.b, &spots, B_TEXT).await?;
        let joined = self.tickets_of(&self.people.b, &b_reports).await?;
        ensure!(
            joined == tickets,
            "B's reports were not merged: {joined:?} vs {tickets:?}"
        );
        Ok(tickets)
    }

    /// `n` new reports of courier A outside every area, once unrouted.
    pub async fn new_unrouted(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let spots = vec![OUTSIDE; n];
        let reports = self.submit_all(&self.people.a, &spots, A_TEXT).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.all_unrouted(&reports).await? {
            ensure!(Instant::now() < deadline, "{reports:?} never unrouted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(reports)
    }

    /// Whether every one of `reports` is in `GET /v1/unrouted`.
    pub async fn all_unrouted(&self, reports: &[String]) -> anyhow::Result<bool> {
        let list = self.supervisor_get("/v1/unrouted").await?;
        let listed = |id: &String| {
            list.as_array()
                .is_some_and(|l| l.iter().any(|u| u["report_id"] == id.as_str()))
        };
        Ok(reports.iter().all(listed))
    }

    async fn submit_all(
        &self,
        token: &str,
        spots: &[(f64, f64)],
        text: &str,
    ) -> anyhow::Result<Vec<String>> {
        futures::stream::iter(spots.iter().map(|at| self.submit(token, *at, text)))
            .buffered(4)
            .try_collect()
            .await
    }

    /// A supervisor's action on a ticket (to bring it to a state).
    pub async fn supervisor_act(
        &self,
        ticket: &str,
        action: &str,
        body: Value,
    ) -> anyhow::Result<()> {
        let r = self
            .http
            .post(format!("{}/v1/tickets/{ticket}/{action}", self.base))
            .bearer_auth(&self.people.supervisor)
            .json(&body)
            .send()
            .await?;
        ensure!(r.status() == 200, "{action} {ticket}: {}", r.status());
        Ok(())
    }
}

/// The built-in deadlines, except that manhole tickets are overdue at once.
const POLICY: &str = r#"
[manhole.urgent]
acknowledge = "1s"
make_safe = "2s"
resolve = "3s"

[manhole.routine]
acknowledge = "1s"
make_safe = "2s"
resolve = "3s"
"#;

/// A 256×256 JPEG of random grey 16 px blocks drawn from `seed`: photos of
/// different seeds are far apart in perceptual hash.
pub fn photo(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761) ^ 0x9e37_79b9;
    let blocks: Vec<u8> = (0..256)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let image = image::RgbImage::from_fn(256, 256, |x, y| {
        let v = blocks[((y / 16) * 16 + x / 16) as usize];
        image::Rgb([v, v / 2 + 64, 255 - v])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding in memory");
    out.into_inner()
}
