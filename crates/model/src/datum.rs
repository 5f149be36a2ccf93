//! Map datums, and the conversion of a position to WGS-84.
//!
//! Phone GPS and browsers give WGS-84. Maps in mainland China do not: Amap
//! and Tencent Maps use GCJ-02 (国测局坐标, "Mars coordinates"), Baidu Maps
//! BD-09 (GCJ-02 shifted again), 300 m to over 1 km away from WGS-84. A street
//! office that draws its grid (网格) on one of those maps exports it in that
//! map's datum, and WeChat's in-app browser can give GCJ-02 positions.
//!
//! civicprobe stores and routes every position in WGS-84; a position sent in
//! another datum keeps its original values beside it ([`PositionAsSent`]).
//! The offsets apply in mainland China only: outside it (Hong Kong, Macau,
//! Taiwan, abroad) all three datums are the same numbers. The arithmetic is
//! the `coordtransform` crate's (a refined inverse, sub-millimetre round
//! trips, and a mainland mask that carves out Hong Kong and Macau).

use crate::{Location, LocationError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The datum a pair of coordinates is expressed in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    /// WGS-84: GPS, browsers, OpenStreetMap, Tianditu (CGCS2000, within
    /// centimetres of it).
    #[default]
    Wgs84,
    /// GCJ-02: Amap (高德), Tencent Maps (腾讯), WeChat's location.
    Gcj02,
    /// BD-09: Baidu Maps (百度).
    Bd09,
}

/// A datum name that is none of `wgs84`, `gcj02`, `bd09`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("datum must be one of wgs84, gcj02, bd09")]
pub struct DatumError;

impl Datum {
    /// Every datum, WGS-84 first.
    pub const ALL: [Datum; 3] = [Datum::Wgs84, Datum::Gcj02, Datum::Bd09];

    /// Its name on the wire and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Datum::Wgs84 => "wgs84",
            Datum::Gcj02 => "gcj02",
            Datum::Bd09 => "bd09",
        }
    }

    /// The WGS-84 position of `lat`, `lon` given in this datum. The input is
    /// validated as a [`Location`] first, so the errors name `lat` or `lon`.
    pub fn to_wgs84(self, lat: f64, lon: f64) -> Result<Location, LocationError> {
        Location::new(lat, lon)?;
        let (lon, lat) = match self {
            Datum::Wgs84 => (lon, lat),
            Datum::Gcj02 => coordtransform::gcj02_to_wgs84(lon, lat),
            Datum::Bd09 => coordtransform::bd09_to_wgs84(lon, lat),
        };
        Location::new(lat, lon)
    }

    /// `at` expressed in this datum, as `(lat, lon)`.
    pub fn from_wgs84(self, at: &Location) -> (f64, f64) {
        let (lon, lat) = match self {
            Datum::Wgs84 => (at.lon(), at.lat()),
            Datum::Gcj02 => coordtransform::wgs84_to_gcj02(at.lon(), at.lat()),
            Datum::Bd09 => coordtransform::wgs84_to_bd09(at.lon(), at.lat()),
        };
        (lat, lon)
    }

    /// Whether the offsets apply at `at` (mainland China, without Hong Kong
    /// and Macau): elsewhere every datum gives the same numbers.
    pub fn offset_applies(at: &Location) -> bool {
        coordtransform::is_in_gcj02_region(at.lon(), at.lat())
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Datum {
    type Err = DatumError;

    /// `wgs84`, `gcj02` or `bd09`, in any case, with or without a `-`
    /// (`WGS-84`, `GCJ-02`, `BD-09`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let plain: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Datum::ALL
            .into_iter()
            .find(|d| d.as_str() == plain)
            .ok_or(DatumError)
    }
}

/// A position as it was sent, in a datum other than WGS-84: kept beside the
/// WGS-84 [`Location`] that is stored and routed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionAsSent {
    /// Latitude as sent, degrees in `datum`.
    pub lat: f64,
    /// Longitude as sent, degrees in `datum`.
    pub lon: f64,
    /// The datum the sender declared.
    pub datum: Datum,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The district centre of Xian'an (the fixtures' area).
    fn centre() -> Location {
        Location::new(29.84, 114.32).unwrap()
    }

    #[test]
    fn names_parse_in_every_spelling() {
        for (s, d) in [
            ("wgs84", Datum::Wgs84),
            ("WGS-84", Datum::Wgs84),
            ("gcj02", Datum::Gcj02),
            (" GCJ-02 ", Datum::Gcj02),
            ("bd09", Datum::Bd09),
            ("BD-09", Datum::Bd09),
        ] {
            assert_eq!(s.parse::<Datum>(), Ok(d), "{s}");
        }
        for bad in ["", "gcj", "cgcs2000", "bd09mc"] {
            assert_eq!(bad.parse::<Datum>(), Err(DatumError), "{bad}");
        }
        let json: Datum = serde_json::from_str(r#""bd09""#).unwrap();
        assert_eq!(json, Datum::Bd09);
        assert_eq!(serde_json::to_string(&Datum::Gcj02).unwrap(), r#""gcj02""#);
    }

    #[test]
    fn the_offsets_are_hundreds_of_metres_in_the_district() {
        let at = centre();
        // GCJ-02 ~0.5 km off; BD-09 adds Baidu's own ~0.7 km on top.
        for (datum, range) in [(Datum::Gcj02, 300.0..=700.0), (Datum::Bd09, 900.0..=1500.0)] {
            let (lat, lon) = datum.from_wgs84(&at);
            let shifted = Location::new(lat, lon).unwrap();
            let d = at.distance_m(&shifted);
            assert!(range.contains(&d), "{datum}: {d} m");
        }
        assert_eq!(Datum::Wgs84.from_wgs84(&at), (29.84, 114.32));
    }

    #[test]
    fn round_trips_come_back_within_a_centimetre() {
        for (lat, lon) in [(29.84, 114.32), (39.9042, 116.4074), (22.54, 114.06)] {
            let at = Location::new(lat, lon).unwrap();
            for datum in Datum::ALL {
                let (dlat, dlon) = datum.from_wgs84(&at);
                let back = datum.to_wgs84(dlat, dlon).unwrap();
                let d = at.distance_m(&back);
                assert!(d < 0.01, "{datum} at {lat},{lon}: {d} m");
            }
        }
    }

    #[test]
    fn no_offset_outside_mainland_china() {
        // Hong Kong, Macau, Taipei, Tokyo, London: the same numbers.
        for (lat, lon) in [
            (22.3193, 114.1694),
            (22.1987, 113.5439),
            (25.033, 121.5654),
            (35.6762, 139.6503),
            (51.5072, -0.1276),
        ] {
            let at = Location::new(lat, lon).unwrap();
            assert!(!Datum::offset_applies(&at), "{lat},{lon}");
            for datum in Datum::ALL {
                assert_eq!(datum.from_wgs84(&at), (lat, lon), "{datum}");
                assert_eq!(datum.to_wgs84(lat, lon).unwrap(), at, "{datum}");
            }
        }
        assert!(Datum::offset_applies(&centre()));
    }

    #[test]
    fn invalid_input_names_its_field() {
        assert_eq!(
            Datum::Gcj02.to_wgs84(91.0, 114.0).unwrap_err().field(),
            "lat"
        );
        let nan = Datum::Bd09.to_wgs84(29.0, f64::NAN).unwrap_err();
        assert_eq!(nan.field(), "lon");
    }
}
