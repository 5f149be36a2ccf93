//! The open tickets a new report may duplicate, in memory.

use civicprobe_model::EventKind;
use civicprobe_model::{
    Category, Location, MergeReason, OfficeId, PhotoHash, ReportSubmitted, TicketChanged, TicketId,
    TicketMerged, TicketOpened,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;

use super::{informative, DuplicateRules};

/// What the index knows of a ticket (also the body of a claim).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenTicket {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its office (after any reroute).
    pub office_id: OfficeId,
    /// Its category.
    pub category: Category,
    /// Where its first report is.
    pub location: Location,
    /// When its first report was received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// Perceptual hashes of every photo merged into it (numbers in the
    /// claim, as they always were).
    #[serde(with = "civicprobe_model::photo_hash::numbers")]
    pub phashes: Vec<PhotoHash>,
}

impl OpenTicket {
    /// The candidate ticket for a `TicketOpened`.
    pub fn of(opened: &TicketOpened) -> Self {
        Self {
            ticket_id: opened.ticket_id,
            office_id: opened.office_id.clone(),
            category: opened.category,
            location: opened.report.location,
            received_at: opened.report.received_at,
            phashes: phashes(&opened.report),
        }
    }
}

/// The informative perceptual hashes of a report's photos.
pub fn phashes(report: &ReportSubmitted) -> Vec<PhotoHash> {
    report
        .photos
        .iter()
        .filter_map(|p| p.phash.filter(|h| informative(*h)))
        .collect()
}

/// A ticket a report duplicates, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// The ticket.
    pub ticket: OpenTicket,
    /// Why it matches.
    pub reason: MergeReason,
}

/// Side of a grid cell of the spatial index, degrees (about 110 m × 96 m
/// at Xianning's latitude).
const CELL_DEG: f64 = 0.001;
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_195.0;
/// Beyond this many cells per query, scanning every ticket is cheaper.
const MAX_CELLS: i64 = 400;

/// A grid cell: `(floor(lat / CELL_DEG), floor(lon / CELL_DEG))`.
type Cell = (i64, i64);

/// Every ticket seen, and which are open, with a grid index on location.
#[derive(Clone, Debug, Default)]
pub struct OpenTickets {
    /// By id; `bool` = open.
    tickets: HashMap<TicketId, (OpenTicket, bool)>,
    /// Ticket ids by grid cell.
    cells: HashMap<Cell, Vec<TicketId>>,
    /// Tickets with at least one usable photo hash.
    with_photos: Vec<TicketId>,
}

/// The cell of a coordinate pair.
fn cell(lat: f64, lon: f64) -> Cell {
    // Finite by construction (Location), |x| < 360_000: fits an i64.
    (
        (lat / CELL_DEG).floor() as i64,
        (lon / CELL_DEG).floor() as i64,
    )
}

impl OpenTickets {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an opened (or claimed) ticket; a ticket already known keeps
    /// its state.
    pub fn open(&mut self, ticket: OpenTicket) {
        if self.tickets.contains_key(&ticket.ticket_id) {
            return;
        }
        let id = ticket.ticket_id;
        let at = cell(ticket.location.lat(), ticket.location.lon());
        self.cells.entry(at).or_default().push(id);
        if !ticket.phashes.is_empty() {
            self.with_photos.push(id);
        }
        self.tickets.insert(id, (ticket, true));
    }

    /// Applies a `TicketOpened`.
    pub fn opened(&mut self, event: &TicketOpened) {
        self.open(OpenTicket::of(event));
    }

    /// Applies a `TicketMerged`: the ticket gains the report's photo hashes.
    pub fn merged(&mut self, event: &TicketMerged) {
        let added = phashes(&event.report);
        if let Some((t, _)) = self.tickets.get_mut(&event.ticket_id) {
            if t.phashes.is_empty() && !added.is_empty() {
                self.with_photos.push(t.ticket_id);
            }
            t.phashes.extend(added);
        }
    }

    /// Applies a `TicketChanged`: resolved, verified (closed) and rejected tickets stop
    /// matching, reopened ones match again, rerouted ones move office and
    /// re-triaged ones change category (a corrected ticket is matched under
    /// its new category).
    pub fn changed(&mut self, event: &TicketChanged) {
        let Some((t, open)) = self.tickets.get_mut(&event.ticket_id) else {
            return;
        };
        match event.kind {
            EventKind::Resolved | EventKind::Verified | EventKind::Rejected => *open = false,
            EventKind::Reopened => *open = true,
            _ => {}
        }
        t.office_id = event.office_id.clone();
        t.category = event.category;
    }

