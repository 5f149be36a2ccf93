-- civicprobe tracker, sqlite, step 12: rewards, redemptions, fraud
-- reversals (issue 13). Keep in step with the other backend.

-- The ledger takes three more kinds: `verification` (a courier who
-- verified a fix, step 11), `redemption` (points spent on a reward: no
-- ticket, no report) and `fraud_reversal` (a supervisor taking back a
-- report's points). SQLite cannot alter a CHECK, so the table is rebuilt
-- with every row kept; the append-only triggers and indexes come back.
CREATE TABLE points_ledger_v12 (
    entry_id   TEXT PRIMARY KEY NOT NULL,
    courier_id TEXT NOT NULL,
    ticket_id  TEXT,                              -- NULL for a redemption
    report_id  TEXT,                              -- NULL for a redemption
    points     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN
        ('award', 'reversal', 'verification', 'redemption', 'fraud_reversal')),
    event_id   TEXT NOT NULL,
    at         INTEGER NOT NULL
);
INSERT INTO points_ledger_v12 (entry_id, courier_id, ticket_id, report_id, points, kind, event_id, at)
    SELECT entry_id, courier_id, ticket_id, report_id, points, kind, event_id, at FROM points_ledger;
DROP TABLE points_ledger;
ALTER TABLE points_ledger_v12 RENAME TO points_ledger;
CREATE INDEX points_ledger_courier ON points_ledger (courier_id);
CREATE INDEX points_ledger_ticket ON points_ledger (ticket_id);
CREATE INDEX points_ledger_report ON points_ledger (report_id);
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger
BEGIN
    SELECT RAISE(ABORT, 'points_ledger is append-only');
END;
CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger
BEGIN
    SELECT RAISE(ABORT, 'points_ledger is append-only');
END;

-- The catalogue. A retired reward stays (redemptions name it).
CREATE TABLE rewards (
    reward_id  TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    cost       INTEGER NOT NULL CHECK (cost BETWEEN 1 AND 100000),
    stock      INTEGER NOT NULL CHECK (stock BETWEEN 0 AND 1000000),
    retired_at INTEGER,
    created_by TEXT NOT NULL,                     -- Principal::actor() or 'cli'
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX rewards_created ON rewards (created_at);

-- One row per courier who ever spent or lost points: every change that
-- takes points away updates this row first, which serializes them per
-- courier (PostgreSQL's row lock, SQLite's write lock), so the balance
-- read after it is the one the change may spend.
CREATE TABLE courier_wallets (
    courier_id TEXT PRIMARY KEY NOT NULL,
    changes    INTEGER NOT NULL,                  -- locked changes so far
    updated_at INTEGER NOT NULL
);

-- A redemption: its ledger entry (entry_id) and what the courier shows
-- at the pickup. reward_name and cost are as they were then.
CREATE TABLE redemptions (
    redemption_id   TEXT PRIMARY KEY NOT NULL,
    courier_id      TEXT NOT NULL,
    reward_id       TEXT NOT NULL REFERENCES rewards (reward_id),
    reward_name     TEXT NOT NULL,
    cost            INTEGER NOT NULL,
    pickup_code     TEXT NOT NULL,
    entry_id        TEXT NOT NULL,
    idempotency_key TEXT,
    at              INTEGER NOT NULL,
    collected_at    INTEGER,
    collected_by    TEXT
);
CREATE UNIQUE INDEX redemptions_pickup_code ON redemptions (pickup_code);
CREATE UNIQUE INDEX redemptions_idempotency ON redemptions (courier_id, idempotency_key);
CREATE INDEX redemptions_courier ON redemptions (courier_id, at);
CREATE INDEX redemptions_at ON redemptions (at);

-- A report's points taken back as fraud: who, why, and how much could
-- not be recovered because it was spent. One per report.
CREATE TABLE fraud_reversals (
    report_id   TEXT PRIMARY KEY NOT NULL,
    courier_id  TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    reversed    INTEGER NOT NULL,
    unrecovered INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          INTEGER NOT NULL
);
