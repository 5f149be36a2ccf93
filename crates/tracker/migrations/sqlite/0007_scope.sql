-- civicprobe tracker, sqlite, step 7: scope. Keep in step with the other
-- backend.

-- Each reporter's own text and photos, so that a courier merged onto
-- someone else's ticket is shown their own report, never the opener's.
-- Openers are filled in from their ticket; older merged duplicates stay
-- NULL (their text was never stored).
ALTER TABLE ticket_reporters ADD COLUMN text TEXT;
ALTER TABLE ticket_reporters ADD COLUMN photos_json TEXT;
UPDATE ticket_reporters
SET text = (SELECT t.text FROM tickets t WHERE t.report_id = ticket_reporters.report_id),
    photos_json = (SELECT t.photos_json FROM tickets t WHERE t.report_id = ticket_reporters.report_id)
WHERE report_id IN (SELECT report_id FROM tickets);

-- Proof photos ingest stored for a ticket: a resolve may cite only these.
CREATE TABLE proof_photos (
    ticket_id   TEXT NOT NULL REFERENCES tickets (ticket_id),
    sha256      TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, sha256)
);

-- Report photos a supervisor hid from Open311's public reads (one row per
-- hidden photo; unhiding deletes it) ...
CREATE TABLE hidden_photos (
    report_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    hidden_by TEXT NOT NULL,
    hidden_at INTEGER NOT NULL,
    PRIMARY KEY (report_id, n)
);
-- ... and every hide and unhide, with its actor (append-only).
CREATE TABLE photo_visibility_log (
    change_id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    hidden    INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX photo_visibility_log_report ON photo_visibility_log (report_id, n, at);
