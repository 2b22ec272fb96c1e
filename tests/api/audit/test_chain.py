"""The audit log is append-only for the application and tamper-evident for its owner.

Against the real PostgreSQL (migration 0056): the penetration test's attack (flip denied
rows to allowed in one UPDATE) as the API's role, then as the owner who first disables
the refusing trigger, which ``wellrate audit verify`` must catch at the first changed
row; then the other ways an owner could edit history, and concurrent writers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.audit import repository as repo
from api.audit.verify import Heads, Verdict, parse_anchor, verify
from tests.api.conftest import World
from tests.roles import login_as

ROOT = Path(__file__).resolve().parents[3]


def _write(url: str, n: int, *, outcome: str = "denied", member: str = "m1") -> None:
    """``n`` audit rows through the audit insert API, one transaction each."""
    with psycopg.connect(url) as c:
        for i in range(n):
            with c.transaction():
                repo.insert(
                    c, principal_id=7, role="insurer", tenant_id="ins1",
                    action="insurer.score.read", member_id=member, outcome=outcome,
                    detail={"i": i},
                )  # fmt: skip


def _verify(url: str, anchor: Heads | None = None) -> Verdict:
    with psycopg.connect(url) as c:
        c.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with c.transaction():
            return verify(c, anchor)


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
    env.update(WELLRATE_ENVIRONMENT="test", WELLRATE_DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "wellrate.cli", "audit", "verify", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _link(conn: psycopg.Connection[Any], audit_id: int) -> tuple[int, int]:
    row = conn.execute(
        "SELECT chain, seq FROM audit_chain WHERE audit_id = %s", (audit_id,)
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _inner_link(conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
    """(chain, seq, audit_id) of a link that has a successor on its chain."""
    row = conn.execute(
        "SELECT c.chain, c.seq, c.audit_id FROM audit_chain c WHERE EXISTS"
        " (SELECT 1 FROM audit_chain n WHERE n.chain = c.chain AND n.seq = c.seq + 1)"
        " ORDER BY c.chain, c.seq LIMIT 1"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def _last_link(conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
    """(chain, seq, audit_id) of the end of a chain."""
    row = conn.execute(
        "SELECT DISTINCT ON (chain) chain, seq, audit_id FROM audit_chain"
        " ORDER BY chain, seq DESC LIMIT 1"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


@pytest.fixture
def owner_edit(conn: psycopg.Connection[Any]) -> Any:
    """Run SQL as the owner with the refusing triggers disabled (what an owner can do)."""

    def run(sql: str, params: tuple[Any, ...] = ()) -> int:
        with conn.transaction():
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            conn.execute("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only")
            n = conn.execute(sql, params).rowcount
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
            conn.execute("ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only")
        return n

    return run


def test_rows_the_api_writes_are_chained(
    client: TestClient, world: World, conn: psycopg.Connection[Any], db_url: str
) -> None:
    assert client.get("/clinic/patients/m1", headers=world.auth("clinic")).status_code == 200
    assert client.get("/clinic/patients/m2", headers=world.auth("clinic")).status_code in (
        403, 404,
    )  # fmt: skip  # refused: its row is written after the rollback
    assert client.get("/clinic/patients", headers=world.auth("clinic")).status_code == 200
    rows = conn.execute("SELECT count(*) FROM audit_log").fetchone()
    assert rows is not None and rows[0] >= 3
    verdict = _verify(db_url)
    assert verdict.ok and verdict.links == rows[0], verdict


def test_the_api_role_cannot_rewrite_the_log(db_url: str, conn: psycopg.Connection[Any]) -> None:
    """The attack: 1,018 rows flipped from denied to allowed in one UPDATE by the app's role."""
    _write(db_url, 5)
    with login_as(db_url, "wellrate_api") as url, psycopg.connect(url, autocommit=True) as api:
        for sql in (
            "UPDATE audit_log SET outcome = 'allowed' WHERE outcome = 'denied'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "UPDATE audit_chain SET row_hash = ''",
            "INSERT INTO audit_chain VALUES (1, 99, 99, '', '', '')",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                api.execute(sql)
        api.execute(  # appending is all it may do
            "INSERT INTO audit_log (action, outcome) VALUES ('admin.clinic.rename', 'allowed')"
        )
    outcomes = conn.execute("SELECT outcome, count(*) FROM audit_log GROUP BY 1").fetchall()
    assert sorted(outcomes) == [("allowed", 1), ("denied", 5)]
    assert _verify(db_url).ok


def test_the_trigger_refuses_even_the_owner(conn: psycopg.Connection[Any], db_url: str) -> None:
    _write(db_url, 2)
    for sql in ("UPDATE audit_log SET outcome = 'allowed'", "DELETE FROM audit_chain"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(sql)


def test_an_owners_update_is_detected(
    conn: psycopg.Connection[Any], db_url: str, owner_edit: Any
) -> None:
    _write(db_url, 3, outcome="allowed")
    _write(db_url, 20, outcome="denied")
    ok = _cli(db_url)
    assert ok.returncode == 0, ok.stderr
    head = json.loads(ok.stdout)
    assert head["ok"] and head["links"] == 23
    denied = {r[0] for r in conn.execute("SELECT audit_id FROM audit_log WHERE outcome = 'denied'")}
    assert owner_edit("UPDATE audit_log SET outcome = 'allowed' WHERE outcome = 'denied'") == 20
    res = _cli(db_url)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["ok"] is False and out["problem"] == "the audit row was changed"
    assert out["audit_id"] in denied
    assert (out["broken_chain"], out["broken_seq"]) == _link(conn, out["audit_id"])


def _rechain(conn: psycopg.Connection[Any], owner_edit: Any) -> None:
    """An owner who knows the scheme rebuilds every link after editing rows."""
    owner_edit(
        "WITH RECURSIVE r AS ("
        " SELECT c.chain, c.seq, decode(repeat('00', 32), 'hex') AS prev,"
        "  audit_content_hash(a) AS content"
        "  FROM audit_chain c JOIN audit_log a ON a.audit_id = c.audit_id WHERE c.seq = 1"
        " UNION ALL"
        " SELECT c.chain, c.seq, sha256(r.prev || r.content), audit_content_hash(a)"
        "  FROM r JOIN audit_chain c ON c.chain = r.chain AND c.seq = r.seq + 1"
        "  JOIN audit_log a ON a.audit_id = c.audit_id)"
        " UPDATE audit_chain c SET prev_hash = r.prev, content_hash = r.content,"
        "  row_hash = sha256(r.prev || r.content) FROM r"
        " WHERE c.chain = r.chain AND c.seq = r.seq"
    )


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ("DELETE FROM audit_log WHERE audit_id = {inner}", "the audit row was deleted"),
        ("DELETE FROM audit_chain WHERE audit_id = {inner}", "are missing"),
        ("UPDATE audit_chain SET row_hash = sha256(row_hash) WHERE audit_id = {inner}",
         "own hash is wrong"),
        ("UPDATE audit_chain SET prev_hash = sha256(prev_hash), row_hash ="
         " sha256(sha256(prev_hash) || content_hash) WHERE audit_id = {inner}",
         "does not follow"),
        ("forged", "have no link"),
        ("rechained", "recorded anchor"),
        ("cut", "ends before the recorded anchor"),
    ],
)  # fmt: skip
def test_every_other_edit_is_detected(
    conn: psycopg.Connection[Any], db_url: str, owner_edit: Any, edit: str, problem: str
) -> None:
    _write(db_url, 30)  # more rows than chains: some chain has two links or more
    anchor = _verify(db_url)
    assert anchor.ok and anchor.links == 30
    if edit == "forged":  # a row slipped in with the chain trigger off
        owner_edit("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain")
        _write(db_url, 1, outcome="allowed")
        owner_edit("ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain")
    elif edit == "rechained":
        owner_edit("UPDATE audit_log SET outcome = 'allowed' WHERE audit_id = 3")
        _rechain(conn, owner_edit)
        assert _verify(db_url).ok  # without an anchor a full rewrite passes...
    elif edit == "cut":
        _chain, _seq, last = _last_link(conn)
        owner_edit("DELETE FROM audit_log WHERE audit_id = %s", (last,))
        owner_edit("DELETE FROM audit_chain WHERE audit_id = %s", (last,))
        assert _verify(db_url).ok  # ...and so does a chain cut short
    else:
        owner_edit(edit.format(inner=_inner_link(conn)[2]))
    verdict = _verify(db_url, parse_anchor(anchor.anchor))
    assert not verdict.ok and problem in (verdict.problem or ""), verdict


