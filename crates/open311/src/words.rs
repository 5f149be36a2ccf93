//! What a resident reads in an update: one sentence per step in the
//! district's language, Chinese unless the client's `Accept-Language`
//! puts English first, with the office's or supervisor's note after it.
//! Step names ("opened", "acknowledged") never reach a public comment.

use axum::http::{header, HeaderMap};

/// The language of update descriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 中文, the default.
    Zh,
    /// English, on `Accept-Language: en…` first.
    En,
}

impl Lang {
    /// The first of `zh` or `en` that `Accept-Language` names (in its
    /// order of preference, by `q`); Chinese when neither is there.
    pub fn of(headers: &HeaderMap) -> Lang {
        let Some(value) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Lang::Zh;
        };
        let mut tags: Vec<(f32, usize, &str)> = value
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut bits = part.split(';');
                let tag = bits.next()?.trim();
                let q = bits
                    .find_map(|b| b.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, i, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (q, _, tag) in tags {
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                _ if q <= 0.0 => {}
                "en" => return Lang::En,
                "zh" => return Lang::Zh,
                _ => {}
            }
        }
        Lang::Zh
    }
}

/// A step as a resident reads it.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// The event kind (`acknowledged`, `rerouted`, …), or
    /// [`OUTSIDE_CLOSED`].
    pub kind: &'a str,
    /// The reject reason or escalated step, if any.
    pub reason: Option<&'a str>,
    /// The office after the step, by display name.
    pub office: &'a str,
    /// The office's or supervisor's note (never a courier's).
    pub note: Option<&'a str>,
}

/// The step of a report outside every area that a supervisor closed.
pub const OUTSIDE_CLOSED: &str = "outside_closed";

/// `step` in `lang`: its sentence, then the note.
pub fn describe(step: &Step<'_>, lang: Lang) -> String {
    let sentence = sentence(step, lang);
    match (step.note.map(str::trim).filter(|n| !n.is_empty()), lang) {
        (Some(note), Lang::Zh) => format!("{sentence}说明：{note}"),
        (Some(note), Lang::En) => format!("{sentence} Note: {note}"),
        (None, _) => sentence,
    }
}

fn sentence(step: &Step<'_>, lang: Lang) -> String {
    let o = step.office;
    let zh = lang == Lang::Zh;
    let pick = |z: String, e: String| if zh { z } else { e };
    match (step.kind, step.reason) {
        ("opened", _) => pick(
            format!("您的报告已送达{o}，将按时限处理。"),
            format!("Your report reached {o} and will be handled within its deadlines."),
        ),
        ("acknowledged", _) => pick(format!("{o}已受理。"), format!("{o} has taken it on.")),
        ("made_safe", _) => pick(
            format!("{o}已设置安全防护。"),
            format!("{o} has made the place safe."),
        ),
        ("started", _) => pick(
            format!("{o}已开始维修。"),
            format!("{o} has started the repair."),
        ),
        ("resolved", _) => pick(format!("{o}报告已修复。"), format!("{o} reports it fixed.")),
        ("verified" | "closed", _) => pick(
            "修复已核查，工单关闭。".into(),
            "The fix was checked; the request is closed.".into(),
        ),
        ("reopened", _) => pick(
            "核查发现仍未修好，已退回重新处理。".into(),
            "It was found not fixed and is being handled again.".into(),
        ),
        ("rejected", Some("duplicate")) => pick(
            format!("{o}认定为重复报告，随原工单处理。"),
            format!("{o} found it a duplicate; the earlier request is followed."),
        ),
        ("rejected", Some("not_our_area")) => pick(
            format!("{o}称该地点不属其辖区，督办正在核定。"),
            format!("{o} says the place is outside its area; a supervisor is settling it."),
        ),
        ("rejected", _) => pick(
            format!("{o}认定此处不构成隐患。"),
            format!("{o} found no hazard here."),
        ),
        ("dispute_upheld", _) => pick(
            "督办核定：该地点不属本区街道辖区。".into(),
            "A supervisor confirmed the place is outside the district's street offices.".into(),
        ),
        ("rerouted", _) => pick(format!("已转交{o}处理。"), format!("Passed on to {o}.")),
        ("escalated", _) => pick(
            "处理已超时，已上报督办。".into(),
            "It is overdue and was escalated to the supervisors.".into(),
        ),
        ("merged", _) => pick(
            "与附近同一隐患的报告合并，随该工单一并处理。".into(),
            "Merged with an earlier report of the same hazard; it is handled with it.".into(),
        ),
        (OUTSIDE_CLOSED, _) => pick(
            "该地点不在本区任何街道辖区内，本区无法处理。".into(),
            "The place lies outside every street office's area; the district cannot act on it."
                .into(),
        ),
        (other, _) => other.replace('_', " "),
    }
}

/// `requests/{id}`'s `status_notes` for a request not yet routed.
pub fn being_routed(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "已收到，正在分派至街道办",
        Lang::En => "received; being routed to a street office",
    }
}

/// `status_notes` of a request outside every area.
pub fn outside(lang: Lang, closed: bool) -> &'static str {
    match (lang, closed) {
        (Lang::Zh, false) => "该地点不在任何街道辖区内，已转督办处理",
        (Lang::En, false) => "outside every street office's area; passed to the supervisors",
        (Lang::Zh, true) => "该地点不在本区任何街道辖区内，本区无法处理",
        (Lang::En, true) => "outside every street office's area; the district cannot act on it",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(v: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, v.parse().unwrap());
        Lang::of(&h)
    }

    #[test]
    fn english_only_when_asked_first() {
        assert_eq!(Lang::of(&HeaderMap::new()), Lang::Zh);
        assert_eq!(lang("en"), Lang::En);
        assert_eq!(lang("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(lang("zh-CN,en;q=0.5"), Lang::Zh);
        assert_eq!(lang("zh;q=0.4,en;q=0.8"), Lang::En);
        assert_eq!(lang("fr,en;q=0.3"), Lang::En);
        assert_eq!(lang("de"), Lang::Zh);
        assert_eq!(lang("en;q=0"), Lang::Zh);
    }

    #[test]
    fn sentences_carry_the_note_and_never_the_step_name() {
        let step = Step {
            kind: "acknowledged",
            reason: None,
            office: "温泉街道",
            note: Some("马上到"),
        };
        assert_eq!(describe(&step, Lang::Zh), "温泉街道已受理。说明：马上到");
        assert_eq!(
            describe(&step, Lang::En),
            "温泉街道 has taken it on. Note: 马上到"
        );
        let opened = Step {
            kind: "opened",
            note: None,
            ..step
        };
        assert!(!describe(&opened, Lang::En).contains("opened"));
    }
}
