-- civicprobe tracker, postgres, step 6: people, token lifetimes, sessions.
-- Keep in step with the other backend.
--
-- Office staff and supervisors are persons; a token names its person, so a
-- ticket's history says who acted. Every token has a public id (for `token
-- list|revoke|rotate`), an expiry, and may be revoked. The web pages' cookie
-- holds a session id whose sha256 is a `sessions` row tied to one token.

CREATE TABLE persons (
    person_id  TEXT PRIMARY KEY,   -- uuid
    role       TEXT NOT NULL CHECK (role IN ('office', 'supervisor')),
    office_id  TEXT,                        -- office staff: their office
    name       TEXT NOT NULL,               -- '' for an unnamed person
    actor      TEXT NOT NULL,               -- Principal::actor(), as in ticket_events.actor
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX persons_actor ON persons (actor);

ALTER TABLE tokens ADD COLUMN token_id TEXT;      -- public id: 16 hex
ALTER TABLE tokens ADD COLUMN person_id TEXT;      -- persons.person_id; couriers: NULL
ALTER TABLE tokens ADD COLUMN expires_at BIGINT; -- unix ms
ALTER TABLE tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE tokens ADD COLUMN last_used_at BIGINT;

-- Tokens issued before persons: each gets a public id and an expiry from
-- now (couriers 365 days, others 90); each office or supervisor token
-- becomes a person of its own (an office's unnamed, a supervisor's named).
UPDATE tokens SET token_id = substr(md5(random()::text || token_hash), 1, 16);
UPDATE tokens SET expires_at = (extract(epoch FROM now()) * 1000)::BIGINT
    + (CASE role WHEN 'courier' THEN 365 ELSE 90 END) * 86400000::BIGINT;
UPDATE tokens SET person_id = gen_random_uuid()::text WHERE role <> 'courier';
INSERT INTO persons (person_id, role, office_id, name, actor, created_at)
    SELECT person_id, role,
           CASE role WHEN 'office' THEN subject END,
           CASE role WHEN 'office' THEN '' ELSE name END,
           CASE role WHEN 'office' THEN 'office:' || subject || '/' || person_id
                     ELSE 'supervisor:' || person_id END,
           created_at
    FROM tokens WHERE person_id IS NOT NULL;

CREATE UNIQUE INDEX tokens_token_id ON tokens (token_id);
CREATE INDEX tokens_person ON tokens (person_id);

CREATE TABLE sessions (
    session_hash TEXT PRIMARY KEY, -- hex sha256 of the cookie's session id
    token_id     TEXT NOT NULL,             -- the token signed in with
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_ms      BIGINT NOT NULL,          -- dies this long after last_seen_at
    expires_at   BIGINT NOT NULL           -- and at this time whatever happens
);
CREATE INDEX sessions_token ON sessions (token_id);
