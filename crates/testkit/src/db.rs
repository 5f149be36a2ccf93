//! A fresh database per test.

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection};

/// Where PostgreSQL tests create their databases: `CIVICPROBE_TEST_POSTGRES`
/// or the machine's local server with trust auth.
pub fn postgres_admin_url() -> String {
    std::env::var("CIVICPROBE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
#[derive(Debug)]
pub enum TestDb {
    /// A SQLite file in a temporary folder, deleted on drop.
    Sqlite {
        /// `sqlite://…?mode=rwc`.
        url: String,
        /// Holds the file.
        dir: tempfile::TempDir,
    },
    /// A new database on the PostgreSQL server, dropped on drop.
    Postgres {
        /// `postgres://…/<name>`.
        url: String,
        /// The database's name.
        name: String,
    },
}

impl TestDb {
    /// A new, empty SQLite database file.
    pub fn sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("civicprobe.db").display()
        );
        Ok(TestDb::Sqlite { url, dir })
    }

    /// A new, empty PostgreSQL database. Fails (never skips) when the
    /// server is not reachable: the PostgreSQL tests must run.
    pub async fn postgres() -> anyhow::Result<Self> {
        let admin = postgres_admin_url();
        let mut conn = PgConnection::connect(&admin)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin}"))?;
        let name = format!("civicprobe_test_{}", uuid::Uuid::new_v4().simple());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let (base, _) = admin
            .rsplit_once('/')
            .context("admin URL has no database")?;
        Ok(TestDb::Postgres {
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// One of each kind by name: `"sqlite"` or `"postgres"`.
    pub async fn of_kind(kind: &str) -> anyhow::Result<Self> {
        match kind {
            "sqlite" => Self::sqlite(),
            "postgres" => Self::postgres().await,
            other => anyhow::bail!("unknown database kind {other:?}"),
        }
    }

    /// The connection URL for the services.
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let TestDb::Postgres { name, .. } = self else {
            return;
        };
        let name = name.clone();
        // Drop runs inside or outside a runtime; a thread of its own with its
        // own runtime works in both.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&postgres_admin_url()).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = conn.execute(sql.as_str()).await;
                }
            });
        })
        .join();
    }
}
