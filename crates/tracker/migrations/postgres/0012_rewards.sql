-- civicprobe tracker, postgres, step 12: rewards, redemptions, fraud
-- reversals (issue 13). Keep in step with the other backend.

-- The ledger takes three more kinds: `verification` (a courier who
-- verified a fix, step 11), `redemption` (points spent on a reward: no
-- ticket, no report) and `fraud_reversal` (a supervisor taking back a
-- report's points). No row is changed; the append-only trigger stays.
ALTER TABLE points_ledger DROP CONSTRAINT IF EXISTS points_ledger_kind_check;
ALTER TABLE points_ledger ADD CONSTRAINT points_ledger_kind_check CHECK (kind IN
    ('award', 'reversal', 'verification', 'redemption', 'fraud_reversal'));
ALTER TABLE points_ledger ALTER COLUMN ticket_id DROP NOT NULL;
ALTER TABLE points_ledger ALTER COLUMN report_id DROP NOT NULL;
CREATE INDEX points_ledger_report ON points_ledger (report_id);

-- The catalogue. A retired reward stays (redemptions name it).
CREATE TABLE rewards (
    reward_id  TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    cost       BIGINT NOT NULL CHECK (cost BETWEEN 1 AND 100000),
    stock      BIGINT NOT NULL CHECK (stock BETWEEN 0 AND 1000000),
    retired_at BIGINT,
    created_by TEXT NOT NULL,                     -- Principal::actor() or 'cli'
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rewards_created ON rewards (created_at);

-- One row per courier who ever spent or lost points: every change that
-- takes points away updates this row first, which serializes them per
-- courier (PostgreSQL's row lock, SQLite's write lock), so the balance
-- read after it is the one the change may spend.
CREATE TABLE courier_wallets (
    courier_id TEXT PRIMARY KEY,
    changes    BIGINT NOT NULL,                   -- locked changes so far
    updated_at BIGINT NOT NULL
);

-- A redemption: its ledger entry (entry_id) and what the courier shows
-- at the pickup. reward_name and cost are as they were then.
CREATE TABLE redemptions (
    redemption_id   TEXT PRIMARY KEY,
    courier_id      TEXT NOT NULL,
    reward_id       TEXT NOT NULL REFERENCES rewards (reward_id),
    reward_name     TEXT NOT NULL,
    cost            BIGINT NOT NULL,
    pickup_code     TEXT NOT NULL,
    entry_id        TEXT NOT NULL,
    idempotency_key TEXT,
    at              BIGINT NOT NULL,
    collected_at    BIGINT,
    collected_by    TEXT
);
CREATE UNIQUE INDEX redemptions_pickup_code ON redemptions (pickup_code);
CREATE UNIQUE INDEX redemptions_idempotency ON redemptions (courier_id, idempotency_key);
CREATE INDEX redemptions_courier ON redemptions (courier_id, at);
CREATE INDEX redemptions_at ON redemptions (at);

-- A report's points taken back as fraud: who, why, and how much could
-- not be recovered because it was spent. One per report.
CREATE TABLE fraud_reversals (
    report_id   TEXT PRIMARY KEY,
    courier_id  TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    reversed    BIGINT NOT NULL,
    unrecovered BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
