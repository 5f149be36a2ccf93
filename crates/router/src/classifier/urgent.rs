//! The keyword half of the urgency decision.
//!
//! Written from the urgency rules of the labelled corpus
//! (`fixtures/reports/README.md`: fire, smoke, sparks, people trapped, an
//! open hole, live wires, gas, falling objects, …) and completed with the
//! phrasings of the *training* split. A missed fire is worse than a false
//! alarm, so any hit makes a report urgent, whatever the model says.
//! Chinese keywords match anywhere; ASCII ones at the start of a word
//! ("smok" matches "smoking", "hole" does not match "whole").

/// Any of these makes a report urgent.
#[rustfmt::skip]
const URGENT: &[&str] = &[
    // Fire, smoke, sparks, heat.
    "火", "烟", "打火", "着火", "起火", "烧", "焦", "烫", "fire", "flame", "smok", "spark",
    "arcing", "arced", "burn", "hot to", "melt",
    // People trapped, lifts that drop or move open, clamping.
    "困", "关在", "关里", "关了人", "出不来", "卡在", "在里面", "里面有人", "里有人",
    "往下掉", "往上走", "坠", "掉下", "冲顶", "开着就", "开着门", "井口开着",
    "夹", "倒转", "反转", "踩空", "trapped", "trap", "stuck inside", "stuck between",
    "stuck in", "inside", "fell", "falling", "free fall", "clamp", "crush",
    "backward", "jammed", "hit the ceiling", "shaft", "while moving", "drop", "catching",
    "caught",
    // An open hole.
    "没了", "冇得", "冒得", "没得", "没有井盖", "丢", "不见", "被偷", "偷了", "冲走", "缺",
    "少了", "翻", "移位", "挪开", "搬走", "全开", "口子", "掉进", "踩进", "塌", "陷", "大坑",
    "洞", "深", "压碎", "悬空", "飞了", "掉了", "missing", "stolen", "gone", "open hole",
    "uncover", "flipped", "hole", "collaps", "sinkhole", "no cover", "no lid", "cave",
    "open sewer", "sunk", "30cm",
    // Live wires, water.
    "带电", "漏电", "电人", "触电", "麻", "电线断", "断了", "掉在地上", "水里", "泡水", "淹",
    "进水", "水涨", "live", "electrocut", "shock", "down across", "wire down", "line down",
    "in water", "flood",
    // Gas.
    "燃气", "煤气", "天然气", "嘶嘶", "gas", "hiss",
    // Falling or blocking objects, landslides.
    "倒", "砸", "要掉", "快掉", "掉下来", "滑坡", "钢管", "landslide", "fallen",
    "about to fall", "blocking", "pipe", "堵住", "挡住", "挡在路",
    // Bites, children at edges.
    "咬", "小孩", "伢", "bitten", "bite", "kid", "child",
    // The courier says so.
    "快来", "救命", "赶紧", "危险", "紧急", "急", "help", "urgent", "dangerous", "hurry",
];

/// Everyday words that contain a hazard keyword but mean no hazard; blanked
/// out before matching, so 火车站 (railway station) is not 火 (fire).
#[rustfmt::skip]
pub const NOT_HAZARD_PHRASES: &[&str] = &[
    "火车", "火锅", "火腿", "烟台", "香烟", "抽烟", "吸烟", "困难", "困扰", "困惑", "倒车",
    "倒垃圾",
];

/// The first urgency keyword `text` mentions, if any.
pub fn urgent_keyword(text: &str) -> Option<&'static str> {
    let mut text = text.to_lowercase();
    for phrase in NOT_HAZARD_PHRASES {
        text = text.replace(phrase, " ");
    }
    URGENT.iter().copied().find(|k| mentions(&text, k))
}

/// Chinese anywhere; ASCII at a word start.
fn mentions(text: &str, keyword: &str) -> bool {
    if !keyword.is_ascii() {
        return text.contains(keyword);
    }
    text.match_indices(keyword).any(|(start, _)| {
        !text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_are_found_and_everyday_words_are_not() {
        assert!(urgent_keyword("配电箱冒烟").is_some());
        assert!(urgent_keyword("Transformer SPARKING").is_some());
        assert!(urgent_keyword("manhole cover missing").is_some());
        assert_eq!(urgent_keyword("火车站旁边的路灯坏了"), None);
        assert_eq!(urgent_keyword("research the archive"), None);
        assert_eq!(urgent_keyword("配电箱门开着"), None);
        assert_eq!(urgent_keyword("Manhole cover loose"), None);
        assert_eq!(urgent_keyword(""), None);
    }
}
