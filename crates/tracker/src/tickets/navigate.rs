//! 导航: links that open a ticket's position in the maps street-office
//! staff carry on their phones, each in that map's own datum: Amap (高德,
//! GCJ-02, `uri.amap.com/marker`), Baidu Maps (百度, BD-09,
//! `api.map.baidu.com/marker`), Tencent Maps (腾讯, GCJ-02,
//! `apis.map.qq.com/uri/v1/marker`), and a `geo:` URI (RFC 5870, WGS-84)
//! for any other map app. Outside mainland China the three datums agree.

use civicprobe_model::{Datum, Location};
use serde::Serialize;

/// The name civicprobe gives itself to the map services (`src`, `referer`).
const SOURCE: &str = "civicprobe";

/// One map's link to a position.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NavLink {
    /// `amap`, `baidu`, `tencent` or `geo`.
    pub map: &'static str,
    /// The datum of the coordinates in `url`.
    pub datum: Datum,
    /// The link itself.
    pub url: String,
}

/// The links for `at` (WGS-84), the marker titled `title`.
pub fn links(at: &Location, title: &str) -> Vec<NavLink> {
    let title = percent_encode(title);
    let (glat, glon) = Datum::Gcj02.from_wgs84(at);
    let (blat, blon) = Datum::Bd09.from_wgs84(at);
    let (lat, lon) = (at.lat(), at.lon());
    vec![
        NavLink {
            map: "amap",
            datum: Datum::Gcj02,
            url: format!(
                "https://uri.amap.com/marker?position={glon:.6},{glat:.6}&name={title}\
                 &src={SOURCE}&coordinate=gaode&callnative=1"
            ),
        },
        NavLink {
            map: "baidu",
            datum: Datum::Bd09,
            url: format!(
                "https://api.map.baidu.com/marker?location={blat:.6},{blon:.6}&title={title}\
                 &content={title}&output=html&coord_type=bd09ll&src=webapp.{SOURCE}"
            ),
        },
        NavLink {
            map: "tencent",
            datum: Datum::Gcj02,
            url: format!(
                "https://apis.map.qq.com/uri/v1/marker?marker=coord:{glat:.6},{glon:.6};\
                 title:{title};addr:{title}&referer={SOURCE}"
            ),
        },
        NavLink {
            map: "geo",
            datum: Datum::Wgs84,
            url: format!("geo:{lat:.6},{lon:.6}?q={lat:.6},{lon:.6}({title})"),
        },
    ]
}

/// Every byte but ASCII letters and digits as `%XX`, so the title cannot
/// break out of its parameter.
fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers after `key` in `url`, up to the next `&`, `;` or `?`.
    fn pair(url: &str, key: &str) -> (f64, f64) {
        let rest = &url[url.find(key).unwrap() + key.len()..];
        let end = rest.find(['&', ';', '?']).unwrap_or(rest.len());
        let (a, b) = rest[..end].split_once(',').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn each_map_gets_the_position_in_its_own_datum() {
        let at = Location::new(29.84, 114.32).unwrap();
        let links = links(&at, "井盖 温泉街道");
        let url = |map: &str| links.iter().find(|l| l.map == map).unwrap().url.clone();
        // Amap and Baidu: lon,lat / lat,lon; back to WGS-84 within a metre
        // (six decimals are ~0.1 m).
        let (lon, lat) = pair(&url("amap"), "position=");
        assert!(Datum::Gcj02.to_wgs84(lat, lon).unwrap().distance_m(&at) < 1.0);
        let (lat, lon) = pair(&url("baidu"), "location=");
        assert!(Datum::Bd09.to_wgs84(lat, lon).unwrap().distance_m(&at) < 1.0);
        let (lat, lon) = pair(&url("tencent"), "coord:");
        assert!(Datum::Gcj02.to_wgs84(lat, lon).unwrap().distance_m(&at) < 1.0);
        assert!(url("geo").starts_with("geo:29.840000,114.320000?q=29.840000,114.320000("));
        // The converted ones are hundreds of metres from the WGS-84 numbers.
        let (lon, lat) = pair(&url("amap"), "position=");
        assert!(Location::new(lat, lon).unwrap().distance_m(&at) > 300.0);
        assert!(url("baidu").contains("coord_type=bd09ll"));
        assert!(url("amap").contains("coordinate=gaode"));
    }

    #[test]
    fn outside_mainland_china_the_numbers_are_the_same() {
        let hong_kong = Location::new(22.3193, 114.1694).unwrap();
        for link in links(&hong_kong, "x") {
            assert!(
                link.url.contains("22.319300") && link.url.contains("114.169400"),
                "{link:?}"
            );
        }
    }

    #[test]
    fn the_title_cannot_break_out_of_its_parameter() {
        let links = links(&Location::new(29.84, 114.32).unwrap(), "a&b=c;d\"<e>(f) 井");
        for link in &links {
            for bad in ["&b=", ";d", "\"", "<", ">", "(f)", " "] {
                assert!(!link.url.contains(bad), "{bad} in {}", link.url);
            }
        }
        assert!(links[0]
            .url
            .contains("name=a%26b%3Dc%3Bd%22%3Ce%3E%28f%29%20%E4%BA%95"));
    }
}
