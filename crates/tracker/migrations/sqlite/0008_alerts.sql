-- civicprobe tracker, sqlite, step 8: alerts that leave the building. Keep
-- in step with the other backend.

-- Where an office's or the supervisors' alerts go: a group robot's or a
-- receiver's webhook. The secret is kept as given (it signs each request)
-- and never shown; the URL may hold a key too (WeCom's `key=`,
-- DingTalk's `access_token=`), so listings mask its query.
CREATE TABLE alert_channels (
    channel_id TEXT PRIMARY KEY NOT NULL,
    audience   TEXT NOT NULL CHECK (audience IN ('office', 'supervisors')),
    office_id  TEXT,                 -- set for audience 'office'
    format     TEXT NOT NULL CHECK (format IN ('wecom', 'dingtalk', 'feishu', 'json')),
    url        TEXT NOT NULL,
    secret     TEXT,
    label      TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX alert_channels_office ON alert_channels (audience, office_id);

-- The delivery outbox: one row per (event, channel), written in the
-- transaction that decided it; the sender claims due rows with a lease.
-- state: pending (attempts 0: new; more: failing), delivered, failed.
CREATE TABLE alert_deliveries (
    delivery_id     TEXT PRIMARY KEY NOT NULL,
    event_id        TEXT NOT NULL,
    channel_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    ticket_id       TEXT,
    office_id       TEXT,
    payload         TEXT NOT NULL,   -- the alert, JSON (the json format's body)
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    lease_owner     TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (event_id, channel_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at);
CREATE INDEX alert_deliveries_created ON alert_deliveries (created_at);

-- One row per channel and local day once that day's digest was decided
-- (sent or, with nothing overdue, skipped): exactly once per day across
-- instances and restarts.
CREATE TABLE alert_digests (
    channel_id TEXT NOT NULL,
    day        TEXT NOT NULL,        -- local date, YYYY-MM-DD
    tickets    INTEGER NOT NULL,          -- overdue tickets in it (0: none sent)
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, day)
);
