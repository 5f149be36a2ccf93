-- civicprobe tracker, postgres, step 9: every report of a ticket in full, and
-- re-triage. Keep in step with the other backend (sqlite).

-- Each report attached to a ticket keeps where it was sent from and the
-- evidence ingest read from its photos (EXIF time, GPS, camera; flags with
-- measured value and threshold), so the office sees every courier's pin
-- and evidence, not only the first. merge_json is the router's reason for
-- a merged duplicate (NULL for the opening report). Openers are filled in
-- from their ticket; older merged duplicates stay NULL (never stored).
ALTER TABLE ticket_reporters ADD COLUMN lat DOUBLE PRECISION;
ALTER TABLE ticket_reporters ADD COLUMN lon DOUBLE PRECISION;
ALTER TABLE ticket_reporters ADD COLUMN accuracy_m DOUBLE PRECISION;
ALTER TABLE ticket_reporters ADD COLUMN evidence_json TEXT;
ALTER TABLE ticket_reporters ADD COLUMN merge_json TEXT;
UPDATE ticket_reporters
SET lat = (SELECT t.lat FROM tickets t WHERE t.report_id = ticket_reporters.report_id),
    lon = (SELECT t.lon FROM tickets t WHERE t.report_id = ticket_reporters.report_id),
    accuracy_m = (SELECT t.accuracy_m FROM tickets t WHERE t.report_id = ticket_reporters.report_id)
WHERE report_id IN (SELECT report_id FROM tickets);

-- Every re-triage by a person, as a labelled example for the next
-- classifier: the ticket's text, the category and urgency before and after,
-- and the reason given. The event itself is in ticket_events (kind
-- 'triaged', hash-chained); this row is keyed by its event id.
CREATE TABLE triage_corrections (
    event_id      TEXT PRIMARY KEY NOT NULL,
    ticket_id     TEXT NOT NULL REFERENCES tickets (ticket_id),
    text          TEXT,
    from_category TEXT NOT NULL,
    to_category   TEXT NOT NULL,
    from_urgent   BIGINT NOT NULL,
    to_urgent     BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX triage_corrections_at ON triage_corrections (at);
