//! `GET /v1/audit/offices/{office_id}/monthly?month=YYYY-MM`: one office's
//! month on one printable page (HTML, every value escaped, print CSS in
//! `/assets/report.css`): its KPIs, its response times, the KPIs by
//! category, and the tickets received that month. A supervisor sees any
//! office's; an office its own (another's is a 404); couriers none.

use crate::audit::kpi::{GroupKpis, Rate, Scope};
use crate::audit::render::{human, percent};
use crate::audit::{Dimension, StepTimes};
use crate::http::{observe_response, principal, ApiError};
use crate::{Error, Store};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use civicprobe_model::{OfficeId, Principal};
use serde::Deserialize;
use sqlx::Row;
use std::fmt::Write;

/// Tickets listed on one page at most.
const LISTED: i64 = 1000;

/// `?month=YYYY-MM`.
#[derive(Debug, Deserialize)]
pub(crate) struct MonthQuery {
    /// The calendar month (UTC).
    month: Option<String>,
}

/// Escapes text for HTML element content and quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2025-06` → its first instant and the next month's, unix ms.
fn month_range(raw: &str) -> Option<(i64, i64)> {
    let (y, m) = raw.split_once('-')?;
    let (year, month): (i32, u8) = (y.parse().ok()?, m.parse().ok()?);
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(month).ok()?;
    let start = time::Date::from_calendar_date(year, month, 1).ok()?;
    let (ny, nm) = match month {
        time::Month::December => (year + 1, time::Month::January),
        m => (year, m.next()),
    };
    let end = time::Date::from_calendar_date(ny, nm, 1).ok()?;
    let ms = |d: time::Date| crate::time_ms::to_ms(d.midnight().assume_utc());
    Some((ms(start), ms(end)))
}

/// `GET /v1/audit/offices/{office_id}/monthly`.
pub(crate) async fn monthly(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(office_id): Path<String>,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Response {
    observe_response("monthly_report", None, async {
        let office = OfficeId::parse(&office_id).map_err(|_| ApiError::NotFound)?;
        match principal(&store, &headers).await? {
            Principal::Supervisor { .. } => {}
            Principal::Office { office_id, .. } if office_id == office => {}
            Principal::Office { .. } => return Err(ApiError::NotFound),
            Principal::Courier { .. } => {
                return Err(ApiError::Forbidden("couriers cannot see office reports"))
            }
        }
        let Query(query) = query
            .map_err(|e| ApiError::field("query", crate::http::input::redacted(&e.body_text())))?;
        let month = query
            .month
            .ok_or_else(|| ApiError::field("month", "month is required, YYYY-MM"))?;
        let (from_ms, to_ms) =
            month_range(&month).ok_or_else(|| ApiError::field("month", "month must be YYYY-MM"))?;
        let scope = Scope {
            office: office.to_string(),
            from_ms,
            to_ms,
        };
        let Some(name) = office_name(&store, &scope.office).await? else {
            return Err(ApiError::NotFound);
        };
        let page = render(&store, &scope, &name, &month).await?;
        Ok((
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'self'; img-src 'self'",
                ),
            ],
            page,
        )
            .into_response())
    })
    .await
}

async fn office_name(store: &Store, office: &str) -> Result<Option<String>, Error> {
    let row = sqlx::query("SELECT name FROM offices WHERE office_id = $1")
        .bind(office)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

fn rate(r: &Rate) -> String {
    format!("{}/{} ({})", r.count, r.of, percent(r.rate))
}

/// A KPI table: one row per group.
fn kpi_table(out: &mut String, first: &str, groups: &[GroupKpis]) {
    let _ = write!(
        out,
        "<table><thead><tr><th>{}</th><th>tickets</th><th>rejected</th><th>response 响应率</th>\
         <th>resolution 解决率</th><th>rework 返工率</th><th>satisfaction 满意率</th></tr></thead><tbody>",
        escape(first)
    );
    for g in groups {
        let label = g.key.get("category").unwrap_or(&g.group);
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(label),
            g.tickets,
            g.rejected,
            rate(&g.response),
            rate(&g.resolution),
            rate(&g.rework),
            rate(&g.satisfaction)
        );
    }
    out.push_str("</tbody></table>");
}

fn step_row(out: &mut String, name: &str, s: &StepTimes) {
    let _ = write!(
        out,
        "<tr><th>{name}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        s.count,
        human(s.median_s),
        human(s.p90_s),
        human(s.max_s),
        percent(s.within_deadline)
    );
}

