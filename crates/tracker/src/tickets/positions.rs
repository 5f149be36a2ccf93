//! Where the district's recent reports were: what `civicprobe jurisdictions
//! check` and the start-up check hold a jurisdictions file against.

use crate::store::Store;
use crate::Error;
use civicprobe_model::Location;
use sqlx::Row;

impl Store {
    /// The WGS-84 positions of the latest `limit` tickets and unrouted
    /// reports, newest first.
    pub async fn recent_positions(&self, limit: u32) -> Result<Vec<Location>, Error> {
        let rows = sqlx::query(
            "SELECT lat, lon, received_at FROM tickets \
             UNION ALL SELECT lat, lon, received_at FROM unrouted \
             ORDER BY received_at DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Location::new(row.try_get("lat")?, row.try_get("lon")?)
                    .map_err(|e| Error::Corrupt(e.to_string()))
            })
            .collect()
    }
}
