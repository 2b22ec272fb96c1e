"""Insurers are scoped to their products: another insurer's product, member or quote is a 404."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.auth.service import create_principal
from tests.api.conftest import World, audit_rows


def _ins2(conn: psycopg.Connection[Any], client: TestClient, world: World) -> dict[str, str]:
    token = create_principal(conn, role="insurer", tenant_id="ins2", name="ins2")
    resp = client.put("/admin/insurers/ins2/products/river-city", headers=world.auth("admin"))
    assert resp.status_code == 204
    return {"authorization": f"Bearer {token}"}


def test_an_insurer_sees_only_its_products_and_book(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    h2 = _ins2(conn, client, world)
    mine = client.post("/insurer/quotes", json={"member_id": "m1"}, headers=world.auth("insurer"))
    assert mine.status_code == 201, mine.text
    qid = mine.json()["quote_id"]
    # ins2 cannot use demo-city, read ins1's quote, see m1's score, or ask for its portfolio.
    for resp in (
        client.post("/insurer/quotes", json={"member_id": "m1"}, headers=h2),
        client.get(f"/insurer/quotes/{qid}", headers=h2),
        client.get("/insurer/portfolio?product_id=demo-city", headers=h2),
        client.post("/insurer/batches", json={"product_id": "demo-city"}, headers=h2),
    ):
        assert resp.status_code == 404, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    # Its own product, but m1 is not enrolled in it: still not visible.
    own = client.post(
        "/insurer/quotes", json={"member_id": "m1", "product_id": "river-city"}, headers=h2
    )
    assert own.status_code == 404
    # Uploading enrollments into another insurer's product is refused; into its own, fine.
    row = {
        "member_id": "m1",
        "product_id": "demo-city",
        "plan_year": 2026,
        "enrolled_on": "2026-01-01",
    }
    assert client.post("/insurer/enrollments", json={"rows": [row]}, headers=h2).status_code == 404
    row["product_id"] = "river-city"
    assert client.post("/insurer/enrollments", json={"rows": [row]}, headers=h2).status_code == 200
    # Once enrolled in river-city, ins2 may quote m1 there (and still not in demo-city).
    ok = client.post(
        "/insurer/quotes", json={"member_id": "m1", "product_id": "river-city"}, headers=h2
    )
    assert ok.status_code == 201, ok.text
    denied = audit_rows(conn, action="insurer.quote.read", outcome="denied")
    assert denied, "the refused read is in the audit log"


def test_a_product_has_one_insurer(client: TestClient, world: World) -> None:
    resp = client.put("/admin/insurers/ins2/products/demo-city", headers=world.auth("admin"))
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["field"] == "product_id"
    again = client.put("/admin/insurers/ins1/products/demo-city", headers=world.auth("admin"))
    assert again.status_code == 204  # idempotent for the owner
