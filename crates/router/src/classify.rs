//! Category and urgency from the courier's hint and free text.
//!
//! A deliberately small, table-driven stand-in for the learned classifier
//! that comes later: each category has weighted keywords (Chinese matched as
//! substrings, English as whole words, case-insensitive); the highest total
//! wins, ties go to the earlier row. A courier's explicit hint always wins
//! for the category. Urgency (life-safety now) is its own keyword list.
//! Phrases in [`NOT_HAZARD_PHRASES`] are blanked out first so that, say,
//! 火车站 (railway station) does not read as 火 (fire).

use civicprobe_model::Category;

/// What the router settled on for a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classification {
    /// The hazard category.
    pub category: Category,
    /// Life-safety now: fire, smoke, sparks, people trapped, an open hole.
    pub urgent: bool,
}

/// A keyword and how strongly it points at its category.
type Keyword = (&'static str, u32);

/// Category keywords, in tie-break order. Weight 2: names the thing itself;
/// weight 1: a hint that also occurs elsewhere (a "cover", a "wire").
const CATEGORY_KEYWORDS: &[(Category, &[Keyword])] = &[
    (
        Category::Manhole,
        &[
            ("井盖", 2),
            ("窨井", 2),
            ("下水井", 2),
            ("manhole", 2),
            ("drain cover", 2),
            ("cover", 1),
            ("井", 1),
        ],
    ),
    (
        Category::Elevator,
        &[
            ("电梯", 2),
            ("elevator", 2),
            ("lift", 2),
            ("困", 1),
            ("trapped", 1),
            ("stuck inside", 1),
        ],
    ),
    (
        Category::ElectricalBox,
        &[
            ("配电箱", 2),
            ("电箱", 2),
            ("变压器", 2),
            ("电表箱", 2),
            ("electrical box", 2),
            ("electric box", 2),
            ("transformer", 2),
            ("电线", 1),
            ("wire", 1),
            ("cable", 1),
        ],
    ),
];

/// Anything here makes a report urgent.
const URGENT_KEYWORDS: &[&str] = &[
    "火",
    "着火",
    "冒烟",
    "烟",
    "火花",
    "冒火",
    "困",
    "被困",
    "掉下去",
    "掉进",
    "没有井盖",
    "井盖没了",
    "井盖丢",
    "井盖不见",
    "井盖被偷",
    "缺失",
    "漏电",
    "fire",
    "burning",
    "flame",
    "smoke",
    "smoking",
    "spark",
    "trapped",
    "stuck inside",
    "open hole",
    "missing cover",
    "missing manhole",
    "cover missing",
    "cover is missing",
    "no cover",
    "uncovered",
    "fell in",
    "electrocut",
];

/// Everyday words that contain a hazard keyword but mean no hazard.
pub const NOT_HAZARD_PHRASES: &[&str] = &[
    "火车", "火锅", "火腿", "烟台", "香烟", "抽烟", "吸烟", "困难", "困扰", "困惑",
];

/// Category (the hint wins when given) and urgency for a report.
pub fn classify(hint: Option<Category>, text: Option<&str>) -> Classification {
    let text = normalise(text.unwrap_or_default());
    let category = hint.unwrap_or_else(|| category_of(&text));
    let urgent = URGENT_KEYWORDS.iter().any(|k| mentions(&text, k));
    Classification { category, urgent }
}

/// The best-scoring category, `Other` when no keyword matches.
fn category_of(text: &str) -> Category {
    let mut best = (Category::Other, 0);
    for (category, keywords) in CATEGORY_KEYWORDS {
        let score: u32 = keywords
            .iter()
            .filter(|(k, _)| mentions(text, k))
            .map(|(_, w)| w)
            .sum();
        if score > best.1 {
            best = (*category, score);
        }
    }
    best.0
}

/// Lower-cased, with everyday non-hazard phrases blanked out.
fn normalise(text: &str) -> String {
    let mut text = text.to_lowercase();
    for phrase in NOT_HAZARD_PHRASES {
        text = text.replace(phrase, " ");
    }
    text
}

/// Whether `keyword` occurs in `text`: anywhere for Chinese; for ASCII
/// keywords only at a word start, followed by a word end or an English
/// inflection (`s`, `es`, `ed`, `ing`), so "cover" is not found in
/// "discover" nor "lift" in "uplifted".
fn mentions(text: &str, keyword: &str) -> bool {
    if !keyword.is_ascii() {
        return text.contains(keyword);
    }
    text.match_indices(keyword).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = &text[start + keyword.len()..];
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && ends_word(after)
    })
}

/// Whether `rest` starts at a word end, allowing an English inflection.
fn ends_word(rest: &str) -> bool {
    ["", "s", "es", "ed", "ing", "ion", "ions"]
        .iter()
        .any(|suffix| {
            rest.strip_prefix(suffix)
                .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;

    fn check(text: &str, category: Category, urgent: bool) {
        assert_eq!(
            classify(None, Some(text)),
            Classification { category, urgent },
            "{text:?}"
        );
    }

    #[test]
    fn chinese_texts() {
        check("人民路井盖没了，没有井盖，很危险", Manhole, true);
        check("窨井盖松动", Manhole, false);
        check("小区电梯里有人被困", Elevator, true);
        check("电梯按钮坏了", Elevator, false);
        check("路边配电箱冒烟了", ElectricalBox, true);
        check("变压器有火花", ElectricalBox, true);
        check("电线垂下来了", ElectricalBox, false);
        check("路灯不亮", Other, false);
        check("井盖缺失", Manhole, true);
        check("路口的井盖不见了", Manhole, true);
    }

    #[test]
    fn english_texts() {
        check("Missing manhole cover on Wenquan Road", Manhole, true);
        check("Manhole cover is loose", Manhole, false);
        check("Two people stuck inside the lift", Elevator, true);
        check("ELEVATOR doors won't close", Elevator, false);
        check("Transformer sparks and smoke", ElectricalBox, true);
        check(
            "electrical box door open, wires exposed",
            ElectricalBox,
            false,
        );
        check("Pothole near the bus stop", Other, false);
        check("Open hole in the pavement", Other, true);
    }

    #[test]
    fn everyday_words_are_not_hazards() {
        check("火车站旁边的路灯坏了", Other, false);
        check("I discovered an uplifted paving stone", Other, false);
        check("wireless sign is broken", Other, false);
        check("电梯维修有困难", Elevator, false);
    }

    #[test]
    fn the_stronger_category_wins_and_ties_go_to_the_earlier_row() {
        // "cover" (manhole, 1) loses to "electrical box" (2).
        check("electrical box cover is loose", ElectricalBox, false);
        // 电梯 (2) beats 井 (1).
        check("电梯井里冒烟", Elevator, true);
        // One weak keyword each: manhole comes first.
        check("cover and wire", Manhole, false);
    }

    #[test]
    fn the_hint_wins_for_the_category_but_urgency_still_reads_the_text() {
        assert_eq!(
            classify(Some(Other), Some("manhole cover missing")),
            Classification {
                category: Other,
                urgent: true
            }
        );
        assert_eq!(
            classify(Some(Elevator), None),
            Classification {
                category: Elevator,
                urgent: false
            }
        );
        assert_eq!(
            classify(None, None),
            Classification {
                category: Other,
                urgent: false
            }
        );
        assert_eq!(classify(None, Some("")).category, Other);
    }
}
