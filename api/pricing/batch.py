"""Batch quoting as a job: the book is split into chunks stored with the job; any number of
workers (threads, processes, machines) share a job by claiming chunks with
``FOR UPDATE SKIP LOCKED``. A chunk is quoted, stored and marked done in ONE transaction,
so a worker that dies mid-chunk leaves it pending for another; nothing is quoted twice.

Results are the job's stored quotes (every input kept for audit), streamed back from a
server-side cursor as CSV or NDJSON, plus one line per member the job could not quote.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from api.pricing import engine
from api.pricing.exceptions import BatchNotFound
from api.pricing.quoting import get_rulebook, new_quote_id, quote_row, read_context
from api.pricing.repository import Conn
from api.pricing.repository import batch as batch_repo
from api.pricing.repository import quotes as quotes_repo
from api.pricing.repository import rulebooks as rulebook_repo
from core import db
from core.errors import DomainError
from core.settings import Settings

log = logging.getLogger(__name__)

CHUNK_SIZE = 5000
CSV_COLUMNS = (
    "member_id",
    "status",
    "quote_id",
    "base_premium",
    "unsmoothed_premium",
    "premium",
    "discount",
    "rulebook_version",
    "reason",
)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def create_batch_job(
    conn: Conn,
    product_id: str,
    plan_year: int,
    member_ids: list[str] | None,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> str:
    """Create the job and its chunks in the caller's transaction; returns the job id.

    ``member_ids=None`` quotes the book (``repository.book_member_ids``: enrolled for the
    plan year, else renewals, else every member).
    """
    get_rulebook(conn, product_id, plan_year)  # an unknown product fails here, not in a worker
    if member_ids is None:
        ids, _ = batch_repo.book_member_ids(conn, product_id, plan_year)
    else:
        ids = list(dict.fromkeys(member_ids))
    job_id = uuid.uuid4().hex[:16]
    batch_repo.insert_job(conn, job_id, product_id, plan_year, len(ids))
    batch_repo.insert_chunks(
        conn, job_id, [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    )
    return job_id


def quote_chunk(
    conn: Conn, job_id: str | None, product_id: str, plan_year: int, ids: Sequence[str]
) -> tuple[int, list[tuple[str, str]]]:
    """Quote and store these members (caller's transaction); returns (done, failures)."""
    ctx = read_context(conn, ids, product_id, plan_year)
    rb, inputs, model_version = ctx.rulebook, ctx.inputs, ctx.model_version
    rows, ledger, failures = [], [], []
    for m in ids:
        inp = inputs.get(m)
        if inp is None:
            failures.append((m, "unknown member"))
            continue
        try:
            p, every = engine.price_versions(rb, inp)
        except DomainError as exc:  # e.g. no age band for this member: reported, not fatal
            failures.append((m, exc.detail))
            continue
        qid = new_quote_id()
        rows.append(quote_row(rb, inp, p, qid, job_id, model_version, every))
        ledger.append((product_id, plan_year, m, qid, p.ledger_fen))
    if rows:
        if not ctx.locked:
            rulebook_repo.lock_rulebook(conn, product_id, plan_year)
        quotes_repo.copy_quotes(conn, rows)
        quotes_repo.upsert_ledger(conn, ledger)
    return len(rows), failures


def run_batch_job(url: str, settings: Settings, job_id: str) -> None:
    """Work on a job until no chunk is pending; safe to run in several workers at once."""
    with db.connect(url) as conn:
        with conn.transaction():
            job = batch_repo.get_job(conn, job_id)
            if job is None:
                raise BatchNotFound(f"no batch job {job_id}")
            batch_repo.start_job(conn, job_id)
        try:
            while True:
                with conn.transaction():
                    claimed = batch_repo.claim_chunk(conn, job_id)
                    if claimed is None:
                        break
                    chunk_no, ids = claimed
                    done, failures = quote_chunk(
                        conn, job_id, job["product_id"], job["plan_year"], ids
                    )
                    batch_repo.record_failures(conn, job_id, failures)
                    batch_repo.finish_chunk(conn, job_id, chunk_no, done, len(failures))
            with conn.transaction():
                if batch_repo.complete_job_if_drained(conn, job_id):
                    log.info("batch job %s done", job_id)
        except Exception as exc:
            conn.rollback()
            with conn.transaction():
                batch_repo.fail_job(conn, job_id, type(exc).__name__)
            raise


def batch_job_status(conn: Conn, job_id: str) -> dict[str, Any] | None:
    job = batch_repo.get_job(conn, job_id)
    if job is None:
        return None
    total = int(job["total"])
    processed = int(job["done"]) + int(job["failed"])
    return {
        "job_id": job_id,
        "product_id": job["product_id"],
        "plan_year": job["plan_year"],
        "status": job["status"],
        "total": total,
        "done": int(job["done"]),
        "failed": int(job["failed"]),
        "progress": 1.0 if total == 0 else round(processed / total, 4),
        "error": job["error"],
        "created_at": job["created_at"],
        "started_at": job["started_at"],
        "finished_at": job["finished_at"],
    }


def iter_batch_results(conn: Conn, job_id: str, fmt: str) -> Iterator[str]:
    """The job's results as CSV (header first) or NDJSON lines, streamed."""
    if fmt not in {"csv", "ndjson"}:
        raise ValueError(f"format must be csv or ndjson, not {fmt!r}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def csv_line(values: Sequence[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(values)
        return buf.getvalue()

    if fmt == "csv":
        yield csv_line(CSV_COLUMNS)
    for m, qid, base, unsm, prem, disc, version, comps, smoothing in batch_repo.iter_job_quotes(
        conn, job_id
    ):
        if fmt == "csv":
            yield csv_line(
                (m, "quoted", qid, _yuan(base), _yuan(unsm), _yuan(prem), _yuan(disc), version, "")
            )
        else:
            yield (
                json.dumps(
                    {
                        "member_id": m,
                        "status": "quoted",
                        "quote_id": qid,
                        "base_premium": _yuan(base),
                        "unsmoothed_premium": _yuan(unsm),
                        "premium": _yuan(prem),
                        "discount": _yuan(disc),
                        "rulebook_version": version,
                        "components": comps,
                        "smoothing": smoothing,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    for m, reason in batch_repo.job_failures(conn, job_id):
        if fmt == "csv":
            yield csv_line((m, "failed", "", "", "", "", "", "", reason))
        else:
            yield json.dumps({"member_id": m, "status": "failed", "reason": reason}) + "\n"


def quote_book(
    url: str,
    settings: Settings,
    product_id: str,
    plan_year: int,
    *,
    progress: bool = False,
    member_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Quote the whole book (see ``create_batch_job``) as a job run in this process."""
    with db.connect(url) as conn:
        with conn.transaction():
            book = "given" if member_ids is not None else "book"
            if member_ids is None:
                _, book = batch_repo.book_member_ids(conn, product_id, plan_year)
            job_id = create_batch_job(conn, product_id, plan_year, member_ids)
        run_batch_job(url, settings, job_id)
        with conn.transaction():
            status = batch_job_status(conn, job_id) or {}
    out = {
        "job_id": job_id,
        "book": book,
        "quoted": status.get("done", 0),
        "failed": status.get("failed", 0),
        "status": status.get("status"),
    }
    if progress:
        log.info("quoted %s %s: %s", product_id, plan_year, out)
    return out
