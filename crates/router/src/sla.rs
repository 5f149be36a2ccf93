//! The policy file (`fixtures/policy.toml`): `[default.urgent]`,
//! `[default.routine]` and optional `[<category>.urgent|routine]` tables of
//! `acknowledge`, `make_safe`, `resolve` durations (`"15m"`, `"2h"`,
//! `"7d"`, `"90s"`). Anything unknown or malformed is refused, naming the
//! dotted key.
//!
//! The policy types live in the model crate ([`civicprobe_model::sla`]),
//! shared with the tracker; only reading the file is the router's.

use civicprobe_model::Category;
use std::path::Path;
use time::Duration;

pub use civicprobe_model::sla::{SlaPolicy, StepDurations};

use crate::Error;

/// The bundled policy file, relative to the working directory.
pub const DEFAULT_POLICY: &str = "fixtures/policy.toml";

/// A fault at a key.
type Fault = (String, String);

/// Parses a policy file's text; `file` names it in errors.
pub fn from_toml(text: &str, file: &str) -> Result<SlaPolicy, Error> {
    parse(text).map_err(|(key, reason)| Error::Settings {
        file: file.to_owned(),
        key,
        reason,
    })
}

/// Reads and parses a policy file.
pub fn load(path: &Path) -> Result<SlaPolicy, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    from_toml(&text, &path.display().to_string())
}

/// The whole file.
fn parse(text: &str) -> Result<SlaPolicy, Fault> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ("(file)".to_owned(), e.message().to_owned()))?;
    let mut policy = SlaPolicy::default();
    if let Some(default) = table.get("default") {
        let (u, r) = pair("default", default, (policy.urgent, policy.routine))?;
        policy.urgent = u;
        policy.routine = r;
    }
    for (key, value) in &table {
        if key == "default" {
            continue;
        }
        let category: Category = key
            .parse()
            .map_err(|_| (key.clone(), "not `default` nor a category".to_owned()))?;
        let steps = pair(key, value, (policy.urgent, policy.routine))?;
        policy.by_category.insert(category, steps);
    }
    Ok(policy)
}

/// `{urgent, routine}` under `key`, missing steps from `base`.
fn pair(
    key: &str,
    value: &toml::Value,
    base: (StepDurations, StepDurations),
) -> Result<(StepDurations, StepDurations), Fault> {
    let table = value
        .as_table()
        .ok_or_else(|| (key.to_owned(), "must be a table".to_owned()))?;
    let mut out = base;
    for (name, steps) in table {
        let here = format!("{key}.{name}");
        let slot = match name.as_str() {
            "urgent" => &mut out.0,
            "routine" => &mut out.1,
            _ => return Err((here, "expected `urgent` or `routine`".to_owned())),
        };
        *slot = step_durations(&here, steps, *slot)?;
    }
    Ok(out)
}

/// One `{acknowledge, make_safe, resolve}` table.
fn step_durations(
    key: &str,
    value: &toml::Value,
    base: StepDurations,
) -> Result<StepDurations, Fault> {
    let table = value
        .as_table()
        .ok_or_else(|| (key.to_owned(), "must be a table".to_owned()))?;
    let mut out = base;
    for (name, v) in table {
        let here = format!("{key}.{name}");
        let d = v
            .as_str()
            .ok_or_else(|| (here.clone(), "must be a string like \"15m\"".to_owned()))
            .and_then(|s| duration(s).map_err(|e| (here.clone(), e)))?;
        match name.as_str() {
            "acknowledge" => out.acknowledge = d,
            "make_safe" => out.make_safe = d,
            "resolve" => out.resolve = d,
            _ => {
                return Err((
                    here,
                    "expected acknowledge, make_safe or resolve".to_owned(),
                ))
            }
        }
    }
    if !(out.acknowledge <= out.make_safe && out.make_safe <= out.resolve) {
        return Err((
            key.to_owned(),
            "steps must not shrink: acknowledge ≤ make_safe ≤ resolve".to_owned(),
        ));
    }
    Ok(out)
}

/// `"<positive integer><s|m|h|d>"`.
fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = (
        text.get(..split).unwrap_or(""),
        text.get(split..).unwrap_or(""),
    );
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 3650 * 24 * 3600)
        .ok_or_else(|| format!("{text:?} is not a positive duration like \"15m\""))?;
    match unit {
        "s" => Ok(Duration::seconds(n)),
        "m" => Ok(Duration::minutes(n)),
        "h" => Ok(Duration::hours(n)),
        "d" => Ok(Duration::days(n)),
        _ => Err(format!("{text:?}: the unit must be s, m, h or d")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        from_toml(text, "p.toml").unwrap_err().to_string()
    }

    #[test]
    fn the_bundled_policy_loads_with_life_safety_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policy.toml");
        let p = load(&path).unwrap();
        let urgent = p.steps(Category::ElectricalBox, true);
        assert_eq!(urgent.acknowledge, Duration::minutes(15));
        assert_eq!(urgent.make_safe, Duration::hours(2));
        assert_eq!(
            p.steps(Category::Elevator, true).acknowledge,
            Duration::minutes(10)
        );
        assert_eq!(p.steps(Category::Other, false).resolve, Duration::days(14));
        assert_eq!(p.urgent, SlaPolicy::default().urgent);
    }

    #[test]
    fn missing_steps_come_from_the_default_tables() {
        let p = from_toml(
            "[default.urgent]\nacknowledge='5m'\n[manhole.urgent]\nresolve='48h'",
            "p",
        )
        .unwrap();
        let m = p.steps(Category::Manhole, true);
        assert_eq!(
            (m.acknowledge, m.make_safe, m.resolve),
            (
                Duration::minutes(5),
                Duration::hours(2),
                Duration::hours(48)
            )
        );
        assert_eq!(
            p.steps(Category::Manhole, false),
            SlaPolicy::default().routine
        );
        assert_eq!(from_toml("", "p").unwrap(), SlaPolicy::default());
    }

    #[test]
    fn a_bad_file_is_refused_naming_the_key() {
        assert!(err("[manhole.urgent]\nacknowledge='soon'")
            .contains("p.toml: manhole.urgent.acknowledge:"));
        assert!(err("[manhole.urgent]\nacknowledge='15y'").contains("manhole.urgent.acknowledge"));
        assert!(err("[manhole.urgent]\nacknowledge=15").contains("manhole.urgent.acknowledge"));
        assert!(err("[manhole.urgent]\nack='15m'").contains("manhole.urgent.ack:"));
        assert!(err("[manhole.urgnet]\nacknowledge='15m'").contains("manhole.urgnet"));
        assert!(err("[tree.urgent]\nacknowledge='15m'").contains("p.toml: tree:"));
        assert!(err("[default.urgent]\nacknowledge='3h'").contains("default.urgent:"));
        assert!(err("[default.urgent]\nacknowledge='-5m'").contains("default.urgent.acknowledge"));
        assert!(err("[[").contains("(file)"));
    }
}
