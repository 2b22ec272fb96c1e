"""The smoothing fund's plan-year closings: the balance carried into a plan year and the
charge or return its quotes apply (table ``fund_closings``)."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn

_CLOSING = (
    "SELECT product_id, plan_year, rulebook_sha256, balance_fen, capital_fen, base_total_fen,"
    " adjust_bp, spread_years, closed_at FROM fund_closings"
    " WHERE product_id = %s AND plan_year = %s"
)


def get_closing(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_CLOSING, (product_id, plan_year)).fetchone()


def balance_before(conn: Conn, product_id: str, plan_year: int) -> int:
    """The ledger's sum over the plan years before ``plan_year`` (capital not included)."""
    row = conn.execute(
        "SELECT coalesce(sum(amount_fen), 0) FROM smoothing_ledger"
        " WHERE product_id = %s AND plan_year < %s",
        (product_id, plan_year),
    ).fetchone()
    return int(row[0]) if row else 0


def base_total(conn: Conn, product_id: str, plan_year: int) -> int:
    """The base premiums of each member's latest quote for a plan year (the book's size)."""
    row = conn.execute(
        "SELECT coalesce(sum(base_fen), 0) FROM (SELECT DISTINCT ON (member_id) base_fen"
        " FROM quotes WHERE product_id = %s AND plan_year = %s"
        " ORDER BY member_id, created_at DESC) q",
        (product_id, plan_year),
    ).fetchone()
    return int(row[0]) if row else 0


def insert_closing(conn: Conn, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO fund_closings (product_id, plan_year, rulebook_sha256, balance_fen,"
        " capital_fen, base_total_fen, adjust_bp, spread_years) VALUES (%(product_id)s,"
        " %(plan_year)s, %(rulebook_sha256)s, %(balance_fen)s, %(capital_fen)s,"
        " %(base_total_fen)s, %(adjust_bp)s, %(spread_years)s)",
        row,
    )
