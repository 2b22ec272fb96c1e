"""A single quote waits for the server a fixed, small number of times: counted on the wire.

Each wait is a protocol ``Sync`` sent by the client (libpq's trace shows every message), so
these tests fail if a read or write slips out of the pipeline, e.g. a repository function
that fetches its rows as soon as it executes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import pq

from api.pricing import service
from tests.api.pricing.helpers import add_member, add_score, indicators

Conn = psycopg.Connection[Any]


def _syncs(conn: Conn, work: Callable[[], object]) -> int:
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            work()
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        messages = [line.split("\t") for line in trace.read().splitlines()]
    return sum(1 for m in messages if m[0] == "F" and m[2].startswith("Sync"))


def _member(conn: Conn, db_url: str) -> None:
    add_member(conn, "m1", conditions=("hypertension",))
    add_score(conn, "m1", indicators(tir=71.0, steps=7000.0), composite=70.0)
    with psycopg.connect(db_url) as first:  # stores (and locks) the packaged rulebook
        service.quote_member(first, "m1", "demo-city", 2027)


def test_a_quotes_nine_reads_cost_one_wait_after_begin(conn: Conn, db_url: str) -> None:
    _member(conn, db_url)
    with psycopg.connect(db_url) as c:
        unstored = _syncs(c, lambda: service.quote_member(c, "m1", "demo-city", 2027, store=False))
        # BEGIN is its own wait (psycopg syncs after it to know the transaction started);
        # the rulebook (with the model version) and the input reads share the other one.
        assert unstored == 2


def test_a_stored_quote_commits_with_its_writes_in_one_wait(conn: Conn, db_url: str) -> None:
    """Pipeline mode up to and including COMMIT (the request path, ``api.deps.transaction``,
    also folds BEGIN and the final sync away: tests/api/test_pool.py counts four waits)."""
    _member(conn, db_url)
    before = conn.execute("SELECT count(*) FROM quotes").fetchone()
    with psycopg.connect(db_url) as c:

        def quote_and_commit() -> None:
            with c.pipeline():
                service.quote_member(c, "m1", "demo-city", 2027)
                c.commit()

        # BEGIN; the reads; the quote, the ledger entry and COMMIT together; then the empty
        # sync psycopg always sends on leaving a pipeline. Outside a pipeline the two
        # writes and the COMMIT would be three waits, not one.
        assert _syncs(c, quote_and_commit) == 4
    after = conn.execute("SELECT count(*) FROM quotes").fetchone()
    ledger = conn.execute("SELECT count(*) FROM smoothing_ledger WHERE member_id = 'm1'").fetchone()
    assert before is not None and after is not None and after[0] == before[0] + 1
    assert ledger is not None and ledger[0] == 1
