"""What the filing outputs read: a plan year's quoted book and its experience year's claims."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn

# Each member's newest quote for the plan year: the version, base, premium and the
# performance-linked discount (the lines that need data, which the quote stores).
_BOOK = """
SELECT DISTINCT ON (member_id) member_id, version_id, base_fen, premium_fen, discount_fen,
       components::text AS components
  FROM quotes WHERE product_id = %(p)s AND plan_year = %(y)s
 ORDER BY member_id, created_at DESC
"""

# The experience year: each enrolled member-year with its exposure, version, conditions,
# age band input and admissions (gross yuan, ICD-10, days from discharge to the claim's
# arrival in the feed).
_EXPERIENCE = """
SELECT e.member_id, e.product_version, m.conditions, e.premium_paid_fen,
       (SELECT q.premium_fen FROM quotes q WHERE q.member_id = e.member_id
         AND q.product_id = e.product_id AND q.plan_year = e.plan_year
         ORDER BY q.created_at DESC LIMIT 1) AS quoted_fen,
       date_part('year', age(make_date(%(y)s, 1, 1), m.birth_date))::int AS age,
       greatest(0, least(1, (make_date(%(y)s + 1, 1, 1) - greatest(e.enrolled_on,
           make_date(%(y)s, 1, 1)))::float8 / (make_date(%(y)s + 1, 1, 1)
           - make_date(%(y)s, 1, 1)))) AS exposure,
       coalesce(array_agg(h.amount_yuan::float8 ORDER BY h.admitted_on)
                FILTER (WHERE h.claim_id IS NOT NULL), '{}') AS claims_yuan,
       coalesce(array_agg(coalesce(h.diagnosis, '') ORDER BY h.admitted_on)
                FILTER (WHERE h.claim_id IS NOT NULL), '{}') AS diagnoses,
       coalesce(array_agg((h.received_at::date - coalesce(h.discharged_on, h.admitted_on))
                ORDER BY h.admitted_on) FILTER (WHERE h.claim_id IS NOT NULL), '{}') AS lag_days
  FROM enrollments e
  JOIN members m USING (member_id)
  LEFT JOIN hospitalisations h ON h.member_id = e.member_id
        AND h.admitted_on >= make_date(%(y)s, 1, 1) AND h.admitted_on < make_date(%(y)s + 1, 1, 1)
 WHERE e.product_id = %(p)s AND e.plan_year = %(y)s
 GROUP BY e.member_id, e.product_id, e.plan_year, e.product_version, m.conditions,
          m.birth_date, e.enrolled_on, e.premium_paid_fen
"""


def quoted_book(conn: Conn, product_id: str, plan_year: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_BOOK, {"p": product_id, "y": plan_year}).fetchall()


def experience(conn: Conn, product_id: str, year: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_EXPERIENCE, {"p": product_id, "y": year}).fetchall()
