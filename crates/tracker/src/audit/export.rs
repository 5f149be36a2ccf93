//! The tickets themselves for a range of receipt dates, as CSV or as a
//! GeoJSON `FeatureCollection`, streamed: rows come from a database cursor
//! (`fetch`) and leave in chunks through a bounded channel, so a year of a
//! city's tickets never sits in memory, and a slow reader slows the
//! cursor instead of filling a buffer.

use super::render::csv_field;
use crate::time_ms::from_ms;
use crate::{Error, Store};
use futures::channel::mpsc;
use futures::{SinkExt, TryStreamExt};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Rows per chunk sent.
const CHUNK_ROWS: usize = 200;
/// Chunks buffered ahead of the reader.
const CHUNKS_AHEAD: usize = 4;

/// The columns exported, in order (no courier ids: they stay private).
pub const COLUMNS: [&str; 18] = [
    "ticket_id",
    "report_id",
    "office_id",
    "category",
    "urgent",
    "state",
    "lat",
    "lon",
    "received_at",
    "acknowledge_by",
    "acknowledged_at",
    "made_safe_at",
    "resolve_by",
    "resolved_at",
    "closed_at",
    "reopen_count",
    "verified_by",
    "text",
];

/// The file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A GeoJSON `FeatureCollection` of points.
    GeoJson,
}

impl ExportFormat {
    /// `csv` or `geojson`.
    pub fn parse(raw: &str) -> Result<ExportFormat, String> {
        match raw {
            "csv" => Ok(ExportFormat::Csv),
            "geojson" => Ok(ExportFormat::GeoJson),
            _ => Err("format must be csv or geojson".into()),
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::GeoJson => "application/geo+json",
        }
    }
}

/// Tickets received from the start of `from` to the end of `to` (UTC
/// days), as unix ms `[from_ms, to_ms)`, optionally of one office.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRange {
    /// First instant included.
    pub from_ms: i64,
    /// First instant excluded.
    pub to_ms: i64,
    /// Only this office's tickets.
    pub office: Option<String>,
}

/// A `YYYY-MM-DD` day's start, unix ms.
fn day_start(raw: &str, field: &'static str) -> Result<i64, (&'static str, String)> {
    let date = time::Date::parse(raw, format_description!("[year]-[month]-[day]"))
        .map_err(|_| (field, format!("{field} must be a date, YYYY-MM-DD")))?;
    Ok(crate::time_ms::to_ms(date.midnight().assume_utc()))
}

impl ExportRange {
    /// From two dates, `to` included; the error names the field at fault.
    pub fn parse(
        from: &str,
        to: &str,
        office: Option<String>,
    ) -> Result<ExportRange, (&'static str, String)> {
        let from_ms = day_start(from, "from")?;
        let to_ms = day_start(to, "to")? + 86_400_000;
        if to_ms <= from_ms {
            return Err(("to", "to must not be before from".into()));
        }
        Ok(ExportRange {
            from_ms,
            to_ms,
            office,
        })
    }
}

const EXPORT_SQL: &str =
    "SELECT ticket_id, report_id, office_id, category, urgent, state, lat, lon, \
 received_at, acknowledge_by, acknowledged_at, made_safe_at, resolve_by, resolved_at, closed_at, \
 reopen_count, verified_by, text FROM tickets \
 WHERE received_at >= $1 AND received_at < $2 AND ($3 = '' OR office_id = $3) \
 ORDER BY received_at, ticket_id";

