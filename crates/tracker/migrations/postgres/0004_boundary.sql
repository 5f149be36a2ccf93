-- civicprobe tracker, PostgreSQL, step 4: the router's boundary flag (the
-- point lay just outside every area; the office is the nearest one).
-- Keep in step with ../sqlite.
ALTER TABLE tickets ADD COLUMN boundary BIGINT NOT NULL DEFAULT 0;
