-- Fingerstick readings of a member over a window, without touching the member's CGM rows
-- (288 a day): scoring reads CGM for the last 14 days only but fingersticks for the whole
-- window. A partial index stays small (fingersticks are a few a day) and CGM inserts never
-- maintain it.
CREATE INDEX glucose_readings_smbg_idx ON glucose_readings (member_id, measured_at)
    WHERE method = 'smbg';
