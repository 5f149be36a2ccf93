//! Benchmark of the response-time audit on PostgreSQL: generates N tickets
//! (default 1,000,000) in a fresh database with one `INSERT … SELECT
//! generate_series`, then times `Store::response_times` (binary `COPY` of
//! a few integers per ticket, grouped and ranked in Rust) for several
//! groupings, and once the portable path (every ticket's row through the
//! `Any` pool) as the baseline measured in the same run; both paths must
//! agree on `office` and on all four dimensions. The KPIs (`Store::kpis`,
//! a GROUP BY) are timed after, against the audit's time in the same run.
//!
//! ```text
//! cargo run --release -p civicprobe-tracker --example gen_audit_bench [-- N]
//! ```
//!
//! The database is created on `CIVICPROBE_TEST_POSTGRES` (default: the
//! local server) and dropped at the end (kept, and its URL printed, when
//! `BENCH_KEEP` is set). `BENCH_DATABASE_URL` reuses such a kept database
//! instead of generating one.

use civicprobe_testkit::TestDb;
use civicprobe_tracker::audit::Dimension;
use civicprobe_tracker::Store;
use std::time::{Duration, Instant};

/// Fills `tickets` with `n` rows: 12 offices, 4 categories, a fifth urgent,
/// one every 30 s (about a year for a million), most acknowledged, many
/// made safe and resolved, 0.1 % with a negative acknowledgement, 2 %
/// reopened.
const GENERATE: &str = "
INSERT INTO tickets (ticket_id, report_id, office_id, office_name, category, urgent, state,
    courier_id, lat, lon, accuracy_m, text, photos_json, reported_at, received_at, opened_at,
    acknowledge_by, make_safe_by, resolve_by, acknowledged_at, made_safe_at, resolved_at,
    closed_at, version, reopen_count)
SELECT 'bench-t-' || i, 'bench-r-' || i, 'office' || (i % 12), 'Office ' || (i % 12),
    (ARRAY['manhole', 'elevator', 'electrical_box', 'other'])[1 + (i / 7) % 4],
    CASE WHEN i % 5 = 0 THEN 1 ELSE 0 END,
    CASE WHEN i % 10 < 6 THEN 'resolved' WHEN i % 10 < 9 THEN 'acknowledged' ELSE 'open' END,
    'courier-' || (i % 5000), 29.84, 114.32, NULL, NULL, '[]', NULL,
    r, r + 1000,
    r + CASE WHEN i % 5 = 0 THEN 1800000 ELSE 14400000 END,
    r + CASE WHEN i % 5 = 0 THEN 7200000 ELSE 86400000 END,
    r + CASE WHEN i % 5 = 0 THEN 86400000 ELSE 604800000 END,
    CASE WHEN i % 1000 = 7 THEN r - 60000
         WHEN i % 10 < 9 THEN r + (hashint(i) % 7200000) END,
    CASE WHEN i % 10 < 7 THEN r + 600000 + (hashint(i + 1) % 20000000) END,
    CASE WHEN i % 10 < 6 THEN r + 3600000 + (hashint(i + 2) % 900000000) END,
    NULL, 1, CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END
FROM (SELECT i, 1735689600000::BIGINT + i * 30000 AS r FROM generate_series(1, $1) AS i) g";

/// A cheap deterministic non-negative hash of an integer, in SQL.
const HASHINT: &str = "CREATE OR REPLACE FUNCTION hashint(x BIGINT) RETURNS BIGINT \
    LANGUAGE SQL IMMUTABLE AS $$ SELECT abs(hashint8(x) % 1000000000000) $$";

