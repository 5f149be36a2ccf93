//! A validated WGS84 position.

use serde::{Deserialize, Serialize};

/// A point on the earth in WGS84 degrees. Both coordinates are finite and in
/// range; there is no way to build one otherwise, also not by deserializing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLocation")]
pub struct Location {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
struct RawLocation {
    lat: Option<f64>,
    lon: Option<f64>,
}

/// Why a pair of numbers is not a [`Location`]. Each names its field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocationError {
    #[error("lat is missing")]
    MissingLat,
    #[error("lon is missing")]
    MissingLon,
    #[error("lat must be a finite number of degrees between -90 and 90, got {0}")]
    Lat(f64),
    #[error("lon must be a finite number of degrees between -180 and 180, got {0}")]
    Lon(f64),
}

impl LocationError {
    /// The field at fault, as named on the wire.
    pub fn field(&self) -> &'static str {
        match self {
            LocationError::MissingLat | LocationError::Lat(_) => "lat",
            LocationError::MissingLon | LocationError::Lon(_) => "lon",
        }
    }
}

impl Location {
    /// Validates latitude and longitude in degrees.
    pub fn new(lat: f64, lon: f64) -> Result<Self, LocationError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(LocationError::Lat(lat));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(LocationError::Lon(lon));
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees north.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees east.
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle distance in metres (haversine, mean earth radius).
    pub fn distance_m(&self, other: &Location) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

impl TryFrom<RawLocation> for Location {
    type Error = LocationError;
    fn try_from(raw: RawLocation) -> Result<Self, Self::Error> {
        let lat = raw.lat.ok_or(LocationError::MissingLat)?;
        let lon = raw.lon.ok_or(LocationError::MissingLon)?;
        Location::new(lat, lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_district_centre_and_the_extremes() {
        let p = Location::new(29.84, 114.32).unwrap();
        assert_eq!((p.lat(), p.lon()), (29.84, 114.32));
        assert!(Location::new(90.0, 180.0).is_ok());
        assert!(Location::new(-90.0, -180.0).is_ok());
    }

    #[test]
    fn refuses_nan_infinite_and_out_of_range() {
        for (lat, lon, field) in [
            (f64::NAN, 0.0, "lat"),
            (0.0, f64::NAN, "lon"),
            (f64::INFINITY, 0.0, "lat"),
            (0.0, f64::NEG_INFINITY, "lon"),
            (90.0001, 0.0, "lat"),
            (-91.0, 0.0, "lat"),
            (0.0, 180.5, "lon"),
            (0.0, -181.0, "lon"),
        ] {
            let err = Location::new(lat, lon).unwrap_err();
            assert_eq!(err.field(), field, "{lat},{lon}");
        }
    }

    #[test]
    fn deserializing_validates_and_names_missing_fields() {
        let ok: Location = serde_json::from_str(r#"{"lat":29.84,"lon":114.32}"#).unwrap();
        assert_eq!(ok.lat(), 29.84);
        let missing = serde_json::from_str::<Location>(r#"{"lat":29.84}"#).unwrap_err();
        assert!(missing.to_string().contains("lon is missing"), "{missing}");
        let range = serde_json::from_str::<Location>(r#"{"lat":129.84,"lon":1}"#).unwrap_err();
        assert!(range.to_string().contains("lat must be"), "{range}");
    }

    #[test]
    fn distance_is_plausible() {
        let a = Location::new(29.84, 114.32).unwrap();
        let b = Location::new(29.84 + 0.001, 114.32).unwrap();
        let d = a.distance_m(&b);
        assert!((d - 111.2).abs() < 1.0, "{d}");
        assert_eq!(a.distance_m(&a), 0.0);
    }
}
