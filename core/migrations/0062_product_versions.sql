-- Product versions (普惠款, 优选款, ...): the version a member held in a plan year, and the
-- version a quote priced with every version's premium and benefits beside it. Rows from
-- before versions keep NULL: the rulebook's default version.
ALTER TABLE enrollments
    ADD COLUMN product_version text CHECK (product_version ~ '^[a-z0-9][a-z0-9-]{0,31}$');
ALTER TABLE quotes
    ADD COLUMN version_id text,
    ADD COLUMN versions json;

-- The smoothing fund closed for a plan year before its first quote: the balance carried
-- and the charge (bp of base, > 0) or return (< 0) every quote of the year applies, so
-- single and batch quotes agree and each reproduces from its stored inputs.
CREATE TABLE fund_closings (
    product_id        text NOT NULL,
    plan_year         integer NOT NULL CHECK (plan_year BETWEEN 2000 AND 2100),
    rulebook_sha256   text NOT NULL,
    balance_fen       bigint NOT NULL,
    capital_fen       bigint NOT NULL,
    base_total_fen    bigint NOT NULL CHECK (base_total_fen >= 0),
    adjust_bp         integer NOT NULL,
    spread_years      integer NOT NULL CHECK (spread_years BETWEEN 1 AND 10),
    closed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, plan_year)
);
