"""The API side of the pricing calls (quotes, batches, uploads, standing), over a stand-in.

What is tested here is the API's own glue, not pricing: quotes get the default product and
plan year, what-if is never stored, every call is audited and unknown members never reach
the engine; uploads arrive validated; a batch job is created in the request's transaction,
its worker thread starts only after that commit (it must find the job row from its own
connection), status is read back, and results stream on a connection of their own after
the request's transaction has ended. The stand-in is installed only for this module's
tests, and only while ``api.pricing.service`` is absent; the real engine is exercised by
``test_insurer.py``.
"""

from __future__ import annotations

import json
import sys
import time
import types
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.insurer import pricing_port
from tests.api.conftest import World

_DDL = (
    "CREATE TABLE IF NOT EXISTS api_test_stub_jobs (job_id text PRIMARY KEY,"
    " member_ids text[], status text NOT NULL, done int NOT NULL DEFAULT 0)"
)


def _stub() -> types.ModuleType:
    mod = types.ModuleType("api.pricing.service")

    def create_batch_job(
        conn: psycopg.Connection[Any], product_id: str, plan_year: int, member_ids: Any
    ) -> str:
        job_id = uuid.uuid4().hex[:12]
        conn.execute(
            "INSERT INTO api_test_stub_jobs (job_id, member_ids, status) VALUES (%s, %s, 'queued')",
            (job_id, member_ids),
        )
        return job_id

    def run_batch_job(url: str, settings: Any, job_id: str) -> None:
        with psycopg.connect(url) as conn:  # its own connection: sees only committed rows
            row = conn.execute(
                "SELECT member_ids FROM api_test_stub_jobs WHERE job_id = %s", (job_id,)
            ).fetchone()
            status = "done" if row else "job-not-visible"
            conn.execute(
                "UPDATE api_test_stub_jobs SET status = %s, done = %s WHERE job_id = %s",
                (status, len(row[0]) if row else 0, job_id),
            )
            if not row:  # record what the worker saw, for the assertion below
                conn.execute(
                    "INSERT INTO api_test_stub_jobs (job_id, status) VALUES (%s, %s)",
                    (job_id, status),
                )

    def batch_job_status(conn: psycopg.Connection[Any], job_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            "SELECT status, done FROM api_test_stub_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
        return {"job_id": job_id, "status": row[0], "done": row[1]} if row else None

    def iter_batch_results(conn: psycopg.Connection[Any], job_id: str, fmt: str) -> Iterator[str]:
        row = conn.execute(
            "SELECT member_ids FROM api_test_stub_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
        members = row[0] if row else []
        if fmt == "csv":
            yield "member_id,premium\n"
        for m in members:
            yield f"{m},100.00\n" if fmt == "csv" else json.dumps({"member_id": m}) + "\n"

    calls: list[tuple[str, Any]] = []

    class Quote:
        def __init__(self, member_id: str, what_if: Any) -> None:
            self.member_id, self.what_if = member_id, what_if

        def to_dict(self) -> dict[str, Any]:
            return {
                "quote_id": f"q-{self.member_id}",
                "member_id": self.member_id,
                "premium": 90 if self.what_if else 100,
                "components": [],
            }

    def quote_member(
        conn: Any,
        member_id: str,
        product_id: str,
        plan_year: int,
        *,
        what_if: Any = None,
        store: bool = True,
    ) -> Quote:
        calls.append(("quote_member", (member_id, product_id, plan_year, what_if, store)))
        return Quote(member_id, what_if)

    def get_quote(conn: Any, quote_id: str) -> Quote | None:
        return Quote(quote_id[2:], None) if quote_id.startswith("q-") else None

    def upsert_claims(conn: Any, rows: list[Any]) -> int:
        calls.append(("upsert_claims", rows))
        return len(rows)

    def member_standing(
        conn: Any, member_id: str, product_id: str, plan_year: int
    ) -> dict[str, Any]:
        return {"member_id": member_id, "product_id": product_id, "plan_year": plan_year}

    for fn in (
        create_batch_job,
        run_batch_job,
        batch_job_status,
        iter_batch_results,
        quote_member,
        get_quote,
        upsert_claims,
        member_standing,
    ):
        setattr(mod, fn.__name__, fn)
    mod.calls = calls  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def stub_pricing(conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    if not pricing_port.missing(["create_batch_job"]):
        pytest.skip("the real pricing engine is present; test_insurer.py covers it")
    conn.execute(_DDL)
    mod = _stub()
    monkeypatch.setitem(sys.modules, "api.pricing.service", mod)
    return mod


def test_batch_worker_starts_after_commit_and_results_stream(
    client: TestClient, world: World, stub_pricing: None, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("insurer")
    resp = client.post("/insurer/batches", json={"member_ids": ["m1", "m2"]}, headers=h)
    assert resp.status_code == 202, resp.text
    job = resp.json()
    status: dict[str, Any] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = client.get(job["status_url"], headers=h).json()
        if status["status"] != "queued":
            break
        time.sleep(0.05)
    assert status == {"job_id": job["job_id"], "status": "done", "done": 2}
    nd = client.get(f"{job['results_url']}?format=ndjson", headers=h)
    assert nd.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(x)["member_id"] for x in nd.text.splitlines()] == ["m1", "m2"]
    as_csv = client.get(f"{job['results_url']}?format=csv", headers=h)
    assert as_csv.text.splitlines() == ["member_id,premium", "m1,100.00", "m2,100.00"]
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY audit_id")]
    assert actions[0] == "insurer.batch.create"
    assert "insurer.batch.results" in actions


def test_a_bad_batch_body_creates_no_job(
    client: TestClient, world: World, stub_pricing: None, conn: psycopg.Connection[Any]
) -> None:
    # A body that fails validation never reaches the service: no job row, no thread.
    resp = client.post("/insurer/batches", json={"member_ids": [""]}, headers=world.auth("insurer"))
    assert resp.status_code == 422
    assert conn.execute("SELECT count(*) FROM api_test_stub_jobs").fetchone() == (0,)
    assert client.get("/insurer/batches/nope", headers=world.auth("insurer")).status_code == 404


def test_quote_glue_passes_defaults_audits_and_keeps_what_if_unstored(
    client: TestClient, world: World, stub_pricing: Any, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("insurer")
    made = client.post("/insurer/quotes", json={"member_id": "m1"}, headers=h)
    assert made.status_code == 201 and made.json()["premium"] == 100
    sim = client.post(
        "/insurer/what-if",
        json={
            "member_id": "m2",
            "product_id": "other-city",
            "plan_year": 2028,
            "what_if": {"cgm.tir": 75},
        },
        headers=h,
    )
    assert sim.json()["premium"] == 90
    assert stub_pricing.calls == [
        ("quote_member", ("m1", "demo-city", 2027, None, True)),
        ("quote_member", ("m2", "other-city", 2028, {"cgm.tir": 75.0}, False)),
    ]
    assert client.get("/insurer/quotes/q-m1", headers=h).json()["member_id"] == "m1"
    assert client.get("/insurer/quotes/zz", headers=h).status_code == 404
    # An unknown member never reaches the engine.
    assert client.post("/insurer/quotes", json={"member_id": "ghost"}, headers=h).status_code == 404
    assert len(stub_pricing.calls) == 2
    rows = conn.execute(
        "SELECT action, member_id, outcome FROM audit_log ORDER BY audit_id"
    ).fetchall()
    assert rows == [
        ("insurer.quote.create", "m1", "allowed"),
        ("insurer.quote.what_if", "m2", "allowed"),
        ("insurer.quote.read", "m1", "allowed"),
        ("insurer.quote.create", "ghost", "not_found"),
    ]


def test_claims_reach_the_engine_validated_and_standing_is_the_members_own(
    client: TestClient, world: World, stub_pricing: Any
) -> None:
    text = "claim_id,member_id,admitted_on,amount_yuan,diagnosis\nk1,m1,2026-02-01,12.50,E11.9\n"
    resp = client.post(
        "/insurer/claims",
        content=text.encode(),
        headers={**world.auth("insurer"), "content-type": "text/csv"},
    )
    assert resp.json() == {"rows": 1}
    ((name, rows),) = stub_pricing.calls
    assert name == "upsert_claims" and rows[0].claim_id == "k1"
    assert str(rows[0].amount_yuan) == "12.50" and rows[0].diagnosis == "E11.9"
    standing = client.get("/member/me/standing", headers=world.auth("member_m2")).json()
    assert standing == {"member_id": "m2", "product_id": "demo-city", "plan_year": 2027}
