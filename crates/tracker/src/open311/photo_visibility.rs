//! Report photos a supervisor hid from public view (Open311's `media_url`
//! and `/open311/v2/media/…`). Each hide and unhide is logged with its
//! actor; `hidden_photos` holds the photos hidden now.

use crate::store::Store;
use crate::tickets::rows::parsed;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{ReportId, ReportUnrouted};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

impl Store {
    /// How many photos the tracker knows report `report` has, or `None`
    /// for a report it does not know (neither part of a ticket nor
    /// unrouted).
    pub async fn report_photo_count(&self, report: ReportId) -> Result<Option<usize>, Error> {
        let id = report.to_string();
        let row = sqlx::query(
            "SELECT COALESCE(r.photos_json, t.photos_json) AS photos FROM ticket_reporters r \
             LEFT JOIN tickets t ON t.report_id = r.report_id WHERE r.report_id = $1",
        )
        .bind(&id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            let photos: Option<String> = row.try_get("photos")?;
            let photos: Vec<serde_json::Value> = match photos {
                Some(json) => serde_json::from_str(&json)?,
                // A duplicate merged before reporters' photos were kept.
                None => return Ok(Some(usize::MAX)),
            };
            return Ok(Some(photos.len()));
        }
        let row = sqlx::query("SELECT payload_json FROM unrouted WHERE report_id = $1")
            .bind(&id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let lost: ReportUnrouted = serde_json::from_str(&row.try_get::<String, _>(0)?)?;
            Ok(lost.report.photos.len())
        })
        .transpose()
    }

    /// Hides (`hidden`) or shows again photo `n` of `report`, logging
    /// `actor`; returns whether the visibility changed.
    pub async fn set_photo_hidden(
        &self,
        report: ReportId,
        n: u32,
        hidden: bool,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let changed = if hidden {
            sqlx::query(
                "INSERT INTO hidden_photos (report_id, n, hidden_by, hidden_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (report_id, n) DO NOTHING",
            )
            .bind(report.to_string())
            .bind(i64::from(n))
            .bind(actor)
            .bind(to_ms(at))
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM hidden_photos WHERE report_id = $1 AND n = $2")
                .bind(report.to_string())
                .bind(i64::from(n))
                .execute(&mut *tx)
                .await?
        };
        sqlx::query(
            "INSERT INTO photo_visibility_log (change_id, report_id, n, hidden, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(report.to_string())
        .bind(i64::from(n))
        .bind(i64::from(hidden))
        .bind(actor)
        .bind(to_ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(changed.rows_affected() == 1)
    }

    /// The hidden photo numbers of `report`.
    pub async fn hidden_photos(&self, report: ReportId) -> Result<HashSet<u32>, Error> {
        let mut all = self.hidden_photos_of(&[report]).await?;
        Ok(all.remove(&report).unwrap_or_default())
    }

    /// The hidden photo numbers of each of `reports` that has any (at most
    /// the first 1000 reports are looked at), in one query.
    pub async fn hidden_photos_of(
        &self,
        reports: &[ReportId],
    ) -> Result<HashMap<ReportId, HashSet<u32>>, Error> {
        let reports = &reports[..reports.len().min(1000)];
        if reports.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders: Vec<String> = (1..=reports.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT report_id, n FROM hidden_photos WHERE report_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for r in reports {
            query = query.bind(r.to_string());
        }
        let mut hidden: HashMap<ReportId, HashSet<u32>> = HashMap::new();
        for row in query.fetch_all(&self.pool).await? {
            let n: i64 = row.try_get("n")?;
            let n =
                u32::try_from(n).map_err(|e| Error::Corrupt(format!("hidden photo {n}: {e}")))?;
            hidden
                .entry(parsed(&row, "report_id")?)
                .or_default()
                .insert(n);
        }
        Ok(hidden)
    }
}
