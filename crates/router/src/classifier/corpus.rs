//! The labelled corpus: JSON Lines of `{"text", "hint", "category", "urgent"}`.

use civicprobe_model::Category;
use serde::Deserialize;
use std::{io::BufRead, path::Path};

use crate::Error;

/// One labelled report.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Labelled {
    /// The courier's note.
    pub text: String,
    /// The category the courier picked, possibly wrong.
    #[serde(default)]
    pub hint: Option<Category>,
    /// The true category.
    pub category: Category,
    /// The true urgency.
    pub urgent: bool,
}

/// Parses JSON Lines; blank lines are skipped, a bad line is refused with
/// its (1-based) number. `source` names the input in errors.
pub fn parse(reader: impl BufRead, source: &str) -> Result<Vec<Labelled>, Error> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let fault = |reason: String| Error::Corpus {
            source_name: source.to_owned(),
            line: i + 1,
            reason,
        };
        let line = line.map_err(|e| fault(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| fault(e.to_string()))?);
    }
    Ok(out)
}

/// Reads a corpus file, see [`parse`].
pub fn load(path: &Path) -> Result<Vec<Labelled>, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(std::io::BufReader::new(file), &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_names_the_bad_one() {
        let ok = "{\"text\":\"井盖\",\"hint\":null,\"category\":\"manhole\",\"urgent\":false}\n\n";
        let got = parse(ok.as_bytes(), "mem").unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].category, Category::Manhole);
        let bad = format!("{ok}{{\"text\":\"x\",\"category\":\"tree\",\"urgent\":true}}\n");
        let err = parse(bad.as_bytes(), "mem").unwrap_err().to_string();
        assert!(err.contains("mem line 3"), "{err}");
    }
}
