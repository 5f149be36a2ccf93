use super::*;
use civicprobe_model::{CourierId, PhotoRef, ReportId, TicketState};
use time::{macros::datetime, Duration};

fn report(lat: f64, lon: f64, hours: i64, phash: Option<&str>) -> ReportSubmitted {
    ReportSubmitted {
        report_id: ReportId::new(),
        courier_id: CourierId::new(),
        location: Location::new(lat, lon).unwrap(),
        position_as_sent: None,
        accuracy_m: None,
        category_hint: None,
        text: None,
        reported_at: None,
        received_at: datetime!(2025-03-01 10:00 UTC) + Duration::hours(hours),
        photos: phash
            .map(|h| PhotoRef {
                sha256: civicprobe_model::Sha256::from([0; 32]),
                media_type: "image/jpeg".into(),
                width: 1,
                height: 1,
                bytes: 1,
                phash: Some(h.parse().unwrap()),
                thumbnail_sha256: None,
            })
            .into_iter()
            .collect(),
        evidence: Default::default(),
        open311: None,
    }
}

fn ticket(r: &ReportSubmitted, category: Category) -> OpenTicket {
    OpenTicket {
        ticket_id: TicketId::for_report(r.report_id),
        office_id: wenquan(),
        category,
        location: r.location,
        received_at: r.received_at,
        phashes: phashes(r),
    }
}

fn wenquan() -> OfficeId {
    OfficeId::parse("wenquan").unwrap()
}

/// About 1 m of latitude in degrees.
const M: f64 = 1.0 / 111_195.0;

#[test]
fn same_category_within_radius_and_window_matches_the_nearest() {
    let rules = DuplicateRules::default();
    let mut index = OpenTickets::new();
    let first = report(29.84, 114.32, 0, None);
    let second = report(29.84 + 20.0 * M, 114.32, 0, None);
    index.open(ticket(&first, Category::Manhole));
    index.open(ticket(&second, Category::Manhole));
    let r = report(29.84 + 25.0 * M, 114.32, 71, None);
    let m = index
        .find(&rules, &wenquan(), Category::Manhole, &r)
        .unwrap();
    assert_eq!(m.ticket.ticket_id, TicketId::for_report(second.report_id));
    let MergeReason::Nearby { distance_m } = m.reason else {
        panic!("{m:?}")
    };
    assert!((distance_m - 5.0).abs() < 0.1, "{distance_m}");
    // 31 m from both, another category, or too late: no match.
    assert!(index
        .find(
            &rules,
            &wenquan(),
            Category::Manhole,
            &report(29.84 + 51.0 * M, 114.32, 0, None)
        )
        .is_none());
    assert!(index
        .find(&rules, &wenquan(), Category::Elevator, &r)
        .is_none());
    assert!(index
        .find(
            &rules,
            &wenquan(),
            Category::Manhole,
            &report(29.84, 114.32, 73, None)
        )
        .is_none());
    assert_eq!(index.open_count(), 2);
}

#[test]
fn a_close_perceptual_hash_matches_beyond_the_radius_within_the_window() {
    let rules = DuplicateRules::default();
    let mut index = OpenTickets::new();
    let first = report(29.84, 114.32, 0, Some("0000000000ffff00"));
    index.open(ticket(&first, Category::Manhole));
    let far = report(29.84 + 900.0 * M, 114.32, 1, Some("0000000000fff000"));
    let m = index
        .find(&rules, &wenquan(), Category::Manhole, &far)
        .unwrap();
    assert_eq!(m.reason, MergeReason::SamePhoto { distance_bits: 4 });
    assert!(
        index
            .find(&rules, &wenquan(), Category::Elevator, &far)
            .is_none(),
        "same category only"
    );
    let other = report(29.84 + 900.0 * M, 114.32, 1, Some("ffffffff00000000"));
    assert!(index
        .find(&rules, &wenquan(), Category::Manhole, &other)
        .is_none());
    // A near-uniform picture's hash says nothing: never a match.
    let blank = report(29.84, 114.32, 0, Some("4900000000000000"));
    index.open(ticket(&blank, Category::Other));
    let blank_again = report(29.84 + 900.0 * M, 114.32, 1, Some("4900000000000000"));
    assert!(index
        .find(&rules, &wenquan(), Category::Other, &blank_again)
        .is_none());
}