/// One exported row's values as JSON, by [`COLUMNS`].
fn values(row: &AnyRow) -> Result<Vec<serde_json::Value>, Error> {
    let time = |col: &str| -> Result<serde_json::Value, Error> {
        let ms: Option<i64> = row.try_get(col)?;
        Ok(match ms {
            None => serde_json::Value::Null,
            Some(ms) => json!(from_ms(ms)?
                .format(&Rfc3339)
                .map_err(|e| Error::Corrupt(e.to_string()))?),
        })
    };
    let text = |col: &str| -> Result<serde_json::Value, Error> {
        Ok(json!(row.try_get::<Option<String>, _>(col)?))
    };
    Ok(vec![
        text("ticket_id")?,
        text("report_id")?,
        text("office_id")?,
        text("category")?,
        json!(row.try_get::<i64, _>("urgent")? != 0),
        text("state")?,
        json!(row.try_get::<f64, _>("lat")?),
        json!(row.try_get::<f64, _>("lon")?),
        time("received_at")?,
        time("acknowledge_by")?,
        time("acknowledged_at")?,
        time("made_safe_at")?,
        time("resolve_by")?,
        time("resolved_at")?,
        time("closed_at")?,
        json!(row.try_get::<i64, _>("reopen_count")?),
        text("verified_by")?,
        text("text")?,
    ])
}

/// One row in `format`; `first` for the GeoJSON separator.
fn encode(row: &AnyRow, format: ExportFormat, first: bool) -> Result<String, Error> {
    let values = values(row)?;
    Ok(match format {
        ExportFormat::Csv => {
            let cells: Vec<String> = values
                .iter()
                .map(|v| match v {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => csv_field(s),
                    other => other.to_string(),
                })
                .collect();
            format!("{}\r\n", cells.join(","))
        }
        ExportFormat::GeoJson => {
            let (lat, lon) = (values[6].clone(), values[7].clone());
            let properties: serde_json::Map<String, serde_json::Value> = COLUMNS
                .iter()
                .map(|c| (*c).to_owned())
                .zip(values)
                .filter(|(c, _)| c != "lat" && c != "lon")
                .collect();
            let feature = json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [lon, lat] },
                "properties": properties,
            });
            format!("{}{feature}", if first { "\n" } else { ",\n" })
        }
    })
}

/// What comes before and after the rows.
fn frame(format: ExportFormat) -> (String, &'static str) {
    match format {
        ExportFormat::Csv => (format!("{}\r\n", COLUMNS.join(",")), ""),
        ExportFormat::GeoJson => (
            "{\"type\":\"FeatureCollection\",\"features\":[".to_owned(),
            "\n]}\n",
        ),
    }
}

impl Store {
    /// The tickets of `range` in `format`, as a stream of chunks; an error
    /// mid-way ends the stream with it (the reader sees a cut file, never a
    /// complete-looking one).
    pub fn export_tickets(
        &self,
        range: ExportRange,
        format: ExportFormat,
    ) -> mpsc::Receiver<Result<String, Error>> {
        let (mut tx, rx) = mpsc::channel(CHUNKS_AHEAD);
        let pool = self.pool().clone();
        tokio::spawn(async move {
            let outcome = stream_rows(&pool, &range, format, &mut tx).await;
            if let Err(e) = outcome {
                tracing::warn!(error = %e, "export: stopped");
                let _ = tx.send(Err(e)).await;
            }
        });
        rx
    }
}

/// Sends the header, the rows in chunks, the footer.
async fn stream_rows(
    pool: &sqlx::AnyPool,
    range: &ExportRange,
    format: ExportFormat,
    tx: &mut mpsc::Sender<Result<String, Error>>,
) -> Result<(), Error> {
    let (head, tail) = frame(format);
    let gone = |_| Error::Corrupt("the reader went away".into());
    let mut rows = sqlx::query(EXPORT_SQL)
        .bind(range.from_ms)
        .bind(range.to_ms)
        .bind(range.office.clone().unwrap_or_default())
        .fetch(pool);
    let (mut chunk, mut n, mut first) = (head, 0, true);
    while let Some(row) = rows.try_next().await? {
        chunk.push_str(&encode(&row, format, first)?);
        (n, first) = (n + 1, false);
        if n % CHUNK_ROWS == 0 {
            tx.send(Ok(std::mem::take(&mut chunk)))
                .await
                .map_err(gone)?;
        }
    }
    chunk.push_str(tail);
    tx.send(Ok(chunk)).await.map_err(gone)?;
    metrics::counter!("civicprobe_tracker_exported_tickets_total").increment(n as u64);
    Ok(())
}
