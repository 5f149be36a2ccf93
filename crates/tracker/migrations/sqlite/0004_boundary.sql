-- civicprobe tracker, SQLite, step 4: the router's boundary flag (the
-- point lay just outside every area; the office is the nearest one).
-- Keep in step with ../postgres.
ALTER TABLE tickets ADD COLUMN boundary INTEGER NOT NULL DEFAULT 0;
