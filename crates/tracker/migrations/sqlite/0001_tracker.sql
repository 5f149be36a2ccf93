-- civicprobe tracker, SQLite. uuids TEXT, times INTEGER unix ms (UTC),
-- flags INTEGER 0/1, JSON TEXT. Keep in step with ../postgres.

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,   -- hex sha256 of the bearer token
    role       TEXT NOT NULL CHECK (role IN ('courier', 'office', 'supervisor')),
    subject    TEXT NOT NULL,               -- courier uuid / office_id / supervisor name
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE offices (
    office_id TEXT PRIMARY KEY NOT NULL,
    name      TEXT NOT NULL
);

CREATE TABLE tickets (
    ticket_id       TEXT PRIMARY KEY NOT NULL,
    report_id       TEXT NOT NULL UNIQUE,
    office_id       TEXT NOT NULL,
    office_name     TEXT NOT NULL,
    category        TEXT NOT NULL,
    urgent          INTEGER NOT NULL,
    state           TEXT NOT NULL,
    courier_id      TEXT NOT NULL,
    lat             REAL NOT NULL,
    lon             REAL NOT NULL,
    accuracy_m      REAL,
    text            TEXT,
    photos_json     TEXT NOT NULL,
    reported_at     INTEGER,
    received_at     INTEGER NOT NULL,
    opened_at       INTEGER NOT NULL,
    acknowledge_by  INTEGER NOT NULL,
    make_safe_by    INTEGER NOT NULL,
    resolve_by      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    made_safe_at    INTEGER,
    resolved_at     INTEGER,
    closed_at       INTEGER,
    version         INTEGER NOT NULL
);
CREATE INDEX tickets_office_queue ON tickets (office_id, state, acknowledge_by, resolve_by);
CREATE INDEX tickets_courier ON tickets (courier_id, received_at);

-- Append-only: the triggers refuse UPDATE and DELETE.
CREATE TABLE ticket_events (
    event_id  TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (ticket_id),
    seq       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    at        INTEGER NOT NULL,
    reason    TEXT,
    note      TEXT,
    UNIQUE (ticket_id, seq)
);
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
BEGIN
    SELECT RAISE(ABORT, 'ticket_events is append-only');
END;
CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
BEGIN
    SELECT RAISE(ABORT, 'ticket_events is append-only');
END;

CREATE TABLE unrouted (
    report_id    TEXT PRIMARY KEY NOT NULL,
    category     TEXT NOT NULL,
    urgent       INTEGER NOT NULL,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    text         TEXT,
    courier_id   TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    payload_json TEXT NOT NULL
);
CREATE INDEX unrouted_received ON unrouted (received_at);
CREATE INDEX unrouted_courier ON unrouted (courier_id);
