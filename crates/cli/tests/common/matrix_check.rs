//! What the authorization matrix (`tests/authz.rs`) checks in each cell,
//! and the routes it finds in the source to prove that every one has a
//! row. Pure: no stack here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What one cell may answer, written as one short word in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this status.
    Is(u16),
    /// `no`: refused without saying whether the target exists (403 or 404).
    Refused,
    /// `key`: this credential is not one this endpoint takes (401 or 403).
    NotAKey,
    /// `hid`: 404, or 200 with nothing of another courier (the leak check
    /// forbids their id and text in every cell anyway).
    Hidden,
    /// `pub`: the district decides whether Open311 serves photos (200 or 404,
    /// the same for every caller).
    Public,
    /// `out`: signing out without a session (204, or 401).
    SignOut,
}

impl Expect {
    /// One word of the table.
    pub fn parse(word: &str) -> Expect {
        match word {
            "no" => Expect::Refused,
            "key" => Expect::NotAKey,
            "hid" => Expect::Hidden,
            "pub" => Expect::Public,
            "out" => Expect::SignOut,
            code => Expect::Is(
                code.parse()
                    .unwrap_or_else(|_| panic!("{code:?} is not an expectation")),
            ),
        }
    }

    /// Whether `status` is what this cell may answer.
    pub fn allows(self, status: u16) -> bool {
        match self {
            Expect::Is(code) => status == code,
            Expect::Refused => matches!(status, 403 | 404),
            Expect::NotAKey => matches!(status, 401 | 403),
            Expect::Hidden | Expect::Public => matches!(status, 200 | 404),
            Expect::SignOut => matches!(status, 204 | 401),
        }
    }

    /// Whether the cell expects the action to go through (then it may
    /// change its target; a refused cell must not).
    pub fn may_change(self) -> bool {
        matches!(self, Expect::Is(200..=299) | Expect::SignOut)
    }

    /// The table's word again, for messages.
    pub fn word(self) -> String {
        match self {
            Expect::Is(code) => code.to_string(),
            Expect::Refused => "no (403|404)".into(),
            Expect::NotAKey => "key (401|403)".into(),
            Expect::Hidden => "hid (404 or 200 without the other courier)".into(),
            Expect::Public => "pub (200|404)".into(),
            Expect::SignOut => "out (204|401)".into(),
        }
    }
}

/// Why an error answer's body is wrong, if it is: every 4xx/5xx is
/// `application/problem+json` with `type` and the same `status`; Open311
/// paths may instead answer the GeoReport v2 error array (JSON) or
/// `<errors>` document (XML).
pub fn error_body_fault(
    open311: bool,
    status: u16,
    content_type: &str,
    body: &str,
) -> Option<String> {
    if status < 400 {
        return None;
    }
    let json = serde_json::from_str::<serde_json::Value>(body).ok();
    if content_type.starts_with(civicprobe_model::PROBLEM_JSON) {
        let ok = json.as_ref().is_some_and(|v| {
            v["type"].is_string() && v["status"].as_u64() == Some(u64::from(status))
        });
        return (!ok).then(|| format!("problem+json without type/status {status}"));
    }
    if open311 {
        let array = content_type.starts_with("application/json")
            && json.as_ref().is_some_and(|v| {
                v[0]["code"].as_u64() == Some(u64::from(status)) && v[0]["description"].is_string()
            });
        let xml = content_type.contains("xml") && body.contains("<errors>");
        if array || xml {
            return None;
        }
        return Some(format!(
            "not problem+json nor an Open311 error document (content-type {content_type:?})"
        ));
    }
    Some(format!("not problem+json (content-type {content_type:?})"))
}