/// The KPIs (one GROUP BY through the `Any` pool) timed like the audit,
/// against the audit's own median for `office` in this run.
async fn kpis(store: &Store, audit_office_ms: f64) -> anyhow::Result<()> {
    use Dimension::{Month, Office};
    println!(
        "{:<32} {:>8} {:>10} {:>10}",
        "KPIs group_by (GROUP BY)", "groups", "best ms", "median ms"
    );
    for dims in [&[Office][..], &[Office, Month][..]] {
        let median = timed_row(dims, || async { Ok(store.kpis(dims).await?.groups.len()) }).await?;
        if dims == [Office] {
            println!(
                "KPIs by office take {:.2}x the audit's time by office (same run)",
                median / audit_office_ms
            );
        }
    }
    Ok(())
}

/// Runs `grouped` (which answers how many groups it made) five times,
/// prints one table row (groups, best and median ms) and returns the
/// median.
async fn timed_row<F, Fut>(dims: &[Dimension], grouped: F) -> anyhow::Result<f64>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut runs = Vec::new();
    let mut groups = 0;
    for _ in 0..5 {
        let (took, answered) = time(grouped()).await;
        groups = answered?;
        runs.push(took.as_secs_f64() * 1000.0);
    }
    runs.sort_by(f64::total_cmp);
    let label: Vec<&str> = dims.iter().map(|d| d.as_str()).collect();
    println!(
        "{:<32} {groups:>8} {:>10.0} {:>10.0}",
        label.join(","),
        runs[0],
        runs[2]
    );
    Ok(runs[2])
}

async fn time<T>(f: impl std::future::Future<Output = T>) -> (Duration, T) {
    let start = Instant::now();
    let out = f.await;
    (start.elapsed(), out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: i64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let reuse = std::env::var("BENCH_DATABASE_URL").ok();
    let db = match reuse {
        Some(_) => None,
        None => Some(TestDb::postgres().await?),
    };
    let url = reuse
        .as_deref()
        .or(db.as_ref().map(TestDb::url))
        .unwrap_or_default();
    let store = Store::connect(url).await?;
    if db.is_some() {
        sqlx::query(HASHINT).execute(store.pool()).await?;
        let (took, _) = time(sqlx::query(GENERATE).bind(n).execute(store.pool())).await;
        println!("generated {n} tickets in {:.1} s", took.as_secs_f64());
        sqlx::query("VACUUM ANALYZE tickets")
            .execute(store.pool())
            .await?;
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(store.pool())
        .await?;
    println!("{total} tickets in PostgreSQL");

    use Dimension::{Category, Month, Office, Urgent, Week};
    let groupings: [&[Dimension]; 6] = [
        &[Office],
        &[Category],
        &[Office, Category],
        &[Week],
        &[Month],
        &[Office, Category, Urgent, Week],
    ];
    println!(
        "{:<32} {:>8} {:>10} {:>10}",
        "group_by (PostgreSQL COPY)", "groups", "best ms", "median ms"
    );
    let mut office_ms = 0.0;
    for dims in groupings {
        let median = timed_row(dims, || async {
            Ok(store.response_times(dims).await?.groups.len())
        })
        .await?;
        if dims == [Office] {
            office_ms = median;
        }
    }
    let (took, portable) = time(store.response_times_in_rust(&[Office])).await;
    let fast = store.response_times(&[Office]).await?;
    assert_eq!(portable?, fast, "the COPY and portable paths agree");
    let all = [Office, Category, Urgent, Week];
    let portable_all = store.response_times_in_rust(&all).await?;
    assert_eq!(
        portable_all,
        store.response_times(&all).await?,
        "on all four"
    );
    let rust_ms = took.as_secs_f64() * 1000.0;
    println!(
        "baseline: every row through the Any pool (group_by=office): {rust_ms:.0} ms; \
         COPY is {:.1}x faster (figures identical, also on all four dimensions)",
        rust_ms / office_ms
    );
    kpis(&store, office_ms).await?;
    store.close().await;
    if let (Some(db), Some(_)) = (db, std::env::var_os("BENCH_KEEP")) {
        println!("kept: BENCH_DATABASE_URL={}", db.url());
        std::mem::forget(db);
    }
    Ok(())
}
