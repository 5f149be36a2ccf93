-- civicprobe tracker, PostgreSQL, step 3: the router's "a person should
-- look" flag (no confident category and no hint). Keep in step with ../sqlite.
ALTER TABLE tickets ADD COLUMN needs_triage BIGINT NOT NULL DEFAULT 0;
