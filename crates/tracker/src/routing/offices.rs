//! The known street offices: the targets a supervisor may reroute or route
//! to. An office is known once it is in the `offices` table: seeded from
//! the jurisdictions file a stack loads ([`Store::seed_offices`]),
//! registered with `civicprobe office add`, or named by a ticket the
//! router opened (the router only names offices of its jurisdictions).

use crate::store::Store;
use crate::Error;
use civicprobe_model::OfficeId;

impl Store {
    /// Adds every `(office, display name)` to the known offices, renaming
    /// the ones already known; in one transaction.
    pub async fn seed_offices<'a>(
        &self,
        offices: impl IntoIterator<Item = (&'a OfficeId, &'a str)>,
    ) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for (office_id, name) in offices {
            sqlx::query(
                "INSERT INTO offices (office_id, name) VALUES ($1, $2) \
                 ON CONFLICT (office_id) DO UPDATE SET name = excluded.name",
            )
            .bind(office_id.as_str())
            .bind(name)
            .execute(&mut *tx)
            .await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Whether `office` is a known office.
    pub async fn office_known(&self, office: &OfficeId) -> Result<bool, Error> {
        Ok(sqlx::query("SELECT 1 FROM offices WHERE office_id = $1")
            .bind(office.as_str())
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Every known office's display name, by office id.
    pub async fn office_names(&self) -> Result<std::collections::HashMap<String, String>, Error> {
        use sqlx::Row;
        let rows = sqlx::query("SELECT office_id, name FROM offices")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("office_id")?, r.try_get("name")?)))
            .collect()
    }
}
