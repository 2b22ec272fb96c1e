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
    # Uploading enrollments into another insurer's product is refused; into its own, only
    # once the member consented to pricing for it (finding 2).
    row = {
        "member_id": "m1",
        "product_id": "demo-city",
        "plan_year": 2026,
        "enrolled_on": "2026-01-01",
    }
    assert client.post("/insurer/enrollments", json={"rows": [row]}, headers=h2).status_code == 404
    row["product_id"] = "river-city"
    assert client.post("/insurer/enrollments", json={"rows": [row]}, headers=h2).status_code == 422
    given = client.post(
        "/member/me/consents",
        json={"purpose": "insurer_pricing", "product_id": "river-city", "notice_version": "1"},
        headers=world.auth("member"),
    )
    assert given.status_code == 201, given.text
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


def test_an_insurer_cannot_pull_another_insurers_member_into_its_book(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """The attack: ins2 uploads an enrollment naming m1 (ins1's book) and then reads m1's
    score and quotes; unknown ids answered 422 and known ones 200 (enumeration)."""
    h2 = _ins2(conn, client, world)

    def enroll(member_id: str) -> Any:
        row = {"member_id": member_id, "product_id": "river-city", "plan_year": 2027,
               "enrolled_on": "2027-01-01"}  # fmt: skip
        return client.post("/insurer/enrollments", json={"rows": [row]}, headers=h2)

    elsewhere, nowhere = enroll("m1"), enroll("no-such-member")
    assert elsewhere.status_code == nowhere.status_code == 422
    assert elsewhere.json() == nowhere.json()  # "exists elsewhere" reads as "does not exist"
    assert conn.execute("SELECT count(*) FROM enrollments WHERE product_id = 'river-city'"
                        ).fetchone() == (0,)  # fmt: skip
    assert client.get("/insurer/members/m1/score", headers=h2).status_code == 404
    # CSV says the same.
    csv_body = "member_id,product_id,plan_year,enrolled_on\nm1,river-city,2027,2027-01-01\n"
    resp = client.post("/insurer/enrollments", content=csv_body,
                       headers={**h2, "content-type": "text/csv"})  # fmt: skip
    assert resp.status_code == 422 and resp.json()["errors"] == elsewhere.json()["errors"]
    refused = audit_rows(conn, action="insurer.enrollments.upload", outcome="denied")
    assert len(refused) == 3 and {r["tenant_id"] for r in refused} == {"ins2"}
    # ins1 renews its own member without a new consent (the book is its own).
    conn.execute("UPDATE consents SET withdrawn_at = now() WHERE member_id = 'm1'")
    renew = {"member_id": "m1", "product_id": "demo-city", "plan_year": 2027,
             "enrolled_on": "2027-01-01"}  # fmt: skip
    ok = client.post("/insurer/enrollments", json={"rows": [renew]}, headers=world.auth("insurer"))
    assert ok.status_code == 200, ok.text
