-- civicprobe tracker, SQLite, step 16: a position sent in GCJ-02 or BD-09
-- (issue 19), as sent, beside the WGS-84 lat/lon that is stored and routed.
-- NULL for WGS-84 positions (lat/lon are then as sent) and for rows from
-- before. Keep in step with ../postgres.
ALTER TABLE tickets ADD COLUMN sent_lat REAL;
ALTER TABLE tickets ADD COLUMN sent_lon REAL;
ALTER TABLE tickets ADD COLUMN sent_datum TEXT;
ALTER TABLE ticket_reporters ADD COLUMN sent_lat REAL;
ALTER TABLE ticket_reporters ADD COLUMN sent_lon REAL;
ALTER TABLE ticket_reporters ADD COLUMN sent_datum TEXT;
