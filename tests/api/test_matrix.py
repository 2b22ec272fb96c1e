"""Every role against every endpoint: allowed, 403 for the wrong role, 401 without credentials.

The table below must name every route the app serves (checked against the OpenAPI
document), so a new endpoint cannot ship without a decision about who may call it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World

ROLES = ("admin", "insurer", "clinic", "member")
PUBLIC = {("GET", "/health"), ("GET", "/ready")}
# A session is created with HTTP Basic credentials (a password), never with a bearer token.
BASIC_ONLY = {("POST", "/auth/sessions")}
# Calls that replace or end the caller's own credential: call them last, or not at all.
ENDS_OWN_CREDENTIAL = {("POST", "/auth/credentials/rotate"), ("DELETE", "/auth/sessions")}

Q = {"member_id": "m1"}
# (method, OpenAPI path, concrete path, JSON body or None, roles allowed)
ENDPOINTS: list[tuple[str, str, str, Any, set[str]]] = [
    ("GET", "/auth/me", "/auth/me", None, set(ROLES)),
    ("POST", "/auth/sessions", "/auth/sessions", None, set()),
    ("DELETE", "/auth/sessions", "/auth/sessions", None, set(ROLES)),
    ("GET", "/auth/credentials", "/auth/credentials", None, set(ROLES)),
    ("POST", "/auth/credentials/rotate", "/auth/credentials/rotate", None, set(ROLES)),
    (
        "DELETE",
        "/auth/credentials/{credential_id}",
        "/auth/credentials/0123abcd",
        None,
        set(ROLES),
    ),
    ("POST", "/insurer/quotes", "/insurer/quotes", Q, {"insurer"}),
    ("GET", "/insurer/quotes/{quote_id}", "/insurer/quotes/q-1", None, {"insurer"}),
    (
        "POST",
        "/insurer/what-if",
        "/insurer/what-if",
        {**Q, "what_if": {"cgm.tir": 75}},
        {"insurer"},
    ),
    ("GET", "/insurer/members/{member_id}/score", "/insurer/members/m1/score", None, {"insurer"}),
    ("POST", "/insurer/batches", "/insurer/batches", {"member_ids": ["m1"]}, {"insurer"}),
    ("GET", "/insurer/batches/{job_id}", "/insurer/batches/j-1", None, {"insurer"}),
    ("GET", "/insurer/batches/{job_id}/results", "/insurer/batches/j-1/results", None, {"insurer"}),
    (
        "POST",
        "/insurer/enrollments",
        "/insurer/enrollments",
        {
            "rows": [
                {
                    "member_id": "m1",
                    "product_id": "demo-city",
                    "plan_year": 2027,
                    "enrolled_on": "2026-01-01",
                }
            ]
        },
        {"insurer"},
    ),
    (
        "POST",
        "/insurer/claims",
        "/insurer/claims",
        {"rows": [{"claim_id": "k1", "member_id": "m1", "admitted_on": "2026-02-01"}]},
        {"insurer"},
    ),
    ("GET", "/insurer/portfolio", "/insurer/portfolio", None, {"insurer"}),
    ("GET", "/insurer/budget-check", "/insurer/budget-check", None, {"insurer"}),
    ("GET", "/insurer/disclosure", "/insurer/disclosure", None, {"insurer"}),
    (
        "PUT",
        "/admin/insurers/{insurer_id}/products/{product_id}",
        "/admin/insurers/ins1/products/demo-city",
        None,
        {"admin"},
    ),
    ("GET", "/clinic/patients", "/clinic/patients", None, {"clinic"}),
    ("GET", "/clinic/patients/{member_id}", "/clinic/patients/m1", None, {"clinic"}),
    (
        "POST",
        "/clinic/alerts/{alert_id}/acknowledge",
        "/clinic/alerts/1/acknowledge",
        None,
        {"clinic"},
    ),
    (
        "GET",
        "/clinic/patients/{member_id}/observations.fhir",
        "/clinic/patients/m1/observations.fhir",
        None,
        {"clinic"},
    ),
    (
        "GET",
        "/clinic/patients/{member_id}/observations.csv",
        "/clinic/patients/m1/observations.csv",
        None,
        {"clinic"},
    ),
    ("GET", "/clinic/worklist", "/clinic/worklist", None, {"clinic"}),
    ("GET", "/clinic/patients/{member_id}/bp", "/clinic/patients/m1/bp", None, {"clinic"}),
    (
        "GET",
        "/clinic/patients/{member_id}/glucose",
        "/clinic/patients/m1/glucose",
        None,
        {"clinic"},
    ),
    ("GET", "/clinic/overview", "/clinic/overview", None, {"clinic"}),
    ("GET", "/member/me/score", "/member/me/score", None, {"member"}),
    ("GET", "/member/me/standing", "/member/me/standing", None, {"member"}),
    ("GET", "/member/me/consents", "/member/me/consents", None, {"member"}),
    (
        "POST",
        "/member/me/consents",
        "/member/me/consents",
        {"purpose": "research", "notice_version": "2026.1"},
        {"member"},
    ),
    (
        "POST",
        "/member/me/consents/{consent_id}/withdraw",
        "/member/me/consents/1/withdraw",
        None,
        {"member"},
    ),
    (
        "POST",
        "/devices",
        "/devices",
        {"device_id": "d-new", "device_type": "bp_cuff"},
        {"admin", "clinic"},
    ),
    (
        "POST",
        "/devices/{device_id}/bindings",
        "/devices/cuff-m1/bindings",
        {"member_id": "m1", "valid_from": "2030-01-01T00:00:00Z"},
        {"admin", "clinic"},
    ),
    (
        "POST",
        "/devices/{device_id}/transfer",
        "/devices/cuff-m1/transfer",
        {"to_clinic_id": "c2"},
        {"admin", "clinic"},
    ),
    (
        "POST",
        "/devices/{device_id}/transfer/accept",
        "/devices/cuff-m1/transfer/accept",
        None,
        {"clinic"},
    ),
    (
        "POST",
        "/admin/principals",
        "/admin/principals",
        {"role": "insurer", "tenant_id": "ins2", "name": "ins-two"},
        {"admin"},
    ),
    (
        "POST",
        "/admin/principals/{name}/token",
        "/admin/principals/clinic-b/token",
        None,
        {"admin"},
    ),
    (
        "DELETE",
        "/admin/principals/{name}/credentials",
        "/admin/principals/clinic-b/credentials",
        None,
        {"admin"},
    ),
    ("PUT", "/admin/clinics/{clinic_id}", "/admin/clinics/c9", {"name": "Clinic 9"}, {"admin"}),
    (
        "PUT",
        "/admin/members/{member_id}",
        "/admin/members/m9",
        {"birth_date": "1950-01-01", "sex": "M"},
        {"admin"},
    ),
]


def _call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


def _is_problem(resp: Any) -> bool:
    body = resp.json()
    return (
        resp.headers["content-type"].startswith("application/problem+json")
        and {"type", "title", "status", "detail"} <= set(body)
        and body["status"] == resp.status_code
    )


def test_table_covers_every_route(client: TestClient) -> None:
    served = {
        (method.upper(), path)
        for path, ops in client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in ops
    }
    listed = {(m, p) for m, p, *_ in ENDPOINTS}
    assert served - PUBLIC == listed


@pytest.mark.parametrize(
    ("method", "_tpl", "path", "body", "allowed"),
    ENDPOINTS,
    ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS],
)
def test_role_matrix(
    client: TestClient,
    world: World,
    method: str,
    _tpl: str,
    path: str,
    body: Any,
    allowed: set[str],
) -> None:
    anonymous = _call(client, method, path, body, {})
    assert anonymous.status_code == 401, anonymous.text
    assert _is_problem(anonymous)
    assert "www-authenticate" in anonymous.headers
    for role in ROLES:
        resp = _call(client, method, path, body, world.auth(role))
        if (method, _tpl) in BASIC_ONLY:
            assert resp.status_code == 401, (role, resp.text)
        elif role in allowed:
            assert resp.status_code not in (401, 403), (role, resp.status_code, resp.text)
            assert resp.status_code < 500 or resp.status_code == 503, (role, resp.text)
        else:
            assert resp.status_code == 403, (role, resp.status_code, resp.text)
            assert _is_problem(resp)


@pytest.mark.parametrize("token", ["", "nonsense", "wr_deadbeef_wrongsecret", "wr__", "ws_x_y"])
def test_bad_tokens_are_401(client: TestClient, world: World, token: str) -> None:
    resp = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert _is_problem(resp)


def test_a_valid_token_id_with_a_wrong_secret_is_401(client: TestClient, world: World) -> None:
    prefix, token_id, _ = world.tokens["admin"].split("_", 2)
    resp = client.get("/auth/me", headers={"Authorization": f"Bearer {prefix}_{token_id}_x"})
    assert resp.status_code == 401


def test_public_endpoints_need_no_credentials(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"
    assert client.get("/openapi.json").status_code == 200
