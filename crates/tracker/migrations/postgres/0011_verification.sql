-- civicprobe tracker, postgres, step 11: verification before points (核查).
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
    verification_id TEXT PRIMARY KEY,
    ticket_id       TEXT NOT NULL REFERENCES tickets (ticket_id),
    resolved_at     BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    courier_id      TEXT,
    by_role         TEXT NOT NULL CHECK (by_role IN ('reporter', 'merged', 'courier', 'supervisor')),
    fixed           BIGINT NOT NULL,
    note            TEXT,
    photo_sha256    TEXT,
    lat             DOUBLE PRECISION,
    lon             DOUBLE PRECISION,
    event_id        TEXT NOT NULL,
    at              BIGINT NOT NULL,
    disputed        BIGINT NOT NULL,
    settled_at      BIGINT
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
    taken_at         BIGINT,
    lat              DOUBLE PRECISION,
    lon              DOUBLE PRECISION,
    phash            TEXT,
    uploaded_at      BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, courier_id, sha256)
);

-- The ledger gains 'verification' (a nearby courier's points for a
-- check).
ALTER TABLE points_ledger DROP CONSTRAINT points_ledger_kind_check;
ALTER TABLE points_ledger ADD CONSTRAINT points_ledger_kind_check
    CHECK (kind IN ('award', 'reversal', 'verification'));
