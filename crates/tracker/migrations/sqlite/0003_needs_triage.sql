-- civicprobe tracker, SQLite, step 3: the router's "a person should look"
-- flag (no confident category and no hint). Keep in step with ../postgres.
ALTER TABLE tickets ADD COLUMN needs_triage INTEGER NOT NULL DEFAULT 0;
