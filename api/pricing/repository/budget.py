"""The plan year's discount budget and its scale (table ``budget_scales``)."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from api.pricing.repository import Conn


def get_scale(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT product_id, plan_year, rulebook_sha256, scale_ppm, budget_fen,"
            " projected_fen, basis, detail, computed_at FROM budget_scales"
            " WHERE product_id = %s AND plan_year = %s",
            (product_id, plan_year),
        ).fetchone()


def insert_scale(conn: Conn, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO budget_scales (product_id, plan_year, rulebook_sha256, scale_ppm,"
        " budget_fen, projected_fen, basis, detail) VALUES (%(product_id)s, %(plan_year)s,"
        " %(rulebook_sha256)s, %(scale_ppm)s, %(budget_fen)s, %(projected_fen)s, %(basis)s,"
        " %(detail)s)",
        {**row, "detail": Jsonb(row["detail"])},
    )
