-- civicprobe tracker, PostgreSQL, step 17: the terms a ticket's figures are judged by
-- (issue 15): category, urgency and the three deadlines, as a JSON object,
-- on each event that sets them (opened, triaged, routed from unrouted).
-- Hashed into the chain with the row, so `audit verify` names a tickets
-- row whose deadlines, category or urgency were edited. NULL on every
-- other event and on rows from before. Keep in step with ../sqlite.
ALTER TABLE ticket_events ADD COLUMN terms TEXT;
