-- Quotes are written once and read whole (never queried inside the documents), so their
-- documents are stored as json text rather than jsonb: a million-quote batch skips the
-- jsonb conversion on the server. Age and conditions get columns for the portfolio report.
ALTER TABLE quotes
    ALTER COLUMN components TYPE json USING components::json,
    ALTER COLUMN smoothing TYPE json USING smoothing::json,
    ALTER COLUMN inputs TYPE json USING inputs::json,
    ADD COLUMN age smallint,
    ADD COLUMN conditions text[];
