//! `civicprobe rewards add|list|retire` against SQLite and PostgreSQL, as
//! an administrator runs them: checked field by field, listed, retired.

mod common;

use civicprobe_testkit::TestDb;
use common::civicprobe;
use std::path::Path;
use std::process::Output;

/// `civicprobe <args> --data-dir <data> --database-url <url>`.
fn run(data: &Path, url: &str, args: &[&str]) -> Output {
    civicprobe()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .args(["--database-url", url])
        .output()
        .expect("run civicprobe")
}

fn stdout_of(out: &Output, args: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn refused(data: &Path, url: &str, args: &[&str], says: &str) {
    let out = run(data, url, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} was accepted");
    assert!(stderr.contains(says), "{args:?}: {stderr}");
}

async fn rewards_are_added_checked_listed_and_retired(kind: &str) {
    let db = TestDb::of_kind(kind).await.expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, url) = (dir.path(), db.url());
    let add = |name: &'static str, cost: &'static str, stock: &'static str| {
        vec![
            "rewards", "add", "--name", name, "--cost", cost, "--stock", stock,
        ]
    };
    refused(
        data,
        url,
        &add("  ", "5", "1"),
        "name must be 1 to 80 characters",
    );
    refused(
        data,
        url,
        &add("cup", "0", "1"),
        "cost must be an integer from 1 to 100000",
    );
    refused(
        data,
        url,
        &add("cup", "5", "-1"),
        "stock must be an integer from 0 to 1000000",
    );
    let args = add(" 保温杯 thermos ", "50", "20");
    let id = stdout_of(&run(data, url, &args), &args).trim().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let args = add("雨衣", "30", "0");
    stdout_of(&run(data, url, &args), &args);

    let list = stdout_of(&run(data, url, &["rewards", "list"]), &["list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "REWARD_ID\tCOST\tSTOCK\tSTATE\tNAME");
    assert_eq!(lines[1], format!("{id}\t50\t20\tactive\t保温杯 thermos"));
    assert!(lines[2].ends_with("\t30\t0\tactive\t雨衣"), "{list}");
    assert_eq!(lines.len(), 3);

    let retire = ["rewards", "retire", id.as_str()];
    stdout_of(&run(data, url, &retire), &retire);
    let list = stdout_of(&run(data, url, &["rewards", "list"]), &["list"]);
    assert!(
        list.contains(&format!("{id}\t50\t20\tretired\t保温杯 thermos")),
        "{list}"
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(data, url, &["rewards", "retire", &unknown], "not found");
    refused(data, url, &["rewards", "retire", "nope"], "invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rewards_are_added_checked_listed_and_retired() {
    rewards_are_added_checked_listed_and_retired("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rewards_are_added_checked_listed_and_retired() {
    rewards_are_added_checked_listed_and_retired("postgres").await;
}
