//! The authorization matrix: every endpoint of `civicprobe up` against
//! every kind of caller (no token, a junk token, couriers A and B, offices
//! X and Y, a supervisor, and office X's browser session three ways: no
//! CSRF token, a foreign Origin, and proper), on SQLite and on PostgreSQL.
//!
//! Each cell asserts the status least privilege allows, that an error body
//! is problem+json (Open311 may answer its own error documents), that the
//! body carries no courier id or text the caller may not see, and that a
//! refused call changed nothing. Every failing cell is listed at once.
//! [`every_route_has_a_row`] reads the crates' sources so that a new route
//! without a row fails.
//!
//! The table's seven words per row are the answers to: none, junk,
//! courier A, courier B, office X, office Y, supervisor. The cookie
//! columns follow from office X, whose session the cookies are: a safe
//! method answers as office X; an unsafe one is a 403
//! `/problems/cross-site-request` without the CSRF token or with a foreign
//! Origin, and answers as office X with both right. Words: a status; `no`
//! 403 or 404; `key` 401 or 403; `hid` 404 or 200 with nothing of the
//! other courier; `pub` 200 or 404 (the district decides whether Open311
//! serves photos); `out` 204 or 401 (signing out without a session).

mod common;
#[path = "common/matrix_check.rs"]
mod matrix_check;
#[path = "common/matrix_people.rs"]
mod matrix_people;
#[path = "common/matrix_rows.rs"]
mod matrix_rows;
#[path = "common/matrix_targets.rs"]
mod matrix_targets;
#[path = "common/matrix_world.rs"]
mod matrix_world;

use matrix_check::{error_body_fault, routes_in_source, Expect};
use matrix_rows::{rows, Body, Row};
use matrix_targets::{Aim, Targets};
use matrix_world::{report_form, Caller, World, OUTSIDE};
use reqwest::RequestBuilder;
use std::collections::BTreeSet;

/// What `caller` may get from `row`.
fn expectation(row: &Row, caller: Caller) -> Expect {
    let words: Vec<&str> = row.expect.split_whitespace().collect();
    assert_eq!(
        words.len(),
        7,
        "{} {}: {:?}",
        row.method,
        row.path,
        row.expect
    );
    let column = match caller {
        Caller::CookieNoCsrf | Caller::CookieForeignOrigin if row.method != "GET" => {
            return Expect::Is(403);
        }
        c if c.is_cookie() => 4,
        c => Caller::ALL.iter().position(|x| *x == c).expect("a caller"),
    };
    Expect::parse(words[column])
}

fn with_body(
    world: &World,
    targets: &Targets,
    row: &Row,
    caller: Caller,
    req: RequestBuilder,
) -> RequestBuilder {
    let token = world.token_of(caller).unwrap_or_default().to_owned();
    match row.body {
        Body::Empty => req,
        Body::Json(json) => req.header("content-type", "application/json").body(json),
        Body::SignIn => req.json(&serde_json::json!({ "token": token })),
        Body::Report => req
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .multipart(report_form(OUTSIDE, "matrix report", world.next_photo())),
        Body::ProofPhoto => req.multipart(reqwest::multipart::Form::new().part(
            "photo",
            matrix_world::jpeg_part(targets.proof_photo.clone()),
        )),
        Body::Open311 => {
            let mut form = vec![
                ("service_code", "manhole".to_owned()),
                ("lat", OUTSIDE.0.to_string()),
                ("long", OUTSIDE.1.to_string()),
                ("description", "matrix open311 request".to_owned()),
            ];
            if caller != Caller::None {
                form.push(("api_key", token));
            }
            req.form(&form)
        }
        Body::Open311Update => {
            let mut form = vec![
                ("update_id", uuid::Uuid::new_v4().to_string()),
                ("status", "OPEN".to_owned()),
                ("description", "matrix resident update".to_owned()),
            ];
            if caller != Caller::None {
                form.push(("api_key", token));
            }
            req.form(&form)
        }
    }
}

/// What a cell got back.
struct Answer {
    status: u16,
    content_type: String,
    /// As text (photos lossily).
    body: String,
}