/// The whole page.
async fn render(store: &Store, scope: &Scope, name: &str, month: &str) -> Result<String, Error> {
    let office = store.kpis_in(&[Dimension::Office], Some(scope)).await?;
    let by_category = store.kpis_in(&[Dimension::Category], Some(scope)).await?;
    let times = store
        .response_times_in(&[Dimension::Office], Some(scope))
        .await?;
    let title = format!("{} · {}", escape(name), escape(month));
    let mut out = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>{title} · civicprobe</title><link rel=\"stylesheet\" href=\"/assets/report.css\">\
         </head><body><header><h1>{title}</h1><p>月报 monthly report · office <code>{}</code> · \
         tickets received {} (UTC)</p></header><main>",
        escape(&scope.office),
        escape(month)
    );
    out.push_str("<section><h2>KPIs</h2>");
    kpi_table(&mut out, "office", &office.groups);
    out.push_str("</section><section><h2>By category 分类别</h2>");
    kpi_table(&mut out, "category", &by_category.groups);
    out.push_str(
        "</section><section><h2>Response times 响应时间</h2><table><thead><tr><th>step</th>\
         <th>n</th><th>median</th><th>p90</th><th>max</th><th>in time</th></tr></thead><tbody>",
    );
    if let Some(g) = times.groups.first() {
        step_row(&mut out, "acknowledge 受理", &g.acknowledge);
        step_row(&mut out, "make safe 排险", &g.make_safe);
        step_row(&mut out, "resolve 办结", &g.resolve);
        step_row(&mut out, "resolved → verified 核查", &g.verify);
    }
    out.push_str("</tbody></table></section>");
    ticket_list(store, scope, &mut out).await?;
    out.push_str("</main></body></html>\n");
    Ok(out)
}

/// The month's tickets, oldest first, at most [`LISTED`].
async fn ticket_list(store: &Store, scope: &Scope, out: &mut String) -> Result<(), Error> {
    let sql = format!(
        "SELECT ticket_id, category, urgent, state, received_at, acknowledged_at, resolved_at, \
         reopen_count, verified_by, text FROM tickets WHERE {} ORDER BY received_at, ticket_id \
         LIMIT $4",
        Scope::condition(1)
    );
    let rows = sqlx::query(&sql)
        .bind(scope.office.clone())
        .bind(scope.from_ms)
        .bind(scope.to_ms)
        .bind(LISTED + 1)
        .fetch_all(store.pool())
        .await?;
    out.push_str(
        "<section class=\"tickets\"><h2>Tickets 工单</h2><table><thead><tr><th>ticket</th>\
         <th>category</th><th>state</th><th>received</th><th>acknowledged after</th>\
         <th>resolved after</th><th>reopened</th><th>verified by</th><th>text</th></tr></thead><tbody>",
    );
    for row in rows.iter().take(LISTED as usize) {
        let received: i64 = row.try_get("received_at")?;
        let after = |col: &str| -> Result<String, Error> {
            let at: Option<i64> = row.try_get(col)?;
            Ok(human(at.map(|at| (at - received) as f64 / 1000.0)))
        };
        let day = crate::time_ms::from_ms(received)?.date().to_string();
        let urgent = if row.try_get::<i64, _>("urgent")? != 0 {
            " urgent"
        } else {
            ""
        };
        let text: Option<String> = row.try_get("text")?;
        let verified: Option<String> = row.try_get("verified_by")?;
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}{urgent}</td><td>{}</td><td>{day}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&row.try_get::<String, _>("ticket_id")?),
            escape(&row.try_get::<String, _>("category")?),
            escape(&row.try_get::<String, _>("state")?),
            after("acknowledged_at")?,
            after("resolved_at")?,
            row.try_get::<i64, _>("reopen_count")?,
            escape(verified.as_deref().unwrap_or("-")),
            escape(text.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody></table>");
    if rows.len() > LISTED as usize {
        let _ = write!(
            out,
            "<p>Only the first {LISTED} tickets are listed; the export has them all.</p>"
        );
    }
    out.push_str("</section>");
    Ok(())
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::get;
    axum::Router::new().route("/v1/audit/offices/{office_id}/monthly", get(monthly))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_escaping() {
        assert_eq!(
            month_range("2025-12"),
            Some((1_764_547_200_000, 1_767_225_600_000))
        );
        assert_eq!(month_range("2025-6"), None);
        assert_eq!(month_range("2025-13"), None);
        assert_eq!(month_range("june"), None);
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
