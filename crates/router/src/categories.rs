//! The categories' display names, from `fixtures/categories.toml`:
//! one table per [`Category`] wire name with `zh` and `en` (and an
//! optional `description`). Every category must be there, nothing else.

use civicprobe_model::Category;
use std::{collections::BTreeMap, path::Path};

use crate::Error;

/// The bundled categories file.
pub const DEFAULT_CATEGORIES: &str = "fixtures/categories.toml";

/// How one category is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryNames {
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// What belongs in it, for people.
    pub description: Option<String>,
}

/// Every category's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Categories {
    /// One entry per [`Category::ALL`].
    names: BTreeMap<Category, CategoryNames>,
}

impl Categories {
    /// Parses the TOML text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, Error> {
        let fault = |key: &str, reason: &str| Error::Settings {
            file: file.to_owned(),
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| fault("(file)", e.message()))?;
        let mut names = BTreeMap::new();
        for (key, value) in &table {
            let category: Category = key.parse().map_err(|_| {
                fault(
                    key,
                    "not a category (manhole, elevator, electrical_box, other)",
                )
            })?;
            let entry = value
                .as_table()
                .ok_or_else(|| fault(key, "must be a table"))?;
            let text = |field: &str| -> Result<Option<String>, Error> {
                match entry.get(field) {
                    None => Ok(None),
                    Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                    Some(_) => Err(fault(
                        &format!("{key}.{field}"),
                        "must be a non-empty string",
                    )),
                }
            };
            let required = |field: &str| {
                text(field)?.ok_or_else(|| fault(&format!("{key}.{field}"), "is missing"))
            };
            names.insert(
                category,
                CategoryNames {
                    zh: required("zh")?,
                    en: required("en")?,
                    description: text("description")?,
                },
            );
        }
        if let Some(missing) = Category::ALL.iter().find(|c| !names.contains_key(c)) {
            return Err(fault(missing.as_str(), "is missing"));
        }
        Ok(Self { names })
    }

    /// Reads and parses a categories file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The bundled file, compiled in.
    pub fn builtin() -> Self {
        const TEXT: &str = include_str!("../../../fixtures/categories.toml");
        Self::from_toml(TEXT, "bundled categories.toml").unwrap_or_else(|_| Self {
            names: Category::ALL
                .iter()
                .map(|c| {
                    let n = CategoryNames {
                        zh: c.to_string(),
                        en: c.to_string(),
                        description: None,
                    };
                    (*c, n)
                })
                .collect(),
        })
    }

    /// The names of a category.
    pub fn names(&self, category: Category) -> Option<&CategoryNames> {
        self.names.get(&category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_file_names_every_category() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/categories.toml");
        let c = Categories::load(&path).unwrap();
        assert_eq!(c, Categories::builtin());
        assert_eq!(c.names(Category::Manhole).unwrap().zh, "井盖");
        assert_eq!(
            c.names(Category::ElectricalBox).unwrap().en,
            "Electrical box or wires"
        );
    }

    #[test]
    fn a_bad_file_is_refused_naming_the_key() {
        let err = |text: &str| {
            Categories::from_toml(text, "c.toml")
                .unwrap_err()
                .to_string()
        };
        assert!(err("[tree]\nzh='树'\nen='Tree'").contains("c.toml: tree:"));
        let three =
            "[manhole]\nzh='a'\nen='b'\n[elevator]\nzh='a'\nen='b'\n[other]\nzh='a'\nen='b'";
        assert!(err(three).contains("electrical_box: is missing"));
        assert!(err("[manhole]\nzh=''\nen='b'").contains("manhole.zh"));
        assert!(err("[manhole]\nen='b'").contains("manhole.zh: is missing"));
        assert!(err("not toml [").contains("(file)"));
    }
}
