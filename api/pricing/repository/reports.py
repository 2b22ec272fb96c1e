"""The reports' reads: the portfolio (latest quote per member, the smoothing fund), the
discount-budget check and the disclosure report. Each aggregates stored quotes, so a report
is exactly what was quoted."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn


def fund_balance(conn: Conn, product_id: str) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(amount_fen), 0) FROM smoothing_ledger WHERE product_id = %s",
        (product_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def ledger_for_year(conn: Conn, product_id: str, plan_year: int) -> dict[str, int]:
    row = conn.execute(
        "SELECT coalesce(sum(amount_fen) FILTER (WHERE amount_fen > 0), 0),"
        " coalesce(-sum(amount_fen) FILTER (WHERE amount_fen < 0), 0), count(*)"
        " FROM smoothing_ledger WHERE product_id = %s AND plan_year = %s",
        (product_id, plan_year),
    ).fetchone()
    assert row is not None
    return {"credits_fen": int(row[0]), "debits_fen": int(row[1]), "entries": int(row[2])}


def portfolio_cells(conn: Conn, product_id: str, plan_year: int) -> list[dict[str, Any]]:
    """Latest quote per member: age, conditions, base, discount, premium (aggregated by age)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "WITH q AS (SELECT DISTINCT ON (member_id) member_id, age, conditions, base_fen,"
            " discount_fen, premium_fen FROM quotes"
            " WHERE product_id = %s AND plan_year = %s ORDER BY member_id, created_at DESC)"
            " SELECT age, conditions, count(*) AS n, sum(base_fen) AS base_fen,"
            " sum(discount_fen) AS discount_fen, sum(premium_fen) AS premium_fen"
            " FROM q GROUP BY age, conditions",
            (product_id, plan_year),
        ).fetchall()


def budget_rows(conn: Conn, product_id: str, plan_year: int) -> list[dict[str, Any]]:
    """Each member's newest stored quote for the plan year, with baseline and current scores.

    Baseline: the member's first scored window (any version); current: the newest score
    row among the quote's own stored inputs (what the quote was computed from).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            WITH q AS (
                SELECT DISTINCT ON (member_id) member_id, age, conditions, components, inputs
                  FROM quotes WHERE product_id = %s AND plan_year = %s
                 ORDER BY member_id, created_at DESC
            ), b AS (
                SELECT DISTINCT ON (s.member_id) s.member_id, s.indicators
                  FROM scores s JOIN q USING (member_id)
                 -- PIPL: only windows inside a pricing consent (migration 0052)
                 WHERE tstzrange(s.window_start::timestamp AT TIME ZONE 'UTC',
                                 s.window_end::timestamp AT TIME ZONE 'UTC')
                       <@ consent_span(s.member_id, 'insurer_pricing', %s)
                 ORDER BY s.member_id, s.window_start, s.window_end
            )
            SELECT q.member_id, q.age, q.conditions, q.components, q.inputs, m.sex,
                   b.indicators AS baseline
              FROM q JOIN members m USING (member_id) LEFT JOIN b USING (member_id)
             ORDER BY q.member_id
            """,
            (product_id, plan_year, product_id),
        ).fetchall()
    for r in rows:
        scores = sorted(
            r.pop("inputs").get("scores", []), key=lambda s: (s["window_end"], s["window_start"])
        )
        r["current"] = scores[-1]["indicators"] if scores else None
    return rows


def disclosure_rows(conn: Conn, product_id: str, year: int) -> list[dict[str, Any]]:
    """Per member enrolled in ``year``: age, conditions, the premium paid (else the newest
    quote's), the discount granted, the version and deductible of the newest quote, per
    quarter the newest score, and the year's admissions (gross yuan, ICD-10, quarter)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            WITH book AS (
                SELECT e.member_id, e.premium_paid_fen, m.birth_date, m.conditions
                  FROM enrollments e JOIN members m USING (member_id)
                 WHERE e.product_id = %(p)s AND e.plan_year = %(y)s
            ), q AS (
                SELECT DISTINCT ON (member_id) member_id, premium_fen, discount_fen,
                       version_id, versions::text AS versions
                  FROM quotes WHERE product_id = %(p)s AND plan_year = %(y)s
                 ORDER BY member_id, created_at DESC
            ), s AS (
                SELECT DISTINCT ON (member_id, qtr) member_id, qtr, composite,
                       (indicators->'bp'->>'controlled')::boolean AS bp_controlled,
                       (indicators->'cgm'->>'tir')::float8 AS tir
                  FROM (SELECT sc.*, extract(quarter FROM sc.window_end - 1)::int AS qtr
                          FROM scores sc JOIN book USING (member_id)
                         WHERE sc.window_end > make_date(%(y)s, 1, 1)
                           AND sc.window_end <= make_date(%(y)s + 1, 1, 1)
                           -- PIPL: only windows inside a pricing consent (migration 0052)
                           AND tstzrange(sc.window_start::timestamp AT TIME ZONE 'UTC',
                                         sc.window_end::timestamp AT TIME ZONE 'UTC')
                               <@ consent_span(sc.member_id, 'insurer_pricing', %(p)s)) x
                 ORDER BY member_id, qtr, window_end DESC, computed_at DESC
            ), c AS (
                SELECT h.member_id,
                       array_agg(h.amount_yuan::float8 ORDER BY h.admitted_on) AS claims_yuan,
                       array_agg(coalesce(h.diagnosis, '') ORDER BY h.admitted_on) AS diagnoses,
                       array_agg(extract(quarter FROM h.admitted_on)::int
                                 ORDER BY h.admitted_on) AS claim_quarters
                  FROM hospitalisations h JOIN book USING (member_id)
                 WHERE h.admitted_on >= make_date(%(y)s, 1, 1)
                   AND h.admitted_on < make_date(%(y)s + 1, 1, 1)
                 GROUP BY 1
            )
            SELECT b.member_id, b.birth_date, b.conditions,
                   coalesce(b.premium_paid_fen, q.premium_fen) AS premium_fen,
                   q.discount_fen, q.version_id, q.versions,
                   coalesce(c.claims_yuan, '{}') AS claims_yuan,
                   coalesce(c.diagnoses, '{}') AS diagnoses,
                   coalesce(c.claim_quarters, '{}') AS claim_quarters,
                   coalesce((SELECT jsonb_object_agg(s.qtr, jsonb_build_object(
                       'composite', s.composite, 'bp_controlled', s.bp_controlled, 'tir', s.tir))
                       FROM s WHERE s.member_id = b.member_id), '{}') AS scores
              FROM book b LEFT JOIN q USING (member_id) LEFT JOIN c USING (member_id)
             ORDER BY b.member_id
            """,
            {"p": product_id, "y": year},
        ).fetchall()
