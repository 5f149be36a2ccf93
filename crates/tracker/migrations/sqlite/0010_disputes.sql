-- civicprobe tracker, sqlite, step 10: disputes. Keep in step with the
-- other backend.

-- A `not_our_area` rejection, one row per rejection event (event_id is
-- that event's id). While open (settled_at NULL) the rejected ticket
-- stays on the overdue clock and in the supervisors' queue; a supervisor
-- settles it by rerouting the ticket (outcome 'rerouted') or upholding
-- the rejection ('upheld'), settled_event_id naming that event.
CREATE TABLE disputes (
    event_id         TEXT PRIMARY KEY NOT NULL,
    ticket_id        TEXT NOT NULL REFERENCES tickets (ticket_id),
    office_id        TEXT NOT NULL,               -- the office that had it
    raised_by        TEXT NOT NULL,               -- Principal::actor() of who rejected
    raised_at        INTEGER NOT NULL,
    note             TEXT,                        -- the rejection's note
    settled_at       INTEGER,
    settled_by       TEXT,
    outcome          TEXT CHECK (outcome IN ('rerouted', 'upheld')),
    settled_event_id TEXT,
    settled_note     TEXT,
    CHECK ((settled_at IS NULL) = (outcome IS NULL))
);
-- A rejected ticket can be rejected again only after a reroute, which
-- settles its dispute: at most one open dispute per ticket.
CREATE UNIQUE INDEX disputes_open ON disputes (ticket_id) WHERE settled_at IS NULL;
CREATE INDEX disputes_ticket ON disputes (ticket_id, raised_at);
CREATE INDEX disputes_raised ON disputes (raised_at);
