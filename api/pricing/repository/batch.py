"""Batch jobs: the job, its chunks of member ids (claimed with ``FOR UPDATE SKIP LOCKED``),
its failures, and its results streamed from a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn


def book_member_ids(conn: Conn, product_id: str, plan_year: int) -> tuple[list[str], str]:
    """The book to quote: enrolled for the plan year, else renewals of the year before, else
    every member (the demo, before any enrollment upload). Returns (ids, which)."""
    for year, which in ((plan_year, "enrolled"), (plan_year - 1, "renewals")):
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT member_id FROM enrollments WHERE product_id = %s AND plan_year = %s"
                " ORDER BY member_id",
                (product_id, year),
            )
        ]
        if ids:
            return ids, which
    return [r[0] for r in conn.execute("SELECT member_id FROM members ORDER BY member_id")], "all"


def insert_job(conn: Conn, job_id: str, product_id: str, plan_year: int, total: int) -> None:
    conn.execute(
        "INSERT INTO batch_jobs (job_id, product_id, plan_year, total) VALUES (%s, %s, %s, %s)",
        (job_id, product_id, plan_year, total),
    )


def insert_chunks(conn: Conn, job_id: str, chunks: Sequence[list[str]]) -> None:
    with (
        conn.cursor() as cur,
        cur.copy("COPY batch_chunks (job_id, chunk_no, member_ids) FROM STDIN") as cp,
    ):
        for i, ids in enumerate(chunks):
            cp.write_row((job_id, i, ids))


def get_job(conn: Conn, job_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM batch_jobs WHERE job_id = %s", (job_id,)).fetchone()


def start_job(conn: Conn, job_id: str) -> None:
    conn.execute(
        "UPDATE batch_jobs SET status = 'running', started_at = coalesce(started_at, now())"
        " WHERE job_id = %s AND status IN ('queued', 'running')",
        (job_id,),
    )


def claim_chunk(conn: Conn, job_id: str) -> tuple[int, list[str]] | None:
    """A pending chunk, row-locked for this transaction; other workers skip it."""
    row = conn.execute(
        "SELECT chunk_no, member_ids FROM batch_chunks WHERE job_id = %s AND status = 'pending'"
        " ORDER BY chunk_no LIMIT 1 FOR UPDATE SKIP LOCKED",
        (job_id,),
    ).fetchone()
    return (int(row[0]), list(row[1])) if row else None


def finish_chunk(conn: Conn, job_id: str, chunk_no: int, done: int, failed: int) -> None:
    conn.execute(
        "UPDATE batch_chunks SET status = 'done', finished_at = now()"
        " WHERE job_id = %s AND chunk_no = %s",
        (job_id, chunk_no),
    )
    conn.execute(
        "UPDATE batch_jobs SET done = done + %s, failed = failed + %s WHERE job_id = %s",
        (done, failed, job_id),
    )


def record_failures(conn: Conn, job_id: str, rows: Sequence[tuple[str, str]]) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO batch_failures (job_id, member_id, reason) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(job_id, m, r) for m, r in rows],
            )


def complete_job_if_drained(conn: Conn, job_id: str) -> bool:
    cur = conn.execute(
        "UPDATE batch_jobs SET status = 'done', finished_at = now() WHERE job_id = %s"
        " AND status = 'running' AND NOT EXISTS (SELECT 1 FROM batch_chunks"
        " WHERE job_id = %s AND status = 'pending')",
        (job_id, job_id),
    )
    return cur.rowcount > 0


def fail_job(conn: Conn, job_id: str, error: str) -> None:
    conn.execute(
        "UPDATE batch_jobs SET status = 'failed', error = %s, finished_at = now()"
        " WHERE job_id = %s",
        (error, job_id),
    )


def iter_job_quotes(conn: Conn, job_id: str) -> Iterator[tuple[Any, ...]]:
    """Server-side cursor: a million results never sit in memory."""
    with conn.transaction(), conn.cursor(name=f"results_{job_id}") as cur:
        cur.itersize = 5000
        cur.execute(
            "SELECT member_id, quote_id, base_fen, unsmoothed_fen, premium_fen, discount_fen,"
            " rulebook_version, components, smoothing FROM quotes WHERE job_id = %s"
            " ORDER BY member_id",
            (job_id,),
        )
        yield from cur


def job_failures(conn: Conn, job_id: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT member_id, reason FROM batch_failures WHERE job_id = %s ORDER BY member_id",
            (job_id,),
        )
    ]
