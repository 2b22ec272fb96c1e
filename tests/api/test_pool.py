"""The request transaction survives a database that drops its connections."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import pq
from psycopg_pool import ConnectionPool

from api.app import StaleCheck, create_app
from core.settings import Settings
from tests.api.conftest import World, audit_rows


def test_dropped_connections_answer_503_then_recover(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("admin")
    assert client.get("/auth/me", headers=h).status_code == 200
    killed = conn.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    ).fetchone()
    assert killed is not None and killed[0] >= 1
    statuses = [client.get("/auth/me", headers=h).status_code for _ in range(6)]
    # The recently used connection is trusted without a check, so the first request meets
    # the dead connection: a 503 problem, never a 500; the pool then replaces it.
    assert statuses[0] == 503
    assert set(statuses) <= {200, 503} and statuses[-1] == 200


def test_stale_check_skips_only_recently_healthy_connections(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = ConnectionPool.check_connection

    def counted(conn: psycopg.Connection[Any]) -> None:
        calls.append(1)
        original(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    for after_s, expected in ((60.0, 1), (0.0, 5)):
        calls.clear()
        check = StaleCheck(after_s)
        with ConnectionPool(db_url, min_size=1, max_size=1, check=check, open=True) as pool:
            for _ in range(5):
                c = pool.getconn()
                c.execute("SELECT 1")
                c.commit()
                check.healthy(c)
                pool.putconn(c)
        # Only the first checkout of a never-used connection pays the round trip, unless
        # every connection counts as stale (after_s = 0).
        assert len(calls) == expected, (after_s, calls)


def test_the_one_hop_quote_path_also_answers_503_then_recovers(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """``api.deps.in_transaction`` (pipeline mode to the commit) on a dropped connection:
    503, never 500, nothing half-written, and quotes work again once the pool replaced it."""
    h = world.auth("insurer")  # m1 is enrolled in the insurer's product (tests/api/conftest.py)
    assert client.post("/insurer/quotes", json={"member_id": "m1"}, headers=h).status_code == 201
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
        " current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    statuses = [
        client.post("/insurer/quotes", json={"member_id": "m1"}, headers=h).status_code
        for _ in range(6)
    ]
    assert statuses[0] == 503
    assert set(statuses) <= {201, 503} and statuses[-1] == 201
    quotes = conn.execute("SELECT count(*) FROM quotes WHERE member_id = 'm1'").fetchone()
    assert quotes is not None and quotes[0] == 1 + statuses.count(201)


def test_a_refused_quote_is_audited_and_writes_nothing(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """The refusal's audit row survives the rollback of the pipelined transaction."""
    conn.execute(  # a member of a clinic, not enrolled with any insurer
        "INSERT INTO members (member_id, clinic_id, birth_date, sex) VALUES ('m9', 'c1',"
        " '1960-01-01', 'F')"
    )
    resp = client.post("/insurer/quotes", json={"member_id": "m9"}, headers=world.auth("insurer"))
    assert resp.status_code == 404
    refused = audit_rows(conn, member_id="m9", action="insurer.quote.create")
    assert [r["outcome"] for r in refused] == ["denied"]
    quotes = conn.execute("SELECT count(*) FROM quotes").fetchone()
    assert quotes is not None and quotes[0] == 0


def _sent(trace_path: str) -> list[str]:
    """The type of each message the client sent, from libpq's trace."""
    with open(trace_path) as f:
        return [m[2].strip() for line in f if (m := line.split("\t"))[0] == "F"]


def _waits(trace_path: str) -> int:
    """Client messages after which the client waits for the server: a Sync, a Flush that
    does not just follow a Sync (psycopg's read in a pipeline), a simple Query."""
    sent = _sent(trace_path)
    return sum(
        1
        for i, msg in enumerate(sent)
        if msg in ("Sync", "Query") or (msg == "Flush" and (i == 0 or sent[i - 1] != "Sync"))
    )


def test_a_quote_request_waits_four_times_and_returns_its_connection_unchanged(
    api_settings: Settings, world: World, conn: psycopg.Connection[Any], tmp_path: Any
) -> None:
    """The whole ``POST /insurer/quotes`` on the wire: BEGIN with the token read, the product
    and member checks (one statement), the reads, then the writes with COMMIT: four waits.
    The pooled connection it used comes back out of autocommit (the pool's reset), so the
    next request that borrows it still gets a transaction."""
    one = api_settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 1})
    h = world.auth("insurer")
    with TestClient(create_app(one), raise_server_exceptions=False) as c:
        # The first quote stores and locks the packaged rulebook (two writes more).
        assert c.post("/insurer/quotes", json={"member_id": "m1"}, headers=h).status_code == 201
        pool = c.app.state.pool  # type: ignore[attr-defined]
        pooled = pool.getconn()
        trace = tmp_path / "wire.txt"
        with open(trace, "w") as f:
            pooled.pgconn.trace(f.fileno())
            pooled.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            c.app.state.pool_check.healthy(pooled)  # type: ignore[attr-defined]
            pool.putconn(pooled)
            resp = c.post("/insurer/quotes", json={"member_id": "m1"}, headers=h)
            pooled = pool.getconn()
            pooled.pgconn.untrace()
        assert resp.status_code == 201
        assert _waits(str(trace)) == 4
        # Ten statements: BEGIN, token, member access with the product's owner, rulebook,
        # members, the four small reads folded, scores with the model version in force,
        # integrity flags, the quote with its ledger entry, COMMIT.
        assert _sent(str(trace)).count("Execute") == 10
        # Back out of autocommit: a statement starts a transaction that can still roll back.
        assert pooled.autocommit is False
        pooled.execute("SELECT 1")
        assert pooled.info.transaction_status == pq.TransactionStatus.INTRANS
        pooled.rollback()
        pool.putconn(pooled)
    stored = conn.execute("SELECT count(*) FROM quotes WHERE member_id = 'm1'").fetchone()
    assert stored is not None and stored[0] == 2
