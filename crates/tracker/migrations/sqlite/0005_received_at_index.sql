-- civicprobe tracker, sqlite, step 5: Open311 lists requests by received_at
-- window (GET requests, default the last 90 days). Keep in step with the
-- other backend.
CREATE INDEX tickets_received_at ON tickets (received_at);
