//! Urgency cues: hazard words as *features*, never as a verdict.
//!
//! Until issue 17 any hit here made a report urgent, so "没有冒烟" (no
//! smoke) and "nobody trapped" raised false alarms. Now each hit is one
//! feature for the models — `cue:<group>` when the word is asserted,
//! `negated:<group>` when a negator (没有, 不是, not, no one, …) stands just
//! before it in the same clause — and the models learn from the corpus how
//! much each is worth. A hedge (好像, maybe, I think) is its own cue: a
//! hedged hazard is still a hazard report. Context cues say what else a
//! note is about (an advert, delivery talk, a reassurance, a softener, the
//! object, no hazard word at all, a negation explained away or turned);
//! they are never negated. No word here occurs only in a test split
//! (`lexicon_words_come_from_training_not_tests`).
//!
//! Chinese words match anywhere; ASCII ones at the start of a word ("smok"
//! matches "smoking", "hole" does not match "whole"). Everyday words that
//! contain a hazard word (火车站, 香烟) are blanked out first.

/// Hazard words by group; the group names the feature.
#[rustfmt::skip]
const GROUPS: &[(&str, &[&str])] = &[
    ("fire", &["火", "烟", "烧", "焦", "烫", "闪蓝光", "放电", "噼里啪啦", "噼啪", "滋滋",
        "fire", "flame", "smok", "spark", "arcing", "burn", "melt", "hot to", "popping",
        "blaze", "scorch", "mao yan", "maoyan", "zhao huo", "zhaohuo", "huo guang", "huo hua",
        "shao qi"]),
    ("trapped", &["困", "睏", "关在", "关倒", "关了", "出不来", "卡住", "卡在", "里面有人",
        "里头有人", "夹", "绞", "trapped", "trapt", "stuck in", "stuck between", "stuck with",
        "im stuck", "stuck,", "stuk", "caught", "inside", "clamp", "shut on", "locked in",
        "can't get out", "cant get out", "jammed",
        "ate a", "grabbed", "yelling", "kun", "chu bu lai", "qia zhu"]),
    ("moving", &["往下掉", "往下溜", "往下滑", "往下坠", "坠", "溜车", "冲顶", "顶到", "掉了好几层",
        "冲到顶", "开着就", "没关就", "倒着走", "逆行", "倒转", "反转", "dropp", "fell",
        "fall", "backward", "revers", "wrong way", "while moving", "moving", "hit the",
        "crash", "slam", "shot up", "diao xia"]),
    ("hole", &["没了", "冇得", "冒得", "没得", "不见", "偷", "丢", "撬走", "拿走", "搬走",
        "拖走", "冲走", "冲跑", "漂走", "缺", "少了", "翻", "移位", "掀开", "口子", "窟窿",
        "黑洞", "洞", "敞", "张起", "塌", "陷", "大坑", "悬空", "掉进", "掉下去", "掉到井",
        "栽", "踩空", "掉井里", "井口开着", "没盖", "冇盖", "没有盖", "没篦子",
        "露出", "露着", "露个", "missing", "not there",
        "open manhole", "stolen", "gone", "vanish", "took", "taken", "ripped", "open pit",
        "hole", "open drain", "no lid", "no cover", "flipped", "collaps", "caved", "sinkhole",
        "sunk", "shaft", "uncover", "knocked off", "pried", "came off", "nicked", "showing",
        "wide open", "mei gai", "mei le", "bu jian", "tou le", "kai zhe"]),
    ("live", &["带电", "漏电", "麻", "触电", "电倒", "电人", "水里", "泡水", "进水", "淹",
        "水坑", "电线断", "线断了", "电缆断", "吹断", "刮断", "掉在地", "掉地上", "垂下来",
        "live", "shock", "electrocut", "in the water", "puddle", "flooded", "wet road",
        "zapp", "snapped", "downed", "lying on", "lying across", "has power",
        "dai dian", "lou dian", "chu dian"]),
    ("gas", &["燃气", "煤气", "天然气", "嘶嘶", "漏气", "gas", "hiss", "mei qi", "meiqi",
        "ran qi", "tian ran qi"]),
    ("falling", &["倒了", "砸", "要掉", "快掉", "掉下来", "摇摇", "滑坡", "滑下",
        "压住", "压在", "堵", "悬着", "吊着", "要倒", "快倒", "about to fall",
        "leaning", "blocking", "down across", "fell on", "collapsed onto", "knocked",
        "hanging by", "dangling", "about to"]),
    ("bite", &["咬", "bit ", "bitten", "bites"]),
    ("person", &["伢", "小孩", "老人", "孕妇", "人摔", "摔倒", "受伤", "晕倒", "婴儿",
        "没有栏杆", "没护栏", "没有护栏", "kid", "child", "girl", "hurt", "injur",
        "tumbl", "ppl inside", "people inside", "family", "old man", "lady", "toddler", "baby",
        "ledge", "no fence", "no railing"]),
    ("plea", &["快来", "救命", "赶紧", "危险", "紧急", "急", "搞快", "快点", "吓人", "help",
        "urgent", "dangerous", "hurry", "pls", "asap", "!!"]),
];

