-- A compressed chunk has no partial index (0012): scoring's fingerstick read decompressed
-- each member's whole batch, CGM rows included, in every chunk of the window. Segmenting by
-- (member_id, method) puts a member's fingersticks in batches of their own, which the
-- read finds by the segment index without decompressing any CGM row (measured in
-- docs/timescaledb.md, "Fingersticks on compressed chunks"). Chunks compressed before this
-- keep the old segments until they are recompressed (docs/timescaledb.md).
ALTER TABLE glucose_readings SET (timescaledb.compress_segmentby = 'member_id, method', timescaledb.compress_orderby = 'measured_at, device_id')
