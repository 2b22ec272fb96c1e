-- The randomised holdout (docs/models.md, "Randomised holdout"): for a product and plan
-- year, a share of the book is drawn into a control arm that keeps every clinic service and
-- the version's price without performance-linked discounts, so the incentive's effect can
-- be measured against it. The draw's key is random and stored with it (an auditor with
-- access can re-derive every arm); each member's arm is stored once and never re-drawn.
CREATE TABLE holdout_draws (
    product_id       text NOT NULL,
    plan_year        integer NOT NULL CHECK (plan_year BETWEEN 2000 AND 2100),
    share_bp         integer NOT NULL CHECK (share_bp BETWEEN 0 AND 5000),
    draw_key         bytea NOT NULL CHECK (length(draw_key) = 32),
    rulebook_sha256  text NOT NULL,
    members          integer NOT NULL,
    drawn_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, plan_year)
);

CREATE TABLE holdout_assignments (
    product_id  text NOT NULL,
    plan_year   integer NOT NULL,
    member_id   text NOT NULL REFERENCES members (member_id),
    arm         text NOT NULL CHECK (arm IN ('control', 'incentive')),
    PRIMARY KEY (product_id, plan_year, member_id),
    FOREIGN KEY (product_id, plan_year) REFERENCES holdout_draws (product_id, plan_year)
);
CREATE INDEX holdout_assignments_member_idx ON holdout_assignments (member_id);
