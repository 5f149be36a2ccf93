//! Every NATS name civicprobe uses. Nothing else spells a subject, stream or
//! consumer name.

use crate::{Category, OfficeId};

/// The stream of accepted reports.
pub const REPORTS_STREAM: &str = "REPORTS";
/// Subjects the `REPORTS` stream holds.
pub const REPORTS_SUBJECTS: &str = "civic.report.>";
/// Where ingest publishes a [`crate::ReportSubmitted`].
pub const REPORT_SUBMITTED: &str = "civic.report.submitted";

/// The stream of ticket events and unrouted reports.
pub const TICKETS_STREAM: &str = "TICKETS";
/// Ticket events: `civic.ticket.<office>.<category>.<event>`.
pub const TICKET_SUBJECTS: &str = "civic.ticket.>";
/// Unrouted reports: `civic.unrouted.<category>`.
pub const UNROUTED_SUBJECTS: &str = "civic.unrouted.>";

/// The JetStream object store bucket ingest keeps photos and thumbnails in
/// when several ingest instances share them (`--photo-store nats`).
pub const PHOTOS_BUCKET: &str = "PHOTOS";

/// The router's durable pull consumer on `REPORTS`.
pub const ROUTER_CONSUMER: &str = "router";
/// The tracker's durable pull consumer on `TICKETS`.
pub const TRACKER_CONSUMER: &str = "tracker";
/// The tracker's durable pull consumer on `TICKETS` that decides which
/// alerts leave the building (webhooks of offices and supervisors).
pub const ALERTS_CONSUMER: &str = "alerts";

/// The header JetStream de-duplicates on.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// How long JetStream remembers a `Nats-Msg-Id` (seconds). Longer than the
/// server default of two minutes so that a courier's retry after a dropped
/// connection is still recognised.
pub const DUPLICATE_WINDOW_SECS: u64 = 24 * 60 * 60;

/// `civic.ticket.<office>.<category>.<event>`; `event` is a past-tense kind
/// such as `opened` or `acknowledged`.
pub fn ticket_subject(office: &OfficeId, category: Category, event: &str) -> String {
    format!("civic.ticket.{office}.{category}.{event}")
}

/// Everything about one office's tickets: `civic.ticket.<office>.>`.
pub fn office_subjects(office: &OfficeId) -> String {
    format!("civic.ticket.{office}.>")
}

/// `civic.unrouted.<category>`.
pub fn unrouted_subject(category: Category) -> String {
    format!("civic.unrouted.{category}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_built_from_safe_tokens() {
        let office = OfficeId::parse("wenquan").unwrap();
        assert_eq!(
            ticket_subject(&office, Category::ElectricalBox, "opened"),
            "civic.ticket.wenquan.electrical_box.opened"
        );
        assert_eq!(office_subjects(&office), "civic.ticket.wenquan.>");
        assert_eq!(unrouted_subject(Category::Other), "civic.unrouted.other");
        assert!(REPORT_SUBMITTED.starts_with(REPORTS_SUBJECTS.trim_end_matches('>')));
    }
}