/// What a note is about besides hazards: an advert, delivery talk, a
/// reassurance ("还能用", "fine"), a softener ("有点", "slightly"). Matched
/// like hazard words but never negated; features, not verdicts.
#[rustfmt::skip]
const CONTEXTS: &[(&str, &[&str])] = &[
    ("advert", &["广告", "传单", "招聘", "出租", "回收", "厂家", "直销", "上门服务",
        "电话联系", "拎包入住", "公寓", "flyer", "advert", "ad:", "poster", "hiring",
        "jobs", "course", "sign up", "call now", "for rent", "we buy", "cheap"]),
    ("delivery", &["客户", "顾客", "收件人", "包裹", "快递柜", "取件", "放门", "放在",
        "件放", "customer", "parcel", "package", "locker", "leave it",
        "deliver"]),
    ("calm", &["正常", "没事", "冇事", "不急", "能用", "还能", "不碍事", "还在", "盖着",
        "稳", "ok", "fine", "normal", "still holding",
        "works", "working", "as usual", "always has"]),
    ("mild", &["有点", "一点", "稍微", "轻微", "小坑", "一两", "slightly", "a bit",
        "little", "small", "minor", "hairline"]),
    // The objects, in the words, typos and pinyin of the training lines.
    ("cover", &["井盖", "井口", "窨井", "检查井", "下水", "雨水口", "篦子", "箅子", "盖板", "格栅",
        "铁盖", "井圈", "沟盖", "污水井", "排水井", "检修井", "化粪池", "盖子", "景盖", "井概",
        "jinggai", "jing gai", "manhole", "man hole", "manhol", "mahole", "manhoel", "manhloe",
        "mnahole", "mahnole", "sewer", "sewr", "sewar", "drain", "drian", "grate", "grating",
        "gully", "lid", "pit cover", "inspection cover", "access cover",
        "utility hole", "jg", "mh"]),
    ("lift", &["电梯", "扶梯", "直梯", "客梯", "货梯", "轿厢", "厢体", "升降机", "观光梯", "电悌",
        "电题", "点梯", "dianti", "dian ti", "dt", "elevator", "elevater", "elevetor",
        "elavator", "elevatr", "lift", "lfit", "escalator", "escelator", "travelator"]),
    ("box", &["配电", "电箱", "电柜", "电表", "表箱", "变压", "箱变", "电闸", "开关箱", "开关柜",
        "接线盒", "电缆", "电线", "高压线", "计量", "陪电", "便压", "peidian",
        "pei dian", "dianxiang", "dian xiang", "bianyaqi", "bian ya qi", "pdx", "byq",
        "transformer", "transfomer", "tranformer", "trasformer", "electric", "eletric",
        "electirc", "power box", "power line", "cable", "wire", "meter box", "breaker",
        "cabinet", "junction box", "panel"]),
];

/// After a negated hazard word, the courier explains what it really is
/// ("不是着火 是有人烧落叶", "no fire, just a bbq") or turns back to a
/// hazard ("没有冒烟 但是着火了"): cues `explained` and `turned`.
const EXPLAINERS: &[&str] = &["是", "just", "only"];
/// See [`EXPLAINERS`].
const TURNS: &[&str] = &["但", "可是", "but "];

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
    "放电梯", "不急", "屏幕卡", "卡顿", "huo che",
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
    /// A [`CONTEXTS`] group, or `explained` / `turned` (see [`EXPLAINERS`]).
    Context(&'static str),
}

