//! A small local gazetteer for `address_string`: named places of the
//! district (roads, parks, landmarks) with a position each, read from a
//! TOML file (`fixtures/places.toml`). The server is offline, so there is
//! no geocoder: an address is placed when it contains a known name.

use crate::Error;
use civicprobe_model::Location;
use serde::Deserialize;
use std::path::Path;

/// Where the gazetteer is read from by default (relative to the
/// repository root).
pub const DEFAULT_PATH: &str = "fixtures/places.toml";

/// One named place.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    /// Its Chinese name.
    pub zh: String,
    /// Its English name, if any.
    pub en: Option<String>,
    /// Other names it is known by.
    pub aliases: Vec<String>,
    /// Its position.
    pub location: Location,
}

/// Every known place, with each name normalised for matching.
#[derive(Clone, Debug, Default)]
pub struct Places {
    /// The places, in file order.
    places: Vec<Place>,
    /// `(normalised name, index into places)`, every name of every place.
    names: Vec<(String, usize)>,
}

/// The file's shape: `[[place]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    place: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    zh: String,
    en: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    lat: f64,
    lon: f64,
}

impl Places {
    /// Reads and checks a gazetteer file, see [`Places::parse`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Places(format!("reading {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| Error::Places(format!("{}: {e}", path.display())))
    }

    /// Parses a gazetteer. Refused, naming the entry: an unknown key, an
    /// empty name, a position outside WGS 84, a name (after
    /// [`normalise`]) of fewer than two characters or given twice.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let file: File = toml::from_str(text).map_err(|e| Error::Places(e.to_string()))?;
        let mut out = Places::default();
        for (i, entry) in file.place.into_iter().enumerate() {
            let what = format!("place {} ({:?})", i + 1, entry.zh);
            let bad = |detail: String| Error::Places(format!("{what}: {detail}"));
            let location = Location::new(entry.lat, entry.lon).map_err(|e| bad(e.to_string()))?;
            let all = std::iter::once(&entry.zh)
                .chain(entry.en.iter())
                .chain(entry.aliases.iter());
            for name in all {
                let key = normalise(name);
                if key.chars().count() < 2 {
                    return Err(bad(format!("name {name:?} is too short to match")));
                }
                if let Some((_, j)) = out.names.iter().find(|(k, _)| *k == key) {
                    return Err(bad(format!(
                        "name {name:?} is already a name of place {}",
                        j + 1
                    )));
                }
                out.names.push((key, i));
            }
            out.places.push(Place {
                zh: entry.zh,
                en: entry.en,
                aliases: entry.aliases,
                location,
            });
        }
        Ok(out)
    }

    /// How many places are known.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// No place is known.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Every place, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Place> {
        self.places.iter()
    }

    /// The place `address` names: a place whose name or alias the
    /// normalised address contains; the longest such name wins, then the
    /// one earliest in the address, then file order.
    pub fn find(&self, address: &str) -> Option<&Place> {
        let address = normalise(address);
        self.names
            .iter()
            .filter_map(|(name, i)| address.find(name.as_str()).map(|at| (name, at, *i)))
            .min_by_key(|(name, at, i)| (std::cmp::Reverse(name.chars().count()), *at, *i))
            .map(|(_, _, i)| &self.places[i])
    }
}

/// The matching form of a name or address: full-width ASCII folded to
/// half-width, lower case, only letters and digits kept (so spaces and
/// punctuation are ignored; Chinese characters are letters).
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[[place]]
zh = "长安大道"
en = "Chang'an Avenue"
lat = 29.87
lon = 114.30

[[place]]
zh = "长安大道东段"
aliases = ["东段口"]
lat = 29.86
lon = 114.40
"#;

    #[test]
    fn names_and_aliases_match_inside_an_address() {
        let p = Places::parse(TWO).unwrap();
        assert_eq!(p.find("长安大道 12号").unwrap().zh, "长安大道");
        assert_eq!(p.find("12 CHANG'AN avenue").unwrap().zh, "长安大道");
        assert_eq!(
            p.find("１２ Ｃｈａｎｇ’ａｎ Ａｖｅｎｕｅ").unwrap().zh,
            "长安大道"
        );
        assert_eq!(p.find("咸宁市东段口附近").unwrap().zh, "长安大道东段");
    }

    #[test]
    fn the_longest_name_wins() {
        let p = Places::parse(TWO).unwrap();
        assert_eq!(p.find("长安大道东段 3号").unwrap().zh, "长安大道东段");
        assert_eq!(p.find("长安大道东 段").unwrap().zh, "长安大道东段");
    }

    #[test]
    fn no_match_is_none() {
        let p = Places::parse(TWO).unwrap();
        assert!(p.find("1 Main St").is_none());
        assert!(p.find("长安").is_none());
        assert!(p.find("").is_none());
        assert!(Places::default().find("长安大道").is_none());
    }

    #[test]
    fn bad_files_name_the_entry() {
        let err = |t: &str| Places::parse(t).unwrap_err().to_string();
        let dup =
            format!("{TWO}\n[[place]]\nzh = \"x\"\naliases = [\"长安 大道\"]\nlat = 1\nlon = 1\n");
        assert!(err(&dup).contains("place 3"), "{}", err(&dup));
        let short = "[[place]]\nzh = \"路\"\nlat = 1\nlon = 1\n";
        assert!(err(short).contains("place 1 (\"路\")"), "{}", err(short));
        let far = "[[place]]\nzh = \"温泉路\"\nlat = 91\nlon = 1\n";
        assert!(err(far).contains("place 1"), "{}", err(far));
        assert!(Places::parse("[[place]]\nzh = \"温泉路\"\nlat = 1\nlon = 1\nx = 2\n").is_err());
    }

    #[test]
    fn the_fixture_places_are_in_offices() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
        let places = Places::load(&Path::new(dir).join("places.toml")).unwrap();
        let offices =
            civicprobe_router::Jurisdictions::load(&Path::new(dir).join("jurisdictions.geojson"))
                .unwrap();
        assert!(places.len() >= 12);
        for p in places.iter() {
            assert!(offices.office_for(&p.location).is_some(), "{}", p.zh);
        }
        assert_eq!(places.find("温泉路 12号").unwrap().zh, "温泉路");
        assert_eq!(places.find("湖北科技学院南门").unwrap().zh, "咸宁学院");
    }
}
