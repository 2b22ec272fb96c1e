"""Rulebooks: the versioned rule files quotes are computed with; locked once one is used."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.pricing.repository import Conn
from core.db import Pending

_COLUMNS = "product_id, plan_year, version, sha256, content, loaded_at, locked_at"
_BY_PRODUCT_YEAR = (
    f"SELECT {_COLUMNS} FROM rulebooks"  # noqa: S608 (a constant column list)
    " WHERE product_id = %s AND plan_year = %s"
)


def get_rulebook(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_BY_PRODUCT_YEAR, (product_id, plan_year)).fetchone()


# With the plan year's smoothing-fund closing (``fund_closings``, NULLs while open) and its
# discount budget (``budget_scales``, NULLs when none was set) in the same row: a quote
# needs all three, and a statement costs every quote ~40 us (docs/api.md).
_WITH_PLAN_YEAR = (
    "SELECT r.product_id, r.plan_year, r.version, r.sha256, r.content, r.loaded_at,"
    " r.locked_at, f.balance_fen AS fund_balance_fen, f.adjust_bp AS fund_adjust_bp,"
    " f.spread_years AS fund_spread_years, b.scale_ppm AS budget_scale_ppm,"
    " b.basis AS budget_basis, b.budget_fen AS budget_fen FROM rulebooks r"
    " LEFT JOIN fund_closings f USING (product_id, plan_year)"
    " LEFT JOIN budget_scales b USING (product_id, plan_year)"
    " WHERE r.product_id = %s AND r.plan_year = %s"
)


def send_rulebook(conn: Conn, product_id: str, plan_year: int) -> Pending[dict[str, Any] | None]:
    """:func:`get_rulebook` with the plan year's fund closing (``fund_*`` columns, NULL while
    the fund is open), sent now and read later: a quote pipelines it with its inputs."""
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(_WITH_PLAN_YEAR, (product_id, plan_year))
    return Pending(cur, _one)


def _one(cur: psycopg.Cursor[dict[str, Any]]) -> dict[str, Any] | None:
    return cur.fetchone()


def insert_rulebook(
    conn: Conn, product_id: str, plan_year: int, version: str, sha256: str, content: str
) -> None:
    conn.execute(
        "INSERT INTO rulebooks (product_id, plan_year, version, sha256, content)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (product_id, plan_year) DO NOTHING",
        (product_id, plan_year, version, sha256, content),
    )


def replace_rulebook(
    conn: Conn, product_id: str, plan_year: int, version: str, sha256: str, content: str
) -> None:
    """Refused by the table's trigger once the rulebook is locked."""
    conn.execute(
        "UPDATE rulebooks SET version = %s, sha256 = %s, content = %s, loaded_at = now()"
        " WHERE product_id = %s AND plan_year = %s",
        (version, sha256, content, product_id, plan_year),
    )


def lock_rulebook(conn: Conn, product_id: str, plan_year: int) -> None:
    conn.execute(
        "UPDATE rulebooks SET locked_at = now() WHERE product_id = %s AND plan_year = %s"
        " AND locked_at IS NULL",
        (product_id, plan_year),
    )


def rulebook_by_sha(conn: Conn, sha256: str) -> str | None:
    row = conn.execute("SELECT content FROM rulebooks WHERE sha256 = %s", (sha256,)).fetchone()
    return str(row[0]) if row else None
