//! An alert's words: short, Chinese first then English ("【紧急】井盖 ·
//! 温泉街道 · 新工单"), with the category, office, the courier's text,
//! position, deadlines (in local time) and a link; as markdown (WeCom,
//! DingTalk: values escaped) or plain text (Feishu), cut to
//! [`ROBOT_LIMIT`] bytes.

use super::alert::{Alert, OverdueItem, DIGEST, UNROUTED};
use civicprobe_model::{Category, Deadlines};
use time::{OffsetDateTime, UtcOffset};

/// The longest robot message, in bytes (WeCom's markdown limit).
pub const ROBOT_LIMIT: usize = 4096;

/// Backslash-escapes markdown's special characters; `<` and `>` become
/// their full-width forms, since WeCom reads `<font …>` tags in markdown.
/// `(`, `)`, `-`, `+` and `!` are left alone: with `[` and `]` escaped no
/// link can form, and every escaped value follows a label, never opens a
/// line.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push('＜'),
            '>' => out.push('＞'),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Lines joined by `\n`, as many as fit in `limit` bytes; a cut says so.
fn fit(lines: &[String], limit: usize) -> String {
    const MORE: &str = "…（更多见看板 more on the dashboard）";
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let need = out.len() + line.len() + 1;
        let room = if i + 1 < lines.len() {
            limit - MORE.len() - 1
        } else {
            limit
        };
        if need > room {
            out.push_str(MORE);
            return out;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// Chinese and English names of a category.
fn category_names(c: Option<Category>) -> (&'static str, &'static str) {
    match c {
        Some(Category::Manhole) => ("井盖", "Manhole"),
        Some(Category::Elevator) => ("电梯", "Elevator"),
        Some(Category::ElectricalBox) => ("配电箱", "Electrical box"),
        Some(Category::Other) => ("其他", "Other"),
        None => ("报告", "Report"),
    }
}

/// What happened, in Chinese and English.
fn what(alert: &Alert) -> (String, String) {
    let reason = alert.reason.clone().unwrap_or_default();
    match alert.kind.as_str() {
        "opened" => ("新工单".into(), "new ticket".into()),
        "merged" => ("重复报告并入".into(), "duplicate report merged".into()),
        "triaged" => ("改判为紧急".into(), "re-triaged as urgent".into()),
        "rerouted" => ("转派至本街道".into(), "rerouted here".into()),
        "escalated" => (
            format!("超时督办（{reason}）"),
            format!("escalated: {reason} overdue"),
        ),
        "rejected" => (
            "争议：称非本辖区".into(),
            "dispute: rejected as not our area".into(),
        ),
        "reopened" => (
            "核查未修好，工单已重开".into(),
            "verification: not fixed, ticket reopened".into(),
        ),
        "report_verified" | "verification_disputed" => (
            "核查异议：有骑手称未修好".into(),
            "verification dispute: a courier says it is not fixed".into(),
        ),
        "resident_note" => (
            "市民留言（Open311）".into(),
            "a resident's note (Open311)".into(),
        ),
        UNROUTED => (
            "未分派的紧急报告".into(),
            "urgent report in no office's area".into(),
        ),
        other => (other.to_owned(), other.to_owned()),
    }
}

/// An alert's text, before a format shapes it.
pub(crate) struct Text {
    /// `【紧急】井盖 · 温泉街道 · 新工单`.
    title_zh: String,
    /// `URGENT · Manhole · wenquan · new ticket`.
    title_en: String,
    /// Label and value pairs.
    lines: Vec<(String, String)>,
    /// Where to look.
    link: Option<String>,
}

impl Text {
    pub(crate) fn of(alert: &Alert, offset: UtcOffset) -> Text {
        if alert.kind == DIGEST {
            return Text::digest(alert);
        }
        let (cat_zh, cat_en) = category_names(alert.category);
        let (what_zh, what_en) = what(alert);
        let office_zh = alert
            .office_name
            .clone()
            .or_else(|| alert.office_id.as_ref().map(|o| o.to_string()));
        let office_en = alert
            .office_id
            .as_ref()
            .map_or("-".to_owned(), |o| o.to_string());
        let (tag_zh, tag_en) = if alert.urgent {
            ("【紧急】", "URGENT")
        } else {
            ("【督办】", "ALERT")
        };
        let title_zh = match &office_zh {
            Some(o) => format!("{tag_zh}{cat_zh} · {o} · {what_zh}"),
            None => format!("{tag_zh}{cat_zh} · {what_zh}"),
        };
        let mut lines = Vec::new();
        if let Some(text) = &alert.text {
            lines.push(("描述 Text".to_owned(), text.clone()));
        }
        if let Some(at) = &alert.location {
            lines.push((
                "位置 Position".to_owned(),
                format!("{:.5}, {:.5}", at.lat(), at.lon()),
            ));
        }
        if let Some(d) = &alert.deadlines {
            lines.extend(deadline_lines(d, offset));
        }
        Text {
            title_zh,
            title_en: format!("{tag_en} · {cat_en} · {office_en} · {what_en}"),
            lines,
            link: alert.link.clone(),
        }
    }

    fn digest(alert: &Alert) -> Text {
        let n = alert.overdue.len();
        let day = alert.day.clone().unwrap_or_default();
        let mut lines = Vec::new();
        let mut office = None;
        for item in &alert.overdue {
            if office != Some(&item.office_id) {
                office = Some(&item.office_id);
                lines.push((format!("街道 Office {}", item.office_id), String::new()));
            }
            lines.push(overdue_line(item));
        }
        Text {
            title_zh: format!("【每日超时】{day} 共 {n} 件超时工单"),
            title_en: format!("Daily overdue digest {day}: {n} tickets"),
            lines,
            link: alert.link.clone(),
        }
    }

    /// The title alone, without markup (DingTalk's `title`).
    pub(crate) fn title_plain(&self) -> String {
        self.title_zh.clone()
    }

    pub(crate) fn markdown(&self) -> String {
        let mut out = vec![
            format!("**{}**", escape_markdown(&self.title_zh)),
            escape_markdown(&self.title_en),
        ];
        for (label, value) in &self.lines {
            out.push(if value.is_empty() {
                format!("**{}**", escape_markdown(label))
            } else {
                format!("> {}: {}", escape_markdown(label), escape_markdown(value))
            });
        }
        if let Some(link) = &self.link {
            out.push(format!("[查看 Open]({link})"));
        }
        fit(&out, ROBOT_LIMIT)
    }

    pub(crate) fn plain(&self) -> String {
        let mut out = vec![self.title_zh.clone(), self.title_en.clone()];
        for (label, value) in &self.lines {
            out.push(if value.is_empty() {
                label.clone()
            } else {
                format!("{label}: {value}")
            });
        }
        if let Some(link) = &self.link {
            out.push(format!("查看 Open: {link}"));
        }
        fit(&out, ROBOT_LIMIT)
    }
}

fn deadline_lines(d: &Deadlines, offset: UtcOffset) -> Vec<(String, String)> {
    let local = |t: OffsetDateTime| {
        let t = t.to_offset(offset);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} (UTC{})",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            offset_text(offset)
        )
    };
    vec![
        (
            "受理期限 Acknowledge by".to_owned(),
            local(d.acknowledge_by),
        ),
        ("处置期限 Make safe by".to_owned(), local(d.make_safe_by)),
    ]
}

/// `+08:00`.
pub fn offset_text(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

fn overdue_line(item: &OverdueItem) -> (String, String) {
    let (cat_zh, cat_en) = category_names(Some(item.category));
    let urgent = if item.urgent { "紧急 urgent · " } else { "" };
    let late = format!("{} h {} min", item.late_s / 3600, item.late_s % 3600 / 60);
    (
        format!("{cat_zh} {cat_en}"),
        format!("{urgent}超时 late {late} · {}", item.link),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_specials_are_escaped() {
        assert_eq!(
            escape_markdown("**a** <font>[x](y)"),
            "\\*\\*a\\*\\* ＜font＞\\[x\\](y)"
        );
    }

    #[test]
    fn long_messages_are_cut_to_the_limit() {
        let lines: Vec<String> = (0..1000).map(|i| format!("line {i} 坑坑坑")).collect();
        let out = fit(&lines, ROBOT_LIMIT);
        assert!(out.len() <= ROBOT_LIMIT, "{}", out.len());
        assert!(out.ends_with("more on the dashboard）"));
    }
}