    /// How many tickets are open.
    pub fn open_count(&self) -> usize {
        self.tickets.values().filter(|(_, open)| *open).count()
    }

    /// The open ticket `report` duplicates, if any: of the open tickets of
    /// the same category received within the time window, the nearest
    /// within the radius, else the one with the closest photo among those
    /// of the report's `office` within [`DuplicateRules::photo_radius_m`]
    /// (the same picture sent from another office's area, or from far away,
    /// is not the same hazard).
    pub fn find(
        &self,
        rules: &DuplicateRules,
        office: &OfficeId,
        category: Category,
        report: &ReportSubmitted,
    ) -> Option<Match> {
        let usable = |t: &&OpenTicket| {
            t.category == category && (t.received_at - report.received_at).abs() <= rules.window
        };
        let mut nearby: Option<(f64, &OpenTicket)> = None;
        for t in self.near(&report.location, rules.radius_m).filter(usable) {
            let d = t.location.distance_m(&report.location);
            if d <= rules.radius_m && better(nearby, d, t) {
                nearby = Some((d, t));
            }
        }
        let hashes = phashes(report);
        let mut photo: Option<(u32, &OpenTicket)> = None;
        if !hashes.is_empty() {
            let same_place = |t: &&OpenTicket| {
                &t.office_id == office
                    && t.location.distance_m(&report.location) <= rules.photo_radius_m
            };
            for t in self
                .open_of(&self.with_photos)
                .filter(usable)
                .filter(same_place)
            {
                let bits = closest_bits(&hashes, &t.phashes);
                if bits <= rules.phash_bits
                    && photo.is_none_or(|(b, p)| (bits, t.ticket_id) < (b, p.ticket_id))
                {
                    photo = Some((bits, t));
                }
            }
        }
        if let Some((distance_m, t)) = nearby {
            return Some(Match {
                ticket: t.clone(),
                reason: MergeReason::Nearby { distance_m },
            });
        }
        photo.map(|(distance_bits, t)| Match {
            ticket: t.clone(),
            reason: MergeReason::SamePhoto { distance_bits },
        })
    }

    /// Open tickets in the grid cells within `radius_m` of `at` (every
    /// open ticket when that would be many cells).
    fn near<'a>(
        &'a self,
        at: &Location,
        radius_m: f64,
    ) -> Box<dyn Iterator<Item = &'a OpenTicket> + 'a> {
        let dlat = radius_m.max(0.0) / M_PER_DEG;
        let dlon = dlat / at.lat().to_radians().cos().max(0.01);
        let (lo, hi) = (
            cell(at.lat() - dlat, at.lon() - dlon),
            cell(at.lat() + dlat, at.lon() + dlon),
        );
        if (hi.0 - lo.0 + 1) * (hi.1 - lo.1 + 1) > MAX_CELLS {
            return Box::new(self.tickets.values().filter(|(_, o)| *o).map(|(t, _)| t));
        }
        Box::new(
            (lo.0..=hi.0)
                .flat_map(move |y| (lo.1..=hi.1).map(move |x| (y, x)))
                .filter_map(|c| self.cells.get(&c))
                .flat_map(|ids| self.open_of(ids)),
        )
    }

    /// The open tickets among `ids`.
    fn open_of<'a>(&'a self, ids: &'a [TicketId]) -> impl Iterator<Item = &'a OpenTicket> + 'a {
        ids.iter()
            .filter_map(|id| self.tickets.get(id))
            .filter(|(_, open)| *open)
            .map(|(t, _)| t)
    }

    /// Forgets tickets received before `before` (they can no longer match).
    pub fn forget_before(&mut self, before: OffsetDateTime) {
        self.tickets.retain(|_, (t, _)| t.received_at >= before);
        let tickets = &self.tickets;
        for ids in self.cells.values_mut() {
            ids.retain(|id| tickets.contains_key(id));
        }
        self.cells.retain(|_, ids| !ids.is_empty());
        self.with_photos.retain(|id| tickets.contains_key(id));
    }
}

/// Whether `(d, t)` beats the current best: nearer, ties to the lower id.
fn better(best: Option<(f64, &OpenTicket)>, d: f64, t: &OpenTicket) -> bool {
    best.is_none_or(|(bd, bt)| d < bd || (d == bd && t.ticket_id < bt.ticket_id))
}

/// The smallest Hamming distance between any two hashes (`u32::MAX` when
/// either side has none).
fn closest_bits(a: &[PhotoHash], b: &[PhotoHash]) -> u32 {
    a.iter()
        .flat_map(|x| b.iter().map(move |y| x.distance(*y)))
        .min()
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
