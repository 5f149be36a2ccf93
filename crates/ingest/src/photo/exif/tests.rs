use super::*;
use civicprobe_testkit::photos;
use time::macros::datetime;

fn jpeg_with(payload: &[u8]) -> Vec<u8> {
    with_app1(&photos::jpeg(32, 24), payload)
}

/// Reads with a fixed "now" (2025-06-01).
fn reading(payload: &[u8]) -> ExifReading {
    read_at(&jpeg_with(payload), datetime!(2025-06-01 12:00 UTC))
}

#[test]
fn gps_date_and_orientation_are_read() {
    let raw = jpeg_with(&app1_payload(
        Some((29.8413, -114.3225)),
        Some("2025:05:01 08:00:00"),
        Some(6),
    ));
    let r = read(&raw);
    assert_eq!(r.unreadable, Vec::<String>::new());
    let gps = r.exif.gps.unwrap();
    assert!((gps.lat() - 29.8413).abs() < 1e-5 && (gps.lon() + 114.3225).abs() < 1e-5);
    assert_eq!(r.exif.taken_at, Some(datetime!(2025-05-01 08:00 +08:00)));
    assert_eq!(r.exif.orientation, Some(6));
    assert_eq!(read(&photos::jpeg(8, 8)), ExifReading::default());
}

#[test]
fn the_camera_is_make_and_model_cleaned_and_odd_ones_are_left_out() {
    let camera = |make: &[u8], model: &[u8]| {
        let payload = app1_payload_with_camera(None, None, None, Some((make, model)));
        read(&jpeg_with(&payload)).exif.camera
    };
    assert_eq!(
        camera(b"HUAWEI", b"ELS-AN00").as_deref(),
        Some("HUAWEI ELS-AN00")
    );
    assert_eq!(
        camera(b"Canon", b"Canon EOS R6").as_deref(),
        Some("Canon EOS R6")
    );
    assert_eq!(
        camera(b" Xiaomi\x1b[2J ", b"Redmi\tNote\x0712 ").as_deref(),
        Some("Xiaomi [2J Redmi Note 12")
    );
    assert_eq!(camera(b"", b"  ").as_deref(), None);
    assert_eq!(camera(b"\xff\xfe", b"").as_deref(), None, "not UTF-8");
    assert_eq!(camera(b"Apple", b"\xff").as_deref(), Some("Apple"));
    let long = camera(b"Make", "长".repeat(100).as_bytes()).unwrap();
    assert_eq!(long.chars().count(), 64);
    let plain = read(&jpeg_with(&app1_payload(None, None, Some(1))));
    assert_eq!(plain.exif.camera, None);
}

#[test]
fn absurd_values_are_dropped_with_a_reason_and_the_rest_is_kept() {
    let here = Some((29.8413, 114.3225));
    for (gps, taken, orientation, why) in [
        (
            here,
            Some("2025:05:01 08:00:00"),
            Some(9),
            "Orientation 9 is not 1 to 8",
        ),
        (here, Some("2025:13:01 08:00:00"), Some(1), "is not a date"),
        (here, Some("1970:01:01 08:00:00"), Some(1), "is before 1990"),
        (
            here,
            Some("2099:01:01 08:00:00"),
            Some(1),
            "is in the future",
        ),
        (
            here,
            Some("0000:00:00 00:00:00"),
            Some(1),
            "placeholder for no date",
        ),
        (
            Some((95.0, 10.0)),
            Some("2025:05:01 08:00:00"),
            Some(1),
            "past the pole",
        ),
    ] {
        let r = reading(&app1_payload(gps, taken, orientation));
        let reason = r.reason().unwrap_or_default();
        assert!(reason.contains(why), "{why}: {reason}");
        assert_eq!(r.unreadable.len(), 1, "{:?}", r.unreadable);
        // Exactly the absurd part is gone.
        let e = &r.exif;
        let kept = [
            e.gps.is_some(),
            e.taken_at.is_some(),
            e.orientation.is_some(),
        ];
        assert_eq!(kept.iter().filter(|k| **k).count(), 2, "{why}: {e:?}");
    }
    // A date one hour ahead (a phone's clock) is not the future.
    let r = reading(&app1_payload(None, Some("2025:06:01 21:00:00"), None));
    assert!(
        r.exif.taken_at.is_some() && r.unreadable.is_empty(),
        "{r:?}"
    );
    // A blank DateTimeOriginal is the standard's "unknown": no flag.
    let r = reading(&app1_payload(None, Some("    :  :     :  :  "), None));
    assert_eq!(r, ExifReading::default());
}

#[test]
fn garbage_is_one_reason_and_never_a_panic() {
    for (payload, why) in [
        (&b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude garbage"[..], "claims"),
        (b"Exif\0\0II*\0\xff\xff\xff\x7f", "past the end"),
        (b"Exif\0\0XX", "TIFF header"),
        (b"Exif\0\0", "TIFF header is cut off"),
    ] {
        let r = reading(payload);
        assert_eq!(r.exif, PhotoExif::default());
        assert!(r.reason().unwrap().contains(why), "{why}: {r:?}");
    }
}

#[test]
fn dates_with_a_nul_a_zone_or_a_fraction_are_read() {
    for (text, expected) in [
        ("2025:05:01 08:00:00\0", datetime!(2025-05-01 08:00 +08:00)),
        (
            "2025:05:01 08:00:00+02:00",
            datetime!(2025-05-01 08:00 +02:00),
        ),
        ("2025-05-01T08:00:00Z", datetime!(2025-05-01 08:00 UTC)),
        (
            "2025:05:01 08:00:00.123 ",
            datetime!(2025-05-01 08:00 +08:00),
        ),
    ] {
        let r = reading(&app1_payload(None, Some(text), None));
        assert_eq!(r.exif.taken_at, Some(expected), "{text:?}: {r:?}");
        assert!(r.unreadable.is_empty(), "{text:?}: {r:?}");
    }
}

#[test]
fn two_exif_segments_that_disagree_drop_what_they_disagree_on() {
    let a = app1_payload(Some((29.84, 114.32)), Some("2025:05:01 08:00:00"), Some(1));
    let b = app1_payload(Some((30.84, 114.32)), Some("2025:05:01 08:00:00"), None);
    let raw = with_app1(&jpeg_with(&a), &b);
    let r = read_at(&raw, datetime!(2025-06-01 12:00 UTC));
    assert_eq!(r.exif.gps, None);
    assert!(r.exif.taken_at.is_some());
    assert_eq!(
        r.unreadable,
        ["two EXIF segments disagree on the GPS position"]
    );
    let same = with_app1(&jpeg_with(&a), &a);
    assert!(read(&same).unreadable.is_empty());
}
