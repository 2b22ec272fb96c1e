"""Stored quotes and the smoothing fund's ledger, written together: a quote's smoothing
difference is booked in the same transaction as the quote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn

QUOTE_COLUMNS = (
    "quote_id",
    "member_id",
    "product_id",
    "plan_year",
    "rulebook_version",
    "rulebook_sha256",
    "job_id",
    "base_fen",
    "unsmoothed_fen",
    "premium_fen",
    "discount_fen",
    "age",
    "conditions",
    "components",
    "smoothing",
    "inputs",
    "model_version",
    "version_id",
    "versions",
)


def copy_quotes(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in QUOTE_COLUMNS order; the three jsonb values as JSON text."""
    if len(rows) == 1:  # a single quote: one INSERT is one round trip, COPY is three
        cols = ", ".join(QUOTE_COLUMNS)
        marks = ", ".join(["%s"] * len(QUOTE_COLUMNS))
        conn.execute(f"INSERT INTO quotes ({cols}) VALUES ({marks})", rows[0])  # noqa: S608
        return
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY quotes ({', '.join(QUOTE_COLUMNS)}) FROM STDIN") as cp,
    ):
        for r in rows:
            cp.write_row(r)


_LEDGER_UPSERT = (
    " ON CONFLICT (product_id, plan_year, member_id) DO UPDATE SET"
    " quote_id = EXCLUDED.quote_id, amount_fen = EXCLUDED.amount_fen, booked_at = now()"
)
_QUOTE_AND_LEDGER = (
    f"WITH q AS (INSERT INTO quotes ({', '.join(QUOTE_COLUMNS)})"  # noqa: S608 (constants)
    f" VALUES ({', '.join(['%s'] * len(QUOTE_COLUMNS))}) RETURNING quote_id)"
    " INSERT INTO smoothing_ledger (product_id, plan_year, member_id, quote_id, amount_fen)"
    " SELECT %s, %s, %s, q.quote_id, %s FROM q" + _LEDGER_UPSERT
)


def insert_quote_and_ledger(conn: Conn, row: tuple[Any, ...], ledger_fen: int) -> None:
    """One quote (a row in QUOTE_COLUMNS order) and its ledger entry in one statement: the
    single quote's path (a statement fewer for the client and the server; batches COPY)."""
    _, member_id, product_id, plan_year = row[:4]
    conn.execute(_QUOTE_AND_LEDGER, (*row, product_id, plan_year, member_id, ledger_fen))


def upsert_ledger(conn: Conn, rows: Sequence[tuple[str, int, str, str, int]]) -> None:
    """(product_id, plan_year, member_id, quote_id, amount_fen); a re-quote supersedes.

    COPY into a transaction-scoped staging table, then one upsert: a batch chunk's
    thousands of entries cost two statements.
    """
    if not rows:
        return
    if len(rows) <= 20:  # a few quotes: upserts, no staging table
        sql = (
            "INSERT INTO smoothing_ledger (product_id, plan_year, member_id, quote_id,"
            " amount_fen) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (product_id, plan_year, member_id) DO UPDATE SET"
            " quote_id = EXCLUDED.quote_id, amount_fen = EXCLUDED.amount_fen,"
            " booked_at = now()"
        )
        if len(rows) == 1:  # a single quote: executemany would enter pipeline mode for it
            conn.execute(sql, rows[0])
            return
        with conn.cursor() as cur:
            cur.executemany(sql, rows)
        return
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS ledger_stage (product_id text, plan_year int,"
        " member_id text, quote_id text, amount_fen bigint) ON COMMIT DELETE ROWS"
    )
    with conn.cursor() as cur:
        with cur.copy(
            "COPY ledger_stage (product_id, plan_year, member_id, quote_id, amount_fen) FROM STDIN"
        ) as cp:
            for r in rows:
                cp.write_row(r)
        cur.execute(
            "INSERT INTO smoothing_ledger (product_id, plan_year, member_id, quote_id, amount_fen)"
            " SELECT DISTINCT ON (product_id, plan_year, member_id) product_id, plan_year,"
            " member_id, quote_id, amount_fen FROM ledger_stage"
            " ORDER BY product_id, plan_year, member_id"
            " ON CONFLICT (product_id, plan_year, member_id)"
            " DO UPDATE SET quote_id = EXCLUDED.quote_id, amount_fen = EXCLUDED.amount_fen,"
            " booked_at = now()"
        )
        cur.execute("TRUNCATE ledger_stage")


def get_quote(conn: Conn, quote_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM quotes WHERE quote_id = %s", (quote_id,)).fetchone()


def has_quotes(conn: Conn, product_id: str, plan_year: int) -> bool:
    """Whether the plan year has issued a quote: what is set before the first one (the
    fund's closing, the holdout, the discount budget) is refused after it."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM quotes WHERE product_id = %s AND plan_year = %s)",
        (product_id, plan_year),
    ).fetchone()
    return bool(row and row[0])
