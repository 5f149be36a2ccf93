-- civicprobe tracker, sqlite, step 11: verification before points (核查).
-- Keep in step with the other backend.

-- Who verified a closed ticket: 'reporter', 'courier' (a nearby courier),
-- 'supervisor' or 'auto' (no dispute for N days). NULL for tickets closed
-- before this step and for tickets not verified yet.
ALTER TABLE tickets ADD COLUMN verified_by TEXT;

-- One verification of one resolution of a ticket (resolved_at names the
-- resolution: a reopened ticket is resolved again and checked again).
-- by_role: 'reporter' (the courier whose report opened it), 'merged' (a
-- courier whose report was merged onto it), 'courier' (a nearby courier),
-- 'supervisor'. disputed = 1 for a not-fixed from a merged reporter or a
-- nearby courier; it holds off auto-verification until settled_at.
CREATE TABLE verifications (
    verification_id TEXT PRIMARY KEY NOT NULL,
    ticket_id       TEXT NOT NULL REFERENCES tickets (ticket_id),
    resolved_at     INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    courier_id      TEXT,
    by_role         TEXT NOT NULL CHECK (by_role IN ('reporter', 'merged', 'courier', 'supervisor')),
    fixed           INTEGER NOT NULL,
    note            TEXT,
    photo_sha256    TEXT,
    lat             REAL,
    lon             REAL,
    event_id        TEXT NOT NULL,
    at              INTEGER NOT NULL,
    disputed        INTEGER NOT NULL,
    settled_at      INTEGER
);
-- A courier checks one resolution once.
CREATE UNIQUE INDEX verifications_once ON verifications (ticket_id, resolved_at, courier_id);
CREATE INDEX verifications_disputed ON verifications (ticket_id) WHERE disputed = 1 AND settled_at IS NULL;
CREATE INDEX verifications_courier ON verifications (courier_id);

-- Photos a courier took at a resolved ticket to verify it, with the
-- evidence ingest read before stripping the metadata: EXIF time and GPS,
-- and the 64-bit perceptual hash (16 hex digits).
CREATE TABLE verification_photos (
    ticket_id        TEXT NOT NULL,
    courier_id       TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    thumbnail_sha256 TEXT,
    taken_at         INTEGER,
    lat              REAL,
    lon              REAL,
    phash            TEXT,
    uploaded_at      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, courier_id, sha256)
);

-- The ledger gains 'verification' (a nearby courier's points for a
-- check). SQLite cannot alter a CHECK: the table is rebuilt, rows kept.
CREATE TABLE points_ledger_v11 (
    entry_id   TEXT PRIMARY KEY NOT NULL,
    courier_id TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    report_id  TEXT NOT NULL,
    points     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('award', 'reversal', 'verification')),
    event_id   TEXT NOT NULL,
    at         INTEGER NOT NULL
);
INSERT INTO points_ledger_v11 SELECT entry_id, courier_id, ticket_id, report_id, points, kind, event_id, at FROM points_ledger;
DROP TABLE points_ledger;
ALTER TABLE points_ledger_v11 RENAME TO points_ledger;
CREATE INDEX points_ledger_courier ON points_ledger (courier_id);
CREATE INDEX points_ledger_ticket ON points_ledger (ticket_id);
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger
BEGIN
    SELECT RAISE(ABORT, 'points_ledger is append-only');
END;
CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger
BEGIN
    SELECT RAISE(ABORT, 'points_ledger is append-only');
END;
