"""What the effect report reads: each drawn member-year of a plan year with its arm, cohort,
exposure, gross claims and the deductible its quote set."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn

# One row per member drawn into the plan year's holdout and enrolled in it: the exposure
# is the part of the year from the enrollment date (an enrollment dated before the year
# covers all of it), claims are admissions in the year (gross yuan, with their ICD-10
# codes), the version and deductible those of the member's latest quote for the year,
# and "engaged" whether any score window of the year was sufficient (a composite).
_MEMBER_YEARS = """
SELECT a.member_id, a.arm, m.conditions,
       date_part('year', age(make_date(%(y)s, 1, 1), m.birth_date))::int AS age,
       greatest(0, least(1, (make_date(%(y)s + 1, 1, 1) - greatest(e.enrolled_on,
           make_date(%(y)s, 1, 1)))::float8 / (make_date(%(y)s + 1, 1, 1)
           - make_date(%(y)s, 1, 1)))) AS exposure,
       coalesce((SELECT array_agg(h.amount_yuan::float8 ORDER BY h.admitted_on)
                 FROM hospitalisations h WHERE h.member_id = a.member_id
                 AND h.admitted_on >= make_date(%(y)s, 1, 1)
                 AND h.admitted_on < make_date(%(y)s + 1, 1, 1)), '{}') AS claims_yuan,
       coalesce((SELECT array_agg(coalesce(h.diagnosis, '') ORDER BY h.admitted_on)
                 FROM hospitalisations h WHERE h.member_id = a.member_id
                 AND h.admitted_on >= make_date(%(y)s, 1, 1)
                 AND h.admitted_on < make_date(%(y)s + 1, 1, 1)), '{}') AS diagnoses,
       q.version_id, q.versions::text AS versions,
       EXISTS (SELECT 1 FROM scores s WHERE s.member_id = a.member_id
               AND s.window_start < make_date(%(y)s + 1, 1, 1)
               AND s.window_end > make_date(%(y)s, 1, 1) AND s.composite IS NOT NULL) AS engaged
  FROM holdout_assignments a
  JOIN members m USING (member_id)
  JOIN enrollments e ON e.member_id = a.member_id AND e.product_id = a.product_id
                    AND e.plan_year = a.plan_year
  LEFT JOIN LATERAL (SELECT version_id, versions FROM quotes
                      WHERE member_id = a.member_id AND product_id = a.product_id
                        AND plan_year = a.plan_year
                      ORDER BY created_at DESC LIMIT 1) q ON true
 WHERE a.product_id = %(p)s AND a.plan_year = %(y)s
"""


def member_years(conn: Conn, product_id: str, plan_year: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_MEMBER_YEARS, {"p": product_id, "y": plan_year}).fetchall()
