//! The pure step: a report in, the event to publish out.

use civicprobe_model::{
    nats, EventId, MergeReason, ReportSubmitted, ReportUnrouted, TicketId, TicketMerged,
    TicketOpened,
};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::{
    classifier::live::LiveClassifier, dedup::OpenTicket, Categories, Classifier, Config,
    DuplicateRules, Error, Jurisdictions, Located, Options, SlaPolicy, DEFAULT_BOUNDARY_M,
};

/// Classifies, locates and sets deadlines; holds no connection.
#[derive(Clone, Debug)]
pub struct Router {
    /// Where each office's area is.
    jurisdictions: Jurisdictions,
    /// How long each step may take.
    policy: SlaPolicy,
    /// The classifier in use (a loaded model file is swapped on change).
    classifier: Arc<LiveClassifier>,
    /// The categories' names.
    categories: Categories,
    /// How far outside every area a point still goes to the nearest office.
    boundary_m: f64,
    /// When a report duplicates an open ticket.
    duplicates: DuplicateRules,
}

/// What a report turned into.
#[derive(Clone, Debug, PartialEq)]
pub enum Routed {
    /// An office's area holds the point.
    Ticket(TicketOpened),
    /// The report duplicates an open ticket.
    Merged(TicketMerged),
    /// No office's area holds the point; a supervisor routes it by hand.
    Unrouted(ReportUnrouted),
}

impl Router {
    /// A router over these offices with this policy, the classifier trained
    /// on the bundled corpus, the bundled category names, a 200 m boundary
    /// and the default duplicate rules.
    pub fn new(jurisdictions: Jurisdictions, policy: SlaPolicy) -> Self {
        Self {
            jurisdictions,
            policy,
            classifier: Arc::new(LiveClassifier::fixed(Classifier::builtin())),
            categories: Categories::builtin(),
            boundary_m: DEFAULT_BOUNDARY_M,
            duplicates: DuplicateRules::default(),
        }
    }

    /// Loads the jurisdictions named by `config`, everything else default.
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        let jurisdictions =
            Jurisdictions::load_in(&config.jurisdictions, config.jurisdictions_datum)?;
        Ok(Self::new(jurisdictions, SlaPolicy::default()))
    }

    /// Loads every file named by `config` and `options` and the model file
    /// (`--model`), or else trains the classifier on the corpus; any
    /// unusable file is refused, naming what is wrong.
    pub fn from_options(config: &Config, options: &Options) -> Result<Self, Error> {
        let jurisdictions =
            Jurisdictions::load_in(&config.jurisdictions, config.jurisdictions_datum)?;
        let policy = crate::sla::load(&options.policy)?;
        let classifier = match &options.model {
            Some(path) => LiveClassifier::load(path)?,
            None => {
                LiveClassifier::fixed(Arc::new(Classifier::from_file(&options.classifier_corpus)?))
            }
        };
        Ok(Self::new(jurisdictions, policy)
            .with_live_classifier(Arc::new(classifier))
            .with_categories(Categories::load(&options.categories)?)
            .with_boundary_m(options.boundary_m)
            .with_duplicates(options.duplicate_rules()))
    }

    /// Uses this classifier, fixed.
    pub fn with_classifier(self, classifier: Arc<Classifier>) -> Self {
        self.with_live_classifier(Arc::new(LiveClassifier::fixed(classifier)))
    }

    /// Uses this classifier, which may be swapped while the router runs.
    pub fn with_live_classifier(mut self, classifier: Arc<LiveClassifier>) -> Self {
        self.classifier = classifier;
        self
    }

    /// Uses these category names.
    pub fn with_categories(mut self, categories: Categories) -> Self {
        self.categories = categories;
        self
    }

    /// Sets the boundary tolerance (metres; 0 turns it off).
    pub fn with_boundary_m(mut self, metres: f64) -> Self {
        self.boundary_m = metres;
        self
    }

    /// Sets the duplicate rules.
    pub fn with_duplicates(mut self, rules: DuplicateRules) -> Self {
        self.duplicates = rules;
        self
    }

    /// The offices this router knows.
    pub fn jurisdictions(&self) -> &Jurisdictions {
        &self.jurisdictions
    }

    /// The classifier in use now.
    pub fn classifier(&self) -> Arc<Classifier> {
        self.classifier.current()
    }

    /// The swappable classifier (for [`LiveClassifier::watch`]).
    pub fn live_classifier(&self) -> &Arc<LiveClassifier> {
        &self.classifier
    }

    /// The categories' names.
    pub fn categories(&self) -> &Categories {
        &self.categories
    }

    /// The deadline policy (the tracker computes deadlines with the same).
    pub fn policy(&self) -> &SlaPolicy {
        &self.policy
    }

    /// The duplicate rules.
    pub fn duplicates(&self) -> &DuplicateRules {
        &self.duplicates
    }

    /// The office for a point, with the boundary tolerance.
    pub fn locate(&self, at: &civicprobe_model::Location) -> Option<Located<'_>> {
        self.jurisdictions.locate(at, self.boundary_m)
    }

    /// The event for `report`, before duplicate detection. Pure: the same
    /// report gives the same ids (only `opened_at`/`at` follow `now`).
    pub fn route(&self, report: &ReportSubmitted, now: OffsetDateTime) -> Routed {
        let model = self.classifier.current();
        let c = model.classify(report.category_hint, report.text.as_deref());
        let Some(located) = self.locate(&report.location) else {
            return Routed::Unrouted(ReportUnrouted {
                event_id: EventId::derived(report.report_id.0, "unrouted"),
                category: c.category,
                urgent: c.urgent,
                at: now,
                report: report.clone(),
            });
        };
        let office = located.office;
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
            confidence: Some(c.confidence),
            needs_triage: c.needs_triage,
            boundary: located.boundary,
            model_version: Some(model.version().to_owned()),
            report: report.clone(),
        })
    }
}

