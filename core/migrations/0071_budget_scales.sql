-- The discount budget for a plan year, set before its first quote (docs/models.md,
-- "A budget the effect pays for"): the scale every performance-linked discount of the year
-- is multiplied by, so that the projected spend meets the budget; stored with the rulebook
-- version so single and batch quotes agree and each reproduces from its stored inputs.
CREATE TABLE budget_scales (
    product_id       text NOT NULL,
    plan_year        integer NOT NULL CHECK (plan_year BETWEEN 2000 AND 2100),
    rulebook_sha256  text NOT NULL,
    scale_ppm        integer NOT NULL CHECK (scale_ppm BETWEEN 0 AND 1000000),
    budget_fen       bigint NOT NULL CHECK (budget_fen >= 0),
    projected_fen    bigint NOT NULL CHECK (projected_fen >= 0),
    basis            text NOT NULL CHECK (basis IN ('effect', 'startup')),
    detail           jsonb NOT NULL,
    computed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, plan_year)
);
