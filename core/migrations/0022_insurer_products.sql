-- Which insurer runs which city product (several products side by side). An
-- insurer principal (role 'insurer', tenant = insurer id) acts only on its own products and
-- sees only members enrolled in one of them; admins assign products.
CREATE TABLE insurer_products (
    product_id  text PRIMARY KEY,
    insurer_id  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX insurer_products_insurer_idx ON insurer_products (insurer_id);
CREATE INDEX enrollments_member_product_idx ON enrollments (member_id, product_id);