/// The cues of `text`, one per group (asserted wins over negated: "没有冒烟
/// 但是着火了" is a fire), then its contexts.
pub fn cues(original: &str) -> Vec<Cue> {
    let text = prepared(original);
    let mut out = Vec::new();
    let mut first_negated = None;
    for (group, words) in GROUPS {
        let mut negated = false;
        let mut asserted = false;
        for word in *words {
            for start in word_starts(&text, word) {
                if is_negated(&text[..start]) {
                    negated = true;
                    let end = start + word.len();
                    first_negated = Some(first_negated.map_or(end, |e: usize| e.min(end)));
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
    if !out
        .iter()
        .any(|c| matches!(c, Cue::Asserted(g) if !UNNEGATABLE.contains(g)))
    {
        out.push(Cue::Context("no_hazard_word"));
    }
    let raw = format!(" {} ", original.to_lowercase());
    out.extend(contexts(&raw, &text, first_negated));
    out
}

/// The [`CONTEXTS`] groups of the lower-cased text `raw` (nothing
/// blanked: 不急 is calm), and whether what follows the first negated
/// hazard word of the `prepared` text explains it away or turns.
fn contexts(raw: &str, text: &str, first_negated: Option<usize>) -> Vec<Cue> {
    let mut out: Vec<Cue> = CONTEXTS
        .iter()
        .filter(|(_, words)| words.iter().any(|w| word_starts(raw, w).next().is_some()))
        .map(|(group, _)| Cue::Context(group))
        .collect();
    if let Some(after) = first_negated.map(|end| &text[end..]) {
        let explains = |w: &&str| {
            // 但是 and 可是 turn, 还是 and 不是 do not explain.
            word_starts(after, w).any(|at| {
                !after[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| "但可还不".contains(c))
            })
        };
        if EXPLAINERS.iter().any(explains) {
            out.push(Cue::Context("explained"));
        }
        if TURNS.iter().any(|w| after.contains(w)) {
            out.push(Cue::Context("turned"));
        }
    }
    out
}

/// Every word the cues look for, for the check that none was taken from a
/// test split (`lexicon_words_come_from_training_not_tests`).
pub fn lexicon() -> impl Iterator<Item = &'static str> {
    GROUPS
        .iter()
        .chain(CONTEXTS)
        .flat_map(|(_, words)| words.iter().copied())
        .chain(NEGATORS.iter().copied())
        .chain(HEDGES.iter().copied())
        .chain(NOT_HAZARD_PHRASES.iter().copied())
        .chain(EXPLAINERS.iter().copied())
        .chain(TURNS.iter().copied())
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

    /// The hazard cues of a text, without its contexts.
    fn hazards(text: &str) -> Vec<Cue> {
        cues(text)
            .into_iter()
            .filter(|c| !matches!(c, Context(_)))
            .collect()
    }

    #[test]
    fn hazards_are_cues_and_negation_defeats_them() {
        assert_eq!(hazards("配电箱冒烟"), vec![Asserted("fire")]);
        assert!(cues("Transformer SPARKING").contains(&Asserted("fire")));
        assert!(cues("manhole cover missing").contains(&Asserted("hole")));
        let c = cues("配电箱没有冒烟 就是门坏了");
        assert_eq!(hazards("配电箱没有冒烟 就是门坏了"), vec![Negated("fire")]);
        assert!(c.contains(&Context("explained")) && c.contains(&Context("no_hazard_word")));
        assert_eq!(hazards("没人被困"), vec![Negated("trapped")]);
        assert!(cues("not missing, the grate just clanks").contains(&Negated("hole")));
        assert!(cues("nobody trapped, lift slow").contains(&Negated("trapped")));
        assert!(cues("没有冒烟 但是着火了").contains(&Asserted("fire")));
        assert!(cues("好像冒烟了").contains(&Hedge));
        assert!(!cues("好像冒烟了").contains(&Context("no_hazard_word")));
    }

    #[test]
    fn contexts_and_explanations_are_cues_too() {
        let c = cues("no fire, just a bbq stall smoking");
        assert!(c.contains(&Asserted("fire")) && c.contains(&Context("explained")));
        let c = cues("没有冒烟 但是着火了");
        assert!(c.contains(&Context("turned")) && !c.contains(&Context("explained")));
        let c = cues("客户说放电梯口");
        assert!(c.contains(&Context("delivery")) && c.contains(&Context("lift")));
        assert!(!c.iter().any(|c| matches!(c, Asserted(_))), "{c:?}");
        let c = cues("盖子有点松 不急");
        assert!(c.contains(&Context("calm")) && c.contains(&Context("mild")));
        assert!(!c.contains(&Asserted("plea")), "不急 is no plea: {c:?}");
        assert!(cues("flyer: lift repair, call now").contains(&Context("advert")));
        assert!(cues("dian ti kun ren le").contains(&Asserted("trapped")));
        assert!(cues("pdx冒烟").contains(&Context("box")));
    }

    #[test]
    fn everyday_words_are_not_cues() {
        assert_eq!(hazards("火车站旁边的路灯坏了"), vec![]);
        assert_eq!(
            cues("research the archive"),
            vec![Context("no_hazard_word")]
        );
        assert_eq!(hazards("Manhole cover loose"), vec![]);
        assert_eq!(cues(""), vec![Context("no_hazard_word")]);
        // 井盖不见了: 不见 is "missing", not a negated 见.
        assert_eq!(hazards("井盖不见了"), vec![Asserted("hole")]);
    }
}
