//! Checks every handler applies to what people type: notes, reasons and
//! parser messages that must not echo the input back.

use super::ApiError;

/// Longest note an actor may attach, in characters.
pub(crate) const MAX_NOTE_CHARS: usize = 2000;

/// A note as stored: trimmed, `None` when empty; refused when longer than
/// [`MAX_NOTE_CHARS`] or holding control characters.
pub(crate) fn clean_note(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let note = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if let Some(note) = &note {
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(ApiError::field(
                "note",
                format!("note is longer than {MAX_NOTE_CHARS} characters"),
            ));
        }
        no_controls("note", note)?;
    }
    Ok(note)
}

/// A parser's message without the input it quotes.
pub(crate) fn redacted(e: &dyn std::fmt::Display) -> String {
    civicprobe_model::text::redact_quoted(&e.to_string())
}

/// Refuses control characters in a text `field` (see
/// [`civicprobe_model::text`]).
pub(crate) fn no_controls(field: &'static str, text: &str) -> Result<(), ApiError> {
    civicprobe_model::text::check(text).map_err(|e| ApiError::field(field, format!("{field} {e}")))
}
