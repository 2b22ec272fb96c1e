"""Pricing's domain errors reach HTTP clients as problem+json naming the field."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import World


def test_pricing_errors_are_problem_json_with_the_field(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("insurer")
    bad = client.post(
        "/insurer/what-if", json={"member_id": "m1", "what_if": {"cgm.tir": 140}}, headers=h
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"] == [{"field": "what_if.cgm.tir", "message": "0..100"}]
    unknown = client.post(
        "/insurer/what-if", json={"member_id": "m1", "what_if": {"mood.x": 1}}, headers=h
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "what_if.mood.x"
    no_product = client.post(
        "/insurer/quotes", json={"member_id": "m1", "product_id": "nowhere"}, headers=h
    )
    # One wording for an unknown product and another insurer's (finding 11).
    assert no_product.status_code == 404 and no_product.json()["detail"] == "no such product"
    claims = client.post(
        "/insurer/claims",
        json={"rows": [{"claim_id": "k9", "member_id": "nobody", "admitted_on": "2026-01-02"}]},
        headers=h,
    )
    assert claims.status_code == 422
    # For an insurer an unknown member is just "not in your book" (no probing of other ids).
    assert claims.json()["errors"] == [
        {"field": "rows[0].member_id", "message": "not in your book"}
    ]
    assert conn.execute("SELECT count(*) FROM hospitalisations").fetchone() == (0,)
    # A quote locks the rulebook; the lock is visible in the table.
    assert client.post("/insurer/quotes", json={"member_id": "m1"}, headers=h).status_code == 201
    row = conn.execute("SELECT locked_at IS NOT NULL FROM rulebooks").fetchone()
    assert row == (True,)
