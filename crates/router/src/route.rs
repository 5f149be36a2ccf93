//! The pure step: a report in, the event to publish out.

use civicprobe_model::{nats, EventId, ReportSubmitted, ReportUnrouted, TicketId, TicketOpened};
use time::OffsetDateTime;

use crate::{classify, Config, Error, Jurisdictions, SlaPolicy};

/// Classifies, locates and sets deadlines; holds no connection.
#[derive(Clone, Debug)]
pub struct Router {
    /// Where each office's area is.
    jurisdictions: Jurisdictions,
    /// How long each step may take.
    policy: SlaPolicy,
}

/// What a report turned into.
#[derive(Clone, Debug, PartialEq)]
pub enum Routed {
    /// An office's area holds the point.
    Ticket(TicketOpened),
    /// No office's area holds the point; a supervisor routes it by hand.
    Unrouted(ReportUnrouted),
}

impl Router {
    /// A router over these offices with this policy.
    pub fn new(jurisdictions: Jurisdictions, policy: SlaPolicy) -> Self {
        Self {
            jurisdictions,
            policy,
        }
    }

    /// Loads the jurisdictions named by `config`, with the default policy.
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        let jurisdictions = Jurisdictions::load(&config.jurisdictions)?;
        Ok(Self::new(jurisdictions, SlaPolicy::default()))
    }

    /// The offices this router knows.
    pub fn jurisdictions(&self) -> &Jurisdictions {
        &self.jurisdictions
    }

    /// The event for `report`. Pure: the same report gives the same ids
    /// (only `opened_at`/`at` follow `now`).
    pub fn route(&self, report: &ReportSubmitted, now: OffsetDateTime) -> Routed {
        let c = classify(report.category_hint, report.text.as_deref());
        let Some(office) = self.jurisdictions.office_for(&report.location) else {
            return Routed::Unrouted(ReportUnrouted {
                event_id: EventId::derived(report.report_id.0, "unrouted"),
                category: c.category,
                urgent: c.urgent,
                at: now,
                report: report.clone(),
            });
        };
        let ticket_id = TicketId::for_report(report.report_id);
        Routed::Ticket(TicketOpened {
            event_id: EventId::derived(ticket_id.0, "opened"),
            ticket_id,
            office_id: office.id.clone(),
            office_name: office.name.clone(),
            category: c.category,
            urgent: c.urgent,
            opened_at: now,
            deadlines: self
                .policy
                .deadlines(c.category, c.urgent, report.received_at),
            confidence: None,
            needs_triage: false,
            report: report.clone(),
        })
    }
}

impl Routed {
    /// The id JetStream de-duplicates on (`Nats-Msg-Id`).
    pub fn event_id(&self) -> EventId {
        match self {
            Routed::Ticket(t) => t.event_id,
            Routed::Unrouted(u) => u.event_id,
        }
    }

    /// The ticket id, when a ticket was opened.
    pub fn ticket_id(&self) -> Option<TicketId> {
        match self {
            Routed::Ticket(t) => Some(t.ticket_id),
            Routed::Unrouted(_) => None,
        }
    }

    /// Where to publish it.
    pub fn subject(&self) -> String {
        match self {
            Routed::Ticket(t) => nats::ticket_subject(&t.office_id, t.category, "opened"),
            Routed::Unrouted(u) => nats::unrouted_subject(u.category),
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        match self {
            Routed::Ticket(t) => serde_json::to_vec(t),
            Routed::Unrouted(u) => serde_json::to_vec(u),
        }
        .map_err(Error::Encode)
    }

    /// The metrics label: `opened` or `unrouted`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Routed::Ticket(_) => "opened",
            Routed::Unrouted(_) => "unrouted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_model::{Category, CourierId, Location, ReportId};
    use time::macros::datetime;

    const FIXTURE: &str = include_str!("../../../fixtures/jurisdictions.geojson");

    fn router() -> Router {
        let j = Jurisdictions::from_geojson(FIXTURE).unwrap();
        Router::new(j, SlaPolicy::default())
    }

    fn report(lat: f64, lon: f64, text: &str) -> ReportSubmitted {
        ReportSubmitted {
            report_id: ReportId::new(),
            courier_id: CourierId::new(),
            location: Location::new(lat, lon).unwrap(),
            accuracy_m: Some(8.0),
            category_hint: None,
            text: Some(text.to_owned()),
            reported_at: None,
            received_at: datetime!(2025-03-01 10:00 +08:00),
            photos: vec![],
            evidence: Default::default(),
        }
    }

    #[test]
    fn a_point_in_an_office_opens_a_ticket_with_derived_ids() {
        let r = report(29.84, 114.32, "配电箱冒烟");
        let now = datetime!(2025-03-01 10:00:01 +08:00);
        let Routed::Ticket(t) = router().route(&r, now) else {
            panic!("expected a ticket");
        };
        assert_eq!(t.office_id.as_str(), "wenquan");
        assert_eq!(t.office_name, "温泉街道");
        assert_eq!((t.category, t.urgent), (Category::ElectricalBox, true));
        assert_eq!(t.ticket_id, TicketId::for_report(r.report_id));
        assert_eq!(t.event_id, EventId::derived(t.ticket_id.0, "opened"));
        assert_eq!(t.opened_at, now);
        assert_eq!(
            t.deadlines.acknowledge_by,
            datetime!(2025-03-01 10:15 +08:00)
        );
        assert_eq!(t.report, r);
        let routed = Routed::Ticket(t);
        assert_eq!(
            routed.subject(),
            "civic.ticket.wenquan.electrical_box.opened"
        );
        assert_eq!(routed.outcome(), "opened");
        assert_eq!(router().route(&r, now), routed, "deterministic");
    }

    #[test]
    fn a_point_outside_every_office_is_unrouted() {
        let r = report(29.84, 114.50, "manhole cover loose");
        let now = datetime!(2025-03-01 10:00:01 +08:00);
        let routed = router().route(&r, now);
        let Routed::Unrouted(u) = &routed else {
            panic!("expected unrouted");
        };
        assert_eq!(u.event_id, EventId::derived(r.report_id.0, "unrouted"));
        assert_eq!((u.category, u.urgent), (Category::Manhole, false));
        assert_eq!(routed.subject(), "civic.unrouted.manhole");
        assert_eq!(routed.ticket_id(), None);
        let json: serde_json::Value = serde_json::from_slice(&routed.to_json().unwrap()).unwrap();
        assert_eq!(json["category"], "manhole");
    }
}