/// The merge event for a report that duplicates `into`; `urgent` is the
/// duplicate's own classification.
pub fn merged(
    report: &ReportSubmitted,
    into: &OpenTicket,
    reason: MergeReason,
    urgent: bool,
    now: OffsetDateTime,
) -> TicketMerged {
    TicketMerged {
        event_id: EventId::derived(report.report_id.0, "merged"),
        ticket_id: into.ticket_id,
        office_id: into.office_id.clone(),
        category: into.category,
        at: now,
        reason,
        urgent,
        report: report.clone(),
    }
}

impl Routed {
    /// The id JetStream de-duplicates on (`Nats-Msg-Id`).
    pub fn event_id(&self) -> EventId {
        match self {
            Routed::Ticket(t) => t.event_id,
            Routed::Merged(m) => m.event_id,
            Routed::Unrouted(u) => u.event_id,
        }
    }

    /// The ticket id, opened or merged into.
    pub fn ticket_id(&self) -> Option<TicketId> {
        match self {
            Routed::Ticket(t) => Some(t.ticket_id),
            Routed::Merged(m) => Some(m.ticket_id),
            Routed::Unrouted(_) => None,
        }
    }

    /// Where to publish it.
    pub fn subject(&self) -> String {
        match self {
            Routed::Ticket(t) => nats::ticket_subject(
                &t.office_id,
                t.category,
                civicprobe_model::EventKind::Opened,
            ),
            Routed::Merged(m) => nats::ticket_subject(
                &m.office_id,
                m.category,
                civicprobe_model::EventKind::Merged,
            ),
            Routed::Unrouted(u) => nats::unrouted_subject(u.category),
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        match self {
            Routed::Ticket(t) => serde_json::to_vec(t),
            Routed::Merged(m) => serde_json::to_vec(m),
            Routed::Unrouted(u) => serde_json::to_vec(u),
        }
        .map_err(Error::Encode)
    }

    /// The metrics label: `opened`, `merged` or `unrouted`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Routed::Ticket(_) => "opened",
            Routed::Merged(_) => "merged",
            Routed::Unrouted(_) => "unrouted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_model::{Category, CourierId, EventKind, Location, OfficeId, ReportId};
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
            position_as_sent: None,
            accuracy_m: Some(8.0),
            category_hint: None,
            text: Some(text.to_owned()),
            reported_at: None,
            received_at: datetime!(2025-03-01 10:00 +08:00),
            photos: vec![],
            evidence: Default::default(),
            open311: None,
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
        assert!(t.confidence.is_some_and(|c| c > 0.5));
        assert!(!t.needs_triage);
        assert!(!t.boundary);
        assert_eq!(
            t.model_version.as_deref(),
            Some(Classifier::builtin().version())
        );
        let routed = Routed::Ticket(t);
        let office = OfficeId::parse("wenquan").unwrap();
        let opened = nats::ticket_subject(&office, Category::ElectricalBox, EventKind::Opened);
        assert_eq!(routed.subject(), opened);
        assert_eq!(routed.outcome(), "opened");
        assert_eq!(router().route(&r, now), routed, "deterministic");
    }

    #[test]
    fn a_point_just_outside_the_district_goes_to_the_nearest_office() {
        // Fushan's south edge (the district's) is at 29.74; 111 m south:
        let r = report(29.739, 114.30, "manhole cover loose");
        let now = datetime!(2025-03-01 10:00:01 +08:00);
        let router = self::router();
        let located = router.locate(&r.location).unwrap();
        assert_eq!(located.office.id.as_str(), "fushan");
        assert!(located.boundary, "{located:?}");
        assert!(
            located.distance_m > 50.0 && located.distance_m < 200.0,
            "{located:?}"
        );
        assert!(matches!(router.route(&r, now), Routed::Ticket(_)));
        let strict = router.with_boundary_m(0.0);
        assert!(matches!(strict.route(&r, now), Routed::Unrouted(_)));
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
        assert_eq!(routed.subject(), nats::unrouted_subject(Category::Manhole));
        assert_eq!(routed.ticket_id(), None);
        let json: serde_json::Value = serde_json::from_slice(&routed.to_json().unwrap()).unwrap();
        assert_eq!(json["category"], "manhole");
    }

    #[test]
    fn a_point_just_outside_goes_to_the_nearest_office_flagged_boundary() {
        // About 111 m south of the district's southern edge.
        let r = report(29.739, 114.30, "井盖没了");
        let now = datetime!(2025-03-01 10:00:01 +08:00);
        let Routed::Ticket(t) = router().route(&r, now) else {
            panic!("expected a ticket");
        };
        assert_eq!(t.office_id.as_str(), "fushan");
        assert!(t.boundary);
    }
}
