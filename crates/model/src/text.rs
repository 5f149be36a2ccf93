//! Free text from clients: the one rule on control characters.
//!
//! A C0 control character (U+0000–U+001F) other than TAB, LF and CR, or
//! DEL (U+007F), has no business in a report, a note or a name: it breaks
//! XML 1.0 for every reader of an Open311 feed and hides text in terminals
//! and logs. Input holding one is refused ([`check`]); text stored before
//! the rule existed is cleaned on output ([`strip_controls`]).

/// A text field holds a forbidden control character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must not contain control characters (found U+{code:04X} at character {position})")]
pub struct ControlCharacter {
    /// The character's code point.
    pub code: u32,
    /// Its position, counted in characters from 0.
    pub position: usize,
}

/// Whether `c` is refused in free text: C0 except TAB, LF, CR; and DEL.
pub fn is_forbidden_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}')
}

/// `Ok` when `text` holds no forbidden control character; else the first.
pub fn check(text: &str) -> Result<(), ControlCharacter> {
    match text
        .chars()
        .enumerate()
        .find(|(_, c)| is_forbidden_control(*c))
    {
        Some((position, c)) => Err(ControlCharacter {
            code: u32::from(c),
            position,
        }),
        None => Ok(()),
    }
}

/// `text` with every forbidden control character replaced by U+FFFD, so
/// that rows stored before [`check`] still render as valid XML.
pub fn strip_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_forbidden_control) {
        text.chars()
            .map(|c| {
                if is_forbidden_control(c) {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// `message` with every double-quoted part replaced by `"…"`: parser
/// messages (serde's among them) quote the offending input, and an error
/// answer must not repeat what the client sent.
pub fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in message.chars() {
        match (quoted, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => {
                out.push_str("…\"");
                quoted = false;
            }
            (true, false, _) => {}
            (false, _, '"') => {
                out.push('"');
                quoted = true;
            }
            (false, _, c) => out.push(c),
        }
    }
    if quoted {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_c0_but_tab_lf_cr_and_del_is_refused() {
        for code in 0u32..0x20 {
            let c = char::from_u32(code).unwrap();
            let allowed = matches!(c, '\t' | '\n' | '\r');
            assert_eq!(check(&format!("a{c}b")).is_ok(), allowed, "U+{code:04X}");
        }
        assert_eq!(
            check("ab\u{7f}"),
            Err(ControlCharacter {
                code: 0x7f,
                position: 2
            })
        );
        assert!(check("井盖丢失\t第二行\r\n \u{85}\u{a0}").is_ok());
        let e = check("字\u{0}").unwrap_err();
        assert_eq!(e.position, 1);
        assert!(e.to_string().contains("U+0000"), "{e}");
    }

    #[test]
    fn quoted_input_is_redacted() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "zq<b>\"x", expected a map at line 1"#),
            r#"invalid type: string "…", expected a map at line 1"#
        );
        assert_eq!(
            redact_quoted("missing field `note`"),
            "missing field `note`"
        );
        assert_eq!(redact_quoted("open \"zq"), "open \"…");
    }

    #[test]
    fn stored_text_is_cleaned_for_output() {
        assert_eq!(
            strip_controls("a\u{1}b\u{1b}[31m\nc"),
            "a\u{fffd}b\u{fffd}[31m\nc"
        );
        assert!(matches!(
            strip_controls("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
