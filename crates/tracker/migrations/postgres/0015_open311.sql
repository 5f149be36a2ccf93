-- civicprobe tracker, postgres, step 15: Open311 (issue 16). Keep in step
-- with the other backend (sqlite).

-- A resident's update posted through Open311's servicerequestupdates
-- (FixMyStreet's extension): one row per client update_id and api_key
-- holder, naming the `resident_note` event it recorded. A retry with the
-- same update_id finds this row and records nothing twice.
CREATE TABLE open311_updates (
    courier_id TEXT NOT NULL,            -- whose api_key posted it
    update_id  TEXT NOT NULL,            -- the client's id for the update
    ticket_id  TEXT NOT NULL REFERENCES tickets (ticket_id),
    event_id   TEXT NOT NULL,            -- the resident_note event
    request_sha256 TEXT NOT NULL,        -- what was posted (a different body under the same id: 409)
    at         BIGINT NOT NULL,
    PRIMARY KEY (courier_id, update_id)
);

-- A report in no office's area that a supervisor closed as not the
-- district's responsibility (Open311 NOT_COUNCILS_RESPONSIBILITY).
ALTER TABLE unrouted ADD COLUMN closed_at BIGINT;
ALTER TABLE unrouted ADD COLUMN closed_by TEXT;
ALTER TABLE unrouted ADD COLUMN closed_note TEXT;
ALTER TABLE unrouted ADD COLUMN close_event_id TEXT;

-- An Open311 request's own fields (attribute[...] and the client's
-- media_url), kept with its report as JSON (NULL for the courier app's).
ALTER TABLE ticket_reporters ADD COLUMN open311_json TEXT;