/// `(METHOD, path)` of every `.route("path", get(…).post(…))` in the
/// crates' sources below `root` (each crate's `src`, without test code:
/// a file is read up to its first `#[cfg(test)]`, and files of
/// `#[cfg(test)] mod name;` are skipped), and the calls the matrix cannot
/// see through (`.nest(`, `.nest_service(`, `.route_service(`).
pub fn routes_in_source(root: &Path) -> (BTreeSet<(String, String)>, Vec<String>) {
    let mut routes = BTreeSet::new();
    let mut opaque = Vec::new();
    let crates = std::fs::read_dir(root.join("crates")).expect("crates folder");
    for krate in crates.flatten() {
        let files = rust_files(&krate.path().join("src"));
        let texts: Vec<(PathBuf, String)> = files
            .into_iter()
            .map(|f| {
                let text = std::fs::read_to_string(&f).expect("source file");
                (f, text)
            })
            .collect();
        let tests = test_module_files(&texts);
        for (file, text) in texts.iter().filter(|(f, _)| !tests.contains(f)) {
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for call in [".nest(", ".nest_service(", ".route_service("] {
                if text.contains(call) {
                    opaque.push(format!("{} calls {call}", file.display()));
                }
            }
            routes.extend(routes_in(text));
        }
    }
    (routes, opaque)
}

/// The files of modules declared `#[cfg(test)] mod name;` (as
/// `name.rs` or `name/mod.rs` beside `lib.rs`, `main.rs` and `mod.rs`,
/// below `parent/` for `parent.rs`).
fn test_module_files(texts: &[(PathBuf, String)]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for (file, text) in texts {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let dir = file.parent().unwrap_or(Path::new("."));
        let dir = if matches!(stem, "lib" | "main" | "mod") {
            dir.to_path_buf()
        } else {
            dir.join(stem)
        };
        for (at, _) in text.match_indices("#[cfg(test)]") {
            let rest = text[at + "#[cfg(test)]".len()..].trim_start();
            let Some(name) = rest.strip_prefix("mod ").and_then(|r| r.split_once(';')) else {
                continue;
            };
            let name = name.0.trim();
            out.insert(dir.join(format!("{name}.rs")));
            out.insert(dir.join(name).join("mod.rs"));
        }
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The method routers axum offers.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "any",
];

/// The routes of one file's text.
fn routes_in(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices(".route(") {
        let rest = &text[at + ".route(".len()..];
        let Some(literal) = rest.trim_start().strip_prefix('"') else {
            continue; // `router.route(&report, now)` and the like
        };
        let Some((path, _)) = literal.split_once('"') else {
            continue;
        };
        let call = &rest[..call_len(rest)];
        for method in METHODS {
            let needle = format!("{method}(");
            let calls = call.match_indices(&needle).filter(|(i, _)| {
                call[..*i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
            });
            if calls.count() > 0 {
                found.push((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    found
}

/// How long the argument list starting at `rest` (just after `(`) is,
/// up to its closing parenthesis.
fn call_len(rest: &str) -> usize {
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    rest.len()
}

#[test]
fn routes_are_read_with_their_methods() {
    let text = r#"
        Router::new()
            .route(
                "/v1/reports",
                post(submit_report).layer(DefaultBodyLimit::max(limit)),
            )
            .route("/a/{file}", get(top_level).post(post::post_request))
            .route("/", get(|| async { page(COURIER_PAGE) }))
        let routed = router.route(&r, now);
    "#;
    let got = routes_in(text);
    let want = [
        ("POST", "/v1/reports"),
        ("GET", "/a/{file}"),
        ("POST", "/a/{file}"),
        ("GET", "/"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(m, p)| ((*m).into(), (*p).into()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn out_of_line_test_modules_are_skipped() {
    let texts = [
        (
            PathBuf::from("src/answers.rs"),
            "#[cfg(test)]\nmod tests;".to_owned(),
        ),
        (
            PathBuf::from("src/lib.rs"),
            "#[cfg(test)]\n  mod unit ;".to_owned(),
        ),
    ];
    let skipped = test_module_files(&texts);
    assert!(
        skipped.contains(Path::new("src/answers/tests.rs")),
        "{skipped:?}"
    );
    assert!(skipped.contains(Path::new("src/unit.rs")), "{skipped:?}");
    assert!(!skipped.contains(Path::new("src/answers.rs")));
}
