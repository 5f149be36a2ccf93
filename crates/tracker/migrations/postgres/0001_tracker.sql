-- civicprobe tracker, PostgreSQL. uuids TEXT, times BIGINT unix ms (UTC),
-- flags BIGINT 0/1, JSON TEXT: the types sqlx's Any driver shares with
-- SQLite, so one set of queries serves both. Keep in step with ../sqlite.

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,            -- hex sha256 of the bearer token
    role       TEXT NOT NULL CHECK (role IN ('courier', 'office', 'supervisor')),
    subject    TEXT NOT NULL,               -- courier uuid / office_id / supervisor name
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE offices (
    office_id TEXT PRIMARY KEY,
    name      TEXT NOT NULL
);

CREATE TABLE tickets (
    ticket_id       TEXT PRIMARY KEY,
    report_id       TEXT NOT NULL UNIQUE,
    office_id       TEXT NOT NULL,
    office_name     TEXT NOT NULL,
    category        TEXT NOT NULL,
    urgent          BIGINT NOT NULL,
    state           TEXT NOT NULL,
    courier_id      TEXT NOT NULL,
    lat             DOUBLE PRECISION NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    accuracy_m      DOUBLE PRECISION,
    text            TEXT,
    photos_json     TEXT NOT NULL,
    reported_at     BIGINT,
    received_at     BIGINT NOT NULL,
    opened_at       BIGINT NOT NULL,
    acknowledge_by  BIGINT NOT NULL,
    make_safe_by    BIGINT NOT NULL,
    resolve_by      BIGINT NOT NULL,
    acknowledged_at BIGINT,
    made_safe_at    BIGINT,
    resolved_at     BIGINT,
    closed_at       BIGINT,
    version         BIGINT NOT NULL
);
CREATE INDEX tickets_office_queue ON tickets (office_id, state, acknowledge_by, resolve_by);
CREATE INDEX tickets_courier ON tickets (courier_id, received_at);

-- Append-only: the trigger refuses UPDATE and DELETE.
CREATE TABLE ticket_events (
    event_id  TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (ticket_id),
    seq       BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    reason    TEXT,
    note      TEXT,
    UNIQUE (ticket_id, seq)
);
CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only';
END
$$;
CREATE TRIGGER ticket_events_no_change BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only();

CREATE TABLE unrouted (
    report_id    TEXT PRIMARY KEY,
    category     TEXT NOT NULL,
    urgent       BIGINT NOT NULL,
    lat          DOUBLE PRECISION NOT NULL,
    lon          DOUBLE PRECISION NOT NULL,
    text         TEXT,
    courier_id   TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    payload_json TEXT NOT NULL
);
CREATE INDEX unrouted_received ON unrouted (received_at);
CREATE INDEX unrouted_courier ON unrouted (courier_id);