#[test]
fn closed_tickets_stop_matching_and_reopened_ones_match_again() {
    let rules = DuplicateRules::default();
    let mut index = OpenTickets::new();
    let first = report(29.84, 114.32, 0, None);
    let t = ticket(&first, Category::Manhole);
    index.open(t.clone());
    let change = |kind: &str| TicketChanged {
        event_id: civicprobe_model::EventId::derived(t.ticket_id.0, kind),
        ticket_id: t.ticket_id,
        office_id: OfficeId::parse("fushan").unwrap(),
        category: Category::Manhole,
        kind: kind.parse().unwrap(),
        state: TicketState::Resolved,
        actor: "office:wenquan".into(),
        at: first.received_at,
        reason: None,
        note: None,
        from_office: None,
        urgent: false,
        from_category: None,
        deadlines: None,
    };
    index.changed(&change("resolved"));
    assert!(index
        .find(&rules, &wenquan(), Category::Manhole, &first)
        .is_none());
    index.open(t.clone());
    assert!(
        index
            .find(&rules, &wenquan(), Category::Manhole, &first)
            .is_none(),
        "a replayed claim does not reopen"
    );
    index.changed(&change("reopened"));
    let m = index
        .find(&rules, &wenquan(), Category::Manhole, &first)
        .unwrap();
    assert_eq!(
        m.ticket.office_id.as_str(),
        "fushan",
        "rerouted along the way"
    );
    index.forget_before(first.received_at + Duration::hours(1));
    assert_eq!(index.open_count(), 0);
}

#[test]
fn the_grid_finds_tickets_across_cell_edges_and_large_radii_scan_all() {
    let mut index = OpenTickets::new();
    // Just south-west of a cell corner; the report just north-east of it.
    let first = report(29.840_999_9, 114.320_999_9, 0, None);
    index.open(ticket(&first, Category::Manhole));
    let r = report(29.841_000_1 + 10.0 * M, 114.321_000_1, 0, None);
    let rules = DuplicateRules::default();
    assert!(index
        .find(&rules, &wenquan(), Category::Manhole, &r)
        .is_some());
    let far = report(29.90, 114.40, 0, None);
    assert!(index
        .find(&rules, &wenquan(), Category::Manhole, &far)
        .is_none());
    let wide = DuplicateRules {
        radius_m: 20_000.0,
        ..rules
    };
    assert!(index
        .find(&wide, &wenquan(), Category::Manhole, &far)
        .is_some());
}

#[test]
fn the_same_photo_merges_only_in_the_same_office_within_the_photo_radius() {
    let rules = DuplicateRules::default();
    let mut index = OpenTickets::new();
    let first = report(29.84, 114.32, 0, Some("0000000000ffff00"));
    index.open(ticket(&first, Category::Manhole));
    let near = report(29.84 + 300.0 * M, 114.32, 1, Some("0000000000ffff00"));
    let m = index
        .find(&rules, &wenquan(), Category::Manhole, &near)
        .unwrap();
    assert_eq!(m.reason, MergeReason::SamePhoto { distance_bits: 0 });
    let fushan = OfficeId::parse("fushan").unwrap();
    assert!(
        index
            .find(&rules, &fushan, Category::Manhole, &near)
            .is_none(),
        "another office's report never joins by photo"
    );
    let far = report(29.84 + 6000.0 * M, 114.32, 1, Some("0000000000ffff00"));
    assert!(
        index
            .find(&rules, &wenquan(), Category::Manhole, &far)
            .is_none(),
        "6 km away, even in the same office"
    );
    let wide = DuplicateRules {
        photo_radius_m: 10_000.0,
        ..rules
    };
    assert!(index
        .find(&wide, &wenquan(), Category::Manhole, &far)
        .is_some());
}

#[test]
fn a_re_triaged_ticket_is_matched_under_its_new_category() {
    let rules = DuplicateRules::default();
    let mut index = OpenTickets::new();
    let first = report(29.84, 114.32, 0, None);
    let t = ticket(&first, Category::Manhole);
    index.open(t.clone());
    let r = report(29.84 + 5.0 * M, 114.32, 1, None);
    assert!(index
        .find(&rules, &wenquan(), Category::Elevator, &r)
        .is_none());
    index.changed(&TicketChanged {
        event_id: civicprobe_model::EventId::new(),
        ticket_id: t.ticket_id,
        office_id: wenquan(),
        category: Category::Elevator,
        urgent: true,
        kind: civicprobe_model::EventKind::Triaged,
        state: TicketState::Open,
        actor: "office:wenquan".into(),
        at: first.received_at,
        reason: Some("wrong category".into()),
        note: None,
        from_office: None,
        from_category: Some(Category::Manhole),
        deadlines: None,
    });
    let m = index
        .find(&rules, &wenquan(), Category::Elevator, &r)
        .unwrap();
    assert_eq!(m.ticket.ticket_id, t.ticket_id);
    assert!(index
        .find(&rules, &wenquan(), Category::Manhole, &r)
        .is_none());
}
