-- civicprobe tracker, PostgreSQL, step 2: hash chain, outbox, reporters,
-- escalations, points. Keep in step with ../sqlite.

-- The hash chain over every event row: chain_seq orders the whole table,
-- hash = sha256(previous row's hash || this row's canonical content).
ALTER TABLE ticket_events ADD COLUMN chain_seq BIGINT;
ALTER TABLE ticket_events ADD COLUMN hash TEXT;
ALTER TABLE ticket_events ADD COLUMN office_id TEXT;
ALTER TABLE ticket_events ADD COLUMN from_office TEXT;
ALTER TABLE ticket_events ADD COLUMN proof_photo_sha256 TEXT;
CREATE UNIQUE INDEX ticket_events_chain ON ticket_events (chain_seq);

-- One row: the chain's head. Appending locks it (UPDATE), which serializes
-- appends across connections and tracker instances.
CREATE TABLE event_chain (
    id        BIGINT PRIMARY KEY,
    last_seq  BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO event_chain (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

ALTER TABLE tickets ADD COLUMN reopen_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE unrouted ADD COLUMN routed_ticket_id TEXT;

-- Every report attached to a ticket: the one that opened it and merged
-- duplicates. They share the points and may reopen or confirm.
CREATE TABLE ticket_reporters (
    report_id   TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets (ticket_id),
    courier_id  TEXT NOT NULL,
    photo_reuse BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    joined_at   BIGINT NOT NULL
);
CREATE INDEX ticket_reporters_ticket ON ticket_reporters (ticket_id);
CREATE INDEX ticket_reporters_courier ON ticket_reporters (courier_id, received_at);
INSERT INTO ticket_reporters (report_id, ticket_id, courier_id, photo_reuse, received_at, joined_at)
SELECT report_id, ticket_id, courier_id, 0, received_at, opened_at FROM tickets;

-- Events the tracker originates, written in the event's transaction and
-- published by the outbox task (Nats-Msg-Id = event_id).
CREATE TABLE outbox (
    event_id   TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;

-- One escalation per ticket and breached step, ever.
CREATE TABLE escalations (
    ticket_id TEXT NOT NULL REFERENCES tickets (ticket_id),
    step      TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, step)
);

-- Points: append-only; a reversal is a negative entry.
CREATE TABLE points_ledger (
    entry_id   TEXT PRIMARY KEY,
    courier_id TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    report_id  TEXT NOT NULL,
    points     BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('award', 'reversal')),
    event_id   TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX points_ledger_courier ON points_ledger (courier_id);
CREATE INDEX points_ledger_ticket ON points_ledger (ticket_id);
CREATE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_ledger is append-only';
END
$$;
CREATE TRIGGER points_ledger_no_change BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();

CREATE INDEX tickets_sla ON tickets (state, acknowledge_by);
