"""Insurer and member endpoints over the real pricing engine (``api.pricing.service``)."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import World, audit_rows


def _enroll(client: TestClient, world: World) -> None:
    rows = [
        {"member_id": m, "product_id": "demo-city", "plan_year": 2026, "enrolled_on": "2024-01-01"}
        for m in ("m1", "m2", "m3")
    ]
    resp = client.post("/insurer/enrollments", json={"rows": rows}, headers=world.auth("insurer"))
    assert resp.status_code == 200, resp.text


def test_quote_one_member_then_fetch_it(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    _enroll(client, world)
    resp = client.post("/insurer/quotes", json={"member_id": "m1"}, headers=world.auth("insurer"))
    assert resp.status_code == 201, resp.text
    quote = resp.json()
    assert quote["member_id"] == "m1" and quote["plan_year"] == 2027
    assert quote["components"], quote
    assert all(c.get("reason_en") and c.get("reason_zh") for c in quote["components"])
    again = client.get(f"/insurer/quotes/{quote['quote_id']}", headers=world.auth("insurer"))
    assert again.status_code == 200
    assert again.json()["premium"] == quote["premium"]
    actions = [r["action"] for r in audit_rows(conn, member_id="m1", outcome="allowed")]
    assert actions.count("insurer.quote.create") == 1 and "insurer.quote.read" in actions
    assert client.get("/insurer/quotes/no-such", headers=world.auth("insurer")).status_code == 404
    missing = client.post(
        "/insurer/quotes", json={"member_id": "ghost"}, headers=world.auth("insurer")
    )
    assert missing.status_code == 404


def test_what_if_changes_the_premium_and_is_not_stored(client: TestClient, world: World) -> None:
    _enroll(client, world)
    base = client.post("/insurer/quotes", json={"member_id": "m1"}, headers=world.auth("insurer"))
    sim = client.post(
        "/insurer/what-if",
        json={"member_id": "m1", "what_if": {"bp.controlled": True, "cgm.tir": 85}},
        headers=world.auth("insurer"),
    )
    assert sim.status_code == 200, sim.text
    assert sim.json()["premium"] <= base.json()["premium"]


def test_batch_job_progress_and_streamed_results(client: TestClient, world: World) -> None:
    _enroll(client, world)
    h = world.auth("insurer")
    resp = client.post("/insurer/batches", json={"member_ids": ["m1", "m2", "m3"]}, headers=h)
    assert resp.status_code == 202, resp.text
    job = resp.json()
    deadline = time.monotonic() + 30
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = client.get(job["status_url"], headers=h).json()
        if status.get("status") in {"done", "failed", "completed", "finished"}:
            break
        time.sleep(0.2)
    assert status.get("status") in {"done", "completed", "finished"}, status
    nd = client.get(job["results_url"] + "?format=ndjson", headers=h)
    assert nd.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in nd.text.splitlines() if x.strip()]
    assert sorted(x["member_id"] for x in lines) == ["m1", "m2", "m3"]
    as_csv = client.get(job["results_url"] + "?format=csv", headers=h)
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert sorted(r["member_id"] for r in rows) == ["m1", "m2", "m3"]
    assert client.get("/insurer/batches/nope", headers=h).status_code == 404


def test_claims_upload_json_and_csv(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("insurer")
    body = {
        "rows": [
            {
                "claim_id": "k1",
                "member_id": "m1",
                "admitted_on": "2026-02-01",
                "discharged_on": "2026-02-05",
                "amount_yuan": "12000.50",
                "diagnosis": "I10",
            }
        ]
    }
    assert client.post("/insurer/claims", json=body, headers=h).json() == {"rows": 1}
    text = "claim_id,member_id,admitted_on,amount_yuan\nk2,m2,2026-03-01,800\n"
    resp = client.post(
        "/insurer/claims", content=text.encode(), headers={**h, "content-type": "text/csv"}
    )
    assert resp.json() == {"rows": 1}
    stored = conn.execute("SELECT claim_id FROM hospitalisations ORDER BY claim_id").fetchall()
    assert stored == [("k1",), ("k2",)]


def test_enrollment_upload_csv(client: TestClient, world: World) -> None:
    text = "member_id,product_id,plan_year,enrolled_on\nm1,demo-city,2026,2024-01-01\n"
    resp = client.post(
        "/insurer/enrollments",
        content=text.encode(),
        headers={**world.auth("insurer"), "content-type": "text/csv"},
    )
    assert resp.status_code == 200 and resp.json() == {"rows": 1}


def test_portfolio_report(client: TestClient, world: World) -> None:
    _enroll(client, world)
    client.post("/insurer/quotes", json={"member_id": "m1"}, headers=world.auth("insurer"))
    resp = client.get("/insurer/portfolio", headers=world.auth("insurer"))
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json(), dict) and resp.json()


def test_member_standing_is_their_own(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    _enroll(client, world)
    resp = client.get("/member/me/standing", headers=world.auth("member"))
    assert resp.status_code == 200, resp.text
    assert "m2" not in resp.text
    assert audit_rows(conn, member_id="m1", action="member.standing.read")


def test_the_members_simulator_prices_every_version_and_stores_nothing(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """The member's own simulator: the same engine as real quotes, every version, never
    stored, logged; only the simulator's own fields are accepted."""
    _enroll(client, world)
    auth = world.auth("member")
    now = client.get("/member/me/standing", headers=auth).json()
    walk = client.post("/member/me/simulate", json={"steps": 12000}, headers=auth)
    rest = client.post("/member/me/simulate", json={"steps": 0}, headers=auth)
    assert walk.status_code == rest.status_code == 200, walk.text
    sim, low = walk.json(), rest.json()
    assert sim["what_if"] == {"activity.median_steps": 12000}
    assert [v["version_id"] for v in sim["versions"]] == [v["version_id"] for v in now["versions"]]
    assert all(
        a["premium_fen"] <= b["premium_fen"]
        for a, b in zip(sim["versions"], low["versions"], strict=True)
    )
    assert conn.execute("SELECT count(*) FROM quotes").fetchone() == (0,)
    assert audit_rows(conn, member_id="m1", action="member.standing.simulate")
    bad = client.post("/member/me/simulate", json={"tir_pct": 140}, headers=auth)
    assert bad.status_code == 422 and "tir_pct" in bad.text
    extra = client.post("/member/me/simulate", json={"premium": 1}, headers=auth)
    assert extra.status_code == 422 and "premium" in extra.text
