//! Urgency cues: hazard words as *features*, never as a verdict.
//!
//! Until issue 17 any hit here made a report urgent, so "没有冒烟" (no
//! smoke) and "nobody trapped" raised false alarms. Now each hit is one
//! feature for the models — `cue:<group>` when the word is asserted,
//! `negated:<group>` when a negator (没有, 不是, not, no one, …) stands just
//! before it in the same clause — and the models learn from the corpus how
//! much each is worth. A hedge (好像, maybe, I think) is its own cue: a
//! hedged hazard is still a hazard report.
//!
//! Chinese words match anywhere; ASCII ones at the start of a word ("smok"
//! matches "smoking", "hole" does not match "whole"). Everyday words that
//! contain a hazard word (火车站, 香烟) are blanked out first.

/// Hazard words by group; the group names the feature.
#[rustfmt::skip]
const GROUPS: &[(&str, &[&str])] = &[
    ("fire", &["火", "烟", "烧", "焦", "烫", "闪蓝光", "放电", "噼里啪啦", "噼啪", "滋滋",
        "fire", "flame", "smok", "spark", "arcing", "burn", "melt", "hot to", "popping"]),
    ("trapped", &["困", "关在", "关倒", "关了", "出不来", "卡住", "卡在", "里面有人",
        "里头有人", "夹", "绞", "trapped", "stuck in", "stuck between", "stuck with", "im stuck",
        "stuck,", "caught", "inside", "clamp", "shut on",
        "ate a", "grabbed", "yelling"]),
    ("moving", &["往下掉", "往下溜", "往下滑", "往下坠", "坠", "冲顶", "顶到", "掉了好几层",
        "冲到顶", "开着就", "没关就", "倒着走", "逆行", "倒转", "反转", "dropp", "fell", "fall",
        "backward", "revers", "wrong way", "while moving", "moving", "hit the"]),
    ("hole", &["没了", "冇得", "冒得", "没得", "不见", "偷", "丢", "撬走", "拿走", "搬走",
        "拖走", "冲走", "冲跑", "漂走", "缺", "少了", "翻", "移位", "掀开", "口子", "窟窿",
        "黑洞", "洞", "敞", "张起", "塌", "陷", "大坑", "悬空", "掉进", "掉下去", "掉到井",
        "栽", "踩空", "掉井里", "井口开着", "没盖", "冇盖", "没有盖", "missing", "not there",
        "open manhole", "stolen", "gone", "vanish", "took", "ripped", "open pit",
        "hole", "open drain", "no lid", "no cover", "flipped", "collaps", "caved", "sinkhole",
        "sunk", "shaft", "uncover"]),
    ("live", &["带电", "漏电", "麻", "触电", "电倒", "电人", "水里", "泡水", "进水", "淹",
        "水坑", "电线断", "线断了", "live", "shock", "electrocut", "in the water", "puddle",
        "flooded", "wet road"]),
    ("gas", &["燃气", "煤气", "天然气", "嘶嘶", "gas", "hiss"]),
    ("falling", &["倒了", "砸", "要掉", "快掉", "掉下来", "摇摇", "滑坡", "滑下",
        "压住", "压在", "堵", "about to fall", "leaning", "blocking", "down across", "fell on",
        "collapsed onto", "knocked"]),
    ("bite", &["咬", "bit ", "bitten", "bites"]),
    ("person", &["伢", "小孩", "孩子", "老人", "孕妇", "人摔", "摔倒", "受伤", "晕倒",
        "kid", "child", "girl", "hurt", "injur", "tumbl", "ppl inside",
        "people inside", "family", "old man", "lady"]),
    ("plea", &["快来", "救命", "赶紧", "危险", "紧急", "急", "搞快", "快点", "吓人", "help",
        "urgent", "dangerous", "hurry", "pls", "asap", "!!"]),
];

/// Groups a negator before them does not defeat: "没盖子 快来" still pleads.
const UNNEGATABLE: &[&str] = &["plea", "person"];

/// Words that negate a hazard word right after them.
#[rustfmt::skip]
const NEGATORS: &[&str] = &[
    "没有", "没", "不是", "无", "未", "冇", "不", "非", "not ", "no ", "nobody", "no one",
    "nothing", "never", "without", "isn't", "isnt", "wasn't", "don't", "dont", "didn't",
    "neither",
];

/// Hedges: the courier is not sure, which is no reason to wait.
const HEDGES: &[&str] = &[
    "好像",
    "可能",
    "应该是",
    "估计",
    "似乎",
    "感觉",
    "maybe",
    "i think",
    "seems",
    "looks like",
];