def test_concurrent_writers_make_one_unbroken_chain(db_url: str) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with psycopg.connect(db_url) as c:
                for i in range(15):
                    with c.transaction():  # 1 to 3 rows per transaction
                        for _ in range(1 + (i + k) % 3):
                            repo.insert(
                                c, principal_id=k, role="clinic", tenant_id="c1",
                                action="clinic.patient.read", member_id="m1", outcome="allowed",
                                detail={},
                            )  # fmt: skip
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    verdict = _verify(db_url)
    expected = sum(1 + (i + k) % 3 for k in range(8) for i in range(15))
    assert verdict.ok and verdict.links == expected, verdict


@pytest.mark.parametrize(
    "text",
    ["", "12", "1:x:00", "0:0:" + "00" * 32, "16:1:" + "00" * 32, "3:1:abcd",
     "3:1:" + "00" * 32 + ",3:2:" + "00" * 32, "3:1:" + "00" * 32 + ":x"],
)  # fmt: skip
def test_bad_anchors_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_anchor(text)


def test_anchor_round_trip(db_url: str) -> None:
    _write(db_url, 5)
    verdict = _verify(db_url)
    heads = parse_anchor(verdict.anchor)
    assert sum(seq for seq, _h in heads.values()) == 5
    assert _verify(db_url, heads).ok
