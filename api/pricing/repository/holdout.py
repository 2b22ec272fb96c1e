"""The randomised holdout's draws and arms (tables ``holdout_draws``,
``holdout_assignments``); a quote reads its member's arm with the member."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn


def get_draw(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any] | None:
    """The draw without its key (the key never leaves the database but for an audit)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT product_id, plan_year, share_bp, rulebook_sha256, members, drawn_at,"
            " (SELECT count(*) FROM holdout_assignments a WHERE a.product_id = d.product_id"
            "  AND a.plan_year = d.plan_year AND a.arm = 'control') AS control"
            " FROM holdout_draws d WHERE product_id = %s AND plan_year = %s",
            (product_id, plan_year),
        ).fetchone()


def draw_key(conn: Conn, product_id: str, plan_year: int) -> bytes | None:
    row = conn.execute(
        "SELECT draw_key FROM holdout_draws WHERE product_id = %s AND plan_year = %s",
        (product_id, plan_year),
    ).fetchone()
    return bytes(row[0]) if row else None


def insert_draw(
    conn: Conn, product_id: str, plan_year: int, share_bp: int, key: bytes, sha: str, n: int
) -> None:
    conn.execute(
        "INSERT INTO holdout_draws (product_id, plan_year, share_bp, draw_key,"
        " rulebook_sha256, members) VALUES (%s, %s, %s, %s, %s, %s)",
        (product_id, plan_year, share_bp, key, sha, n),
    )


def insert_assignments(
    conn: Conn, product_id: str, plan_year: int, rows: Sequence[tuple[str, str]]
) -> None:
    """(member, arm); an arm already stored is kept (never re-drawn)."""
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY holdout_assignments (product_id, plan_year, member_id, arm) FROM STDIN"
        ) as cp,
    ):
        for member_id, arm in rows:
            cp.write_row((product_id, plan_year, member_id, arm))


def arms_by_cohort(conn: Conn, product_id: str, plan_year: int) -> list[dict[str, Any]]:
    """Arm, age on 1 January of the plan year and conditions of each assigned member."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT a.member_id, a.arm, m.conditions,"
            " date_part('year', age(make_date(a.plan_year, 1, 1), m.birth_date))::int AS age"
            " FROM holdout_assignments a JOIN members m USING (member_id)"
            " WHERE a.product_id = %s AND a.plan_year = %s",
            (product_id, plan_year),
        ).fetchall()