/// Everyday words that contain a hazard word but mean no hazard; blanked
/// out before matching, so 火车站 (railway station) is not 火 (fire).
#[rustfmt::skip]
pub const NOT_HAZARD_PHRASES: &[&str] = &[
    "火车", "火锅", "火腿", "烟台", "香烟", "抽烟", "吸烟", "困难", "困扰", "困惑", "倒车",
    "倒垃圾", "不倒", "倒是", "麻烦", "fire exit", "消防通道", "消防栓", "fire hydrant",
];

/// How far before a hazard word a negator still negates it, in characters.
const NEGATION_REACH: usize = 4;

/// A cue found in a text: the group and whether it was negated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cue {
    /// A hazard word of this group, asserted.
    Asserted(&'static str),
    /// A hazard word of this group right after a negator.
    Negated(&'static str),
    /// The courier hedges.
    Hedge,
}

/// The cues of `text`, one per group (asserted wins over negated: "没有冒烟
/// 但是着火了" is a fire).
pub fn cues(text: &str) -> Vec<Cue> {
    let text = prepared(text);
    let mut out = Vec::new();
    for (group, words) in GROUPS {
        let mut negated = false;
        let mut asserted = false;
        for word in *words {
            for start in word_starts(&text, word) {
                if is_negated(&text[..start]) {
                    negated = true;
                } else {
                    asserted = true;
                }
            }
        }
        if asserted || (negated && UNNEGATABLE.contains(group)) {
            out.push(Cue::Asserted(group));
        } else if negated {
            out.push(Cue::Negated(group));
        }
    }
    if HEDGES.iter().any(|h| text.contains(h)) {
        out.push(Cue::Hedge);
    }
    out
}

/// Lower case, everyday phrases blanked, padded with a space so that a
/// negator at the very start still ends with one.
fn prepared(text: &str) -> String {
    let mut text = format!(" {} ", text.to_lowercase());
    for phrase in NOT_HAZARD_PHRASES {
        text = text.replace(phrase, " ");
    }
    text
}

/// Where `word` occurs (ASCII words only at a word start).
fn word_starts<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.match_indices(word)
        .map(|(start, _)| start)
        .filter(move |&start| {
            !word.is_ascii()
                || !text[..start]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        })
}

/// Does a negator end within [`NEGATION_REACH`] characters of the end of
/// `before`, with no clause break (punctuation) in between?
fn is_negated(before: &str) -> bool {
    let tail: String = before
        .chars()
        .rev()
        .take_while(|c| !matches!(c, ',' | '，' | '.' | '。' | '!' | '！' | ';' | '；'))
        .take(NEGATION_REACH + 8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let chars: Vec<char> = tail.chars().collect();
    NEGATORS.iter().any(|n| {
        tail.match_indices(n).any(|(at, _)| {
            let end = tail[..at].chars().count() + n.chars().count();
            let ascii_start_ok = !n.is_ascii()
                || !tail[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphabetic());
            // 没了 (is gone) and 不见 (cannot be seen) assert, not negate.
            let asserts = matches!(chars.get(end), Some('了' | '见'));
            let between: String = chars[end..].iter().collect();
            let turned = between.contains('但') || between.contains("but ");
            ascii_start_ok && !asserts && !turned && chars.len() - end <= NEGATION_REACH
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Cue::*;

    #[test]
    fn hazards_are_cues_and_negation_defeats_them() {
        assert_eq!(cues("配电箱冒烟"), vec![Asserted("fire")]);
        assert!(cues("Transformer SPARKING").contains(&Asserted("fire")));
        assert!(cues("manhole cover missing").contains(&Asserted("hole")));
        assert_eq!(cues("配电箱没有冒烟 就是门坏了"), vec![Negated("fire")]);
        assert_eq!(cues("没人被困"), vec![Negated("trapped")]);
        assert!(cues("not missing, the grate just clanks").contains(&Negated("hole")));
        assert!(cues("nobody trapped, lift slow").contains(&Negated("trapped")));
        assert!(cues("没有冒烟 但是着火了").contains(&Asserted("fire")));
        assert!(cues("好像冒烟了").contains(&Hedge));
    }

    #[test]
    fn everyday_words_are_not_cues() {
        assert_eq!(cues("火车站旁边的路灯坏了"), vec![]);
        assert_eq!(cues("research the archive"), vec![]);
        assert_eq!(cues("Manhole cover loose"), vec![]);
        assert_eq!(cues(""), vec![]);
        // 井盖不见了: 不见 is "missing", not a negated 见.
        assert_eq!(cues("井盖不见了"), vec![Asserted("hole")]);
    }
}