/// Sends `row` as `caller` at `aim`.
async fn send(
    world: &World,
    targets: &Targets,
    row: &Row,
    caller: Caller,
    aim: &Aim,
) -> anyhow::Result<Answer> {
    let session = aim.session.as_ref().unwrap_or(&world.session);
    let request = world.request(row.method.parse()?, &aim.fill(row.path), caller, session);
    let response = with_body(world, targets, row, caller, request)
        .send()
        .await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = if content_type.starts_with("text/event-stream") {
        first_event(response).await?
    } else {
        String::from_utf8_lossy(&response.bytes().await?).into_owned()
    };
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

/// An event stream never ends: its first event (`ready`) stands for it.
async fn first_event(mut response: reqwest::Response) -> anyhow::Result<String> {
    let mut text = String::new();
    while !text.contains("\n\n") {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    Ok(text)
}

/// What is wrong with `answer`; `change` is the target's state before and
/// after, if the cell changed it.
fn judge(
    world: &World,
    targets: &Targets,
    row: &Row,
    caller: Caller,
    answer: &Answer,
    change: Option<(String, String)>,
) -> Vec<String> {
    let expect = expectation(row, caller);
    let mut faults = Vec::new();
    if !expect.allows(answer.status) {
        faults.push(format!("expected {}, got {}", expect.word(), answer.status));
    }
    let open311 = row.path.starts_with("/open311/");
    faults.extend(error_body_fault(
        open311,
        answer.status,
        &answer.content_type,
        &answer.body,
    ));
    let csrf = caller.is_cookie() && caller != Caller::Cookie && row.method != "GET";
    if csrf && !answer.body.contains("/problems/cross-site-request") {
        faults.push("not refused as a cross-site request".into());
    }
    let leaked = world
        .people
        .leaks(&targets.ticket_a, caller, open311, &answer.body);
    if !leaked.is_empty() {
        faults.push(format!("shows {}", leaked.join(", ")));
    }
    match change {
        Some((before, after)) if !expect.may_change() => {
            faults.push(format!("changed its target ({before} -> {after})"));
        }
        _ => {}
    }
    faults
}

/// Runs one cell: its status, and what is wrong with it, if anything.
async fn cell(
    world: &World,
    targets: &mut Targets,
    row: &Row,
    caller: Caller,
) -> anyhow::Result<(u16, Option<String>)> {
    let aim: Aim = targets.aim(world, row.target).await?;
    let before = targets.snapshot(world, &aim).await?;
    let answer = send(world, targets, row, caller, &aim).await?;
    let after = targets.snapshot(world, &aim).await?;
    let change = (before != after).then_some((before, after));
    if change.is_some() {
        targets.used_up(&aim);
    }
    let faults = judge(world, targets, row, caller, &answer, change);
    let shown: String = answer.body.chars().take(160).collect();
    let fault = (!faults.is_empty()).then(|| {
        let path = aim.fill(row.path);
        format!(
            "{} {path} as {caller:?}: {}; body {shown:?}",
            row.method,
            faults.join("; ")
        )
    });
    Ok((answer.status, fault))
}

async fn matrix(db: &str) -> anyhow::Result<()> {
    let world = World::start(db).await?;
    let mut targets = Targets::prepare(&world).await?;
    let (mut failures, mut grid, mut cells) = (Vec::new(), String::new(), 0);
    for row in rows() {
        let mut line = format!(
            "{:5} {:40} {:22}",
            row.method,
            row.path,
            format!("{:?}", row.target)
        );
        let mut statuses = BTreeSet::new();
        for caller in Caller::ALL {
            let (status, fault) = cell(&world, &mut targets, &row, caller).await?;
            let mark = if fault.is_some() { "!" } else { " " };
            line.push_str(&format!(" {status}{mark}"));
            statuses.insert(status);
            failures.extend(fault);
            cells += 1;
        }
        if row.expect.starts_with("pub") && statuses.len() > 1 {
            failures.push(format!(
                "{} {}: a public read answers callers differently: {statuses:?}",
                row.method, row.path
            ));
        }
        grid.push_str(&line);
        grid.push('\n');
    }
    println!("{db}: callers {:?}\n{grid}", Caller::ALL);
    world.stack.stop().await?;
    assert!(
        failures.is_empty(),
        "{db}: {} of {cells} cells fail least privilege:\n{}\n\n{grid}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_holds_least_privilege_on_sqlite() -> anyhow::Result<()> {
    matrix("sqlite").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_holds_least_privilege_on_postgres() -> anyhow::Result<()> {
    matrix("postgres").await
}

/// The table and the sources name the same routes: a route added without a
/// row (or a row left for a removed route) fails here.
#[test]
fn every_route_has_a_row() {
    let (routes, opaque) = routes_in_source(&common::repo());
    let table = rows();
    let rows: BTreeSet<(String, String)> = table
        .iter()
        .filter(|r| !r.route.is_empty())
        .map(|r| (r.method.to_owned(), r.route.to_owned()))
        .collect();
    let missing: Vec<_> = routes.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&routes).collect();
    assert!(routes.len() > 30, "found only {routes:?}");
    assert!(
        missing.is_empty() && stale.is_empty() && opaque.is_empty(),
        "routes without a matrix row: {missing:?}\nrows without a route: {stale:?}\nrouters the matrix cannot read: {opaque:?}"
    );
    for row in &table {
        let words = row.expect.split_whitespace().count();
        assert_eq!(words, 7, "{} {}", row.method, row.path);
    }
}
