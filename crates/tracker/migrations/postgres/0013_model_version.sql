-- civicprobe tracker, PostgreSQL, step 14: which classifier model decided
-- a ticket's category and urgency (issue 17; `m-<hash>`, NULL for tickets
-- from before, or opened by a person). Keep in step with ../sqlite.
ALTER TABLE tickets ADD COLUMN model_version TEXT;
