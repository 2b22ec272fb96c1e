"""Bad input gets application/problem+json 4xx naming the offending field; never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.errors import TooManyAttempts, Unauthenticated
from api.pricing.exceptions import UnknownMembers
from core.errors import FieldError, NotFound
from tests.api.conftest import World


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    return body


def _fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "field"),
    [
        ("admin", "POST", "/admin/principals", {"role": "insurer", "tenant_id": "x"}, "name"),
        ("admin", "POST", "/admin/principals", {"role": "king", "name": "abc"}, "role"),
        (
            "admin",
            "POST",
            "/admin/principals",
            {"role": "clinic", "tenant_id": "c1", "name": "abc", "password": "short"},
            "password",
        ),
        (
            "admin",
            "PUT",
            "/admin/members/m9",
            {"birth_date": "1950-13-01", "sex": "M"},
            "birth_date",
        ),
        (
            "admin",
            "PUT",
            "/admin/members/m9",
            {"birth_date": "1950-01-01", "sex": "M", "conditions": ["flu"]},
            "conditions[0]",
        ),
        (
            "clinic",
            "POST",
            "/devices",
            {"device_id": "d1", "device_type": "toaster"},
            "device_type",
        ),
        (
            "clinic",
            "POST",
            "/devices/cuff-m1/bindings",
            {"member_id": "m1", "valid_from": "2026-01-01T00:00:00"},
            "valid_from",
        ),
        ("insurer", "POST", "/insurer/quotes", {"member_id": ""}, "member_id"),
        (
            "insurer",
            "POST",
            "/insurer/quotes",
            {"member_id": "m1", "plan_year": "soon"},
            "plan_year",
        ),
        ("insurer", "POST", "/insurer/what-if", {"member_id": "m1", "what_if": {}}, "what_if"),
        (
            "insurer",
            "POST",
            "/insurer/claims",
            {
                "rows": [
                    {"claim_id": "k1", "member_id": "m1", "admitted_on": "2026-02-01"},
                    {"claim_id": "k2", "member_id": "m1", "admitted_on": "yesterday"},
                ]
            },
            "rows[1].admitted_on",
        ),
        (
            "insurer",
            "POST",
            "/insurer/claims",
            {
                "rows": [
                    {
                        "claim_id": "k1",
                        "member_id": "m1",
                        "admitted_on": "2026-02-01",
                        "amount_yuan": -5,
                    }
                ]
            },
            "rows[0].amount_yuan",
        ),
        (
            "insurer",
            "POST",
            "/insurer/enrollments",
            {"rows": [{"member_id": "m1"}]},
            "rows[0].product_id",
        ),
        ("insurer", "POST", "/insurer/enrollments", {"rows": "all of them"}, "rows"),
    ],
)
def test_bad_bodies_name_the_field(
    client: TestClient, world: World, who: str, method: str, path: str, body: Any, field: str
) -> None:
    resp = client.request(method, path, json=body, headers=world.auth(who))
    problem = _problem(resp, 422)
    assert field in _fields(problem), problem
    assert all(e["message"] for e in problem["errors"])


def test_bad_query_and_path_parameters_name_them(client: TestClient, world: World) -> None:
    resp = client.get("/clinic/patients?limit=0&status=sick", headers=world.auth("clinic"))
    assert _fields(_problem(resp, 422)) == {"query.limit", "query.status"}
    resp = client.get(
        "/clinic/patients/m1/observations.csv?start=2026-01-01T00:00:00",
        headers=world.auth("clinic"),
    )
    assert _fields(_problem(resp, 422)) == {"query.start"}
    resp = client.post("/clinic/alerts/zero/acknowledge", headers=world.auth("clinic"))
    assert "path.alert_id" in _fields(_problem(resp, 422))


def test_malformed_json_is_400(client: TestClient, world: World) -> None:
    resp = client.post(
        "/admin/principals",
        content=b'{"role": "insurer", ',
        headers={**world.auth("admin"), "content-type": "application/json"},
    )
    _problem(resp, 400)


def test_csv_upload_errors_name_row_field_and_line(client: TestClient, world: World) -> None:
    csv_body = (
        "claim_id,member_id,admitted_on,amount_yuan\nk1,m1,2026-02-01,10\nk2,m1,2026-02-30,5\n"
    )
    resp = client.post(
        "/insurer/claims",
        content=csv_body.encode(),
        headers={**world.auth("insurer"), "content-type": "text/csv"},
    )
    problem = _problem(resp, 422)
    assert _fields(problem) == {"rows[1].admitted_on"}
    assert problem["errors"][0]["message"].startswith("line 3:")


def test_unsupported_upload_type_is_415(client: TestClient, world: World) -> None:
    resp = client.post(
        "/insurer/claims",
        content=b"<rows/>",
        headers={**world.auth("insurer"), "content-type": "application/xml"},
    )
    _problem(resp, 415)


def test_unknown_route_and_method_are_problems(client: TestClient, world: World) -> None:
    _problem(client.get("/nowhere", headers=world.auth("admin")), 404)
    _problem(client.delete("/health"), 405)


def test_duplicate_principal_name_is_409_on_name(client: TestClient, world: World) -> None:
    body = {"role": "insurer", "tenant_id": "ins1", "name": "ins1"}
    resp = client.post("/admin/principals", json=body, headers=world.auth("admin"))
    assert _fields(_problem(resp, 409)) == {"name"}


def test_oversized_body_is_413_before_parsing(
    client: TestClient, world: World, api_settings: Any
) -> None:
    big = b"x" * (api_settings.api_max_body_bytes + 1)
    # Declared length: refused up front, without credentials even being looked at.
    resp = client.post(
        "/insurer/claims",
        content=big,
        headers={**world.auth("insurer"), "content-type": "text/csv"},
    )
    _problem(resp, 413)

    # Chunked (no Content-Length): refused once the running total passes the limit.
    def chunks() -> Iterator[bytes]:
        for _ in range(api_settings.api_max_body_bytes // 4096 + 2):
            yield b"y" * 4096

    resp = client.post(
        "/insurer/claims",
        content=chunks(),
        headers={**world.auth("insurer"), "content-type": "text/csv"},
    )
    _problem(resp, 413)


def test_body_just_under_the_limit_is_parsed(client: TestClient, world: World) -> None:
    # A small chunked body passes through the limiter intact and reaches validation.
    def chunks() -> Iterator[bytes]:
        yield b"claim_id,member_id,admitted_on\n"
        yield b"k1,m1,not-a-date\n"

    resp = client.post(
        "/insurer/claims",
        content=chunks(),
        headers={**world.auth("insurer"), "content-type": "text/csv"},
    )
    assert _fields(_problem(resp, 422)) == {"rows[0].admitted_on"}


def _raising(exc: Exception) -> TestClient:
    """A bare app with only the error handlers, whose one route raises ``exc``."""
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


def test_a_domain_error_renders_as_problem_json_with_its_code_and_fields() -> None:
    """Pricing raises transport-free errors (core.errors); the API's one handler renders
    them with their suggested status, their code as the type and every offending field."""
    field: FieldError = {"field": "rows[2].member_id", "message": "unknown member"}
    resp = _raising(UnknownMembers("1 row(s) name unknown members", errors=[field])).get("/boom")
    assert resp.status_code == 422
    assert resp.headers["content-type"] == errors.PROBLEM_JSON
    assert resp.json() == {
        "type": "https://wellrate.example/problems/unknown-members",
        "title": "Unknown members",
        "status": 422,
        "detail": "1 row(s) name unknown members",
        "errors": [field],
    }
    resp = _raising(NotFound("no such quote")).get("/boom")
    assert resp.json() == {
        "type": "https://wellrate.example/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no such quote",
    }


def test_http_only_errors_keep_their_headers() -> None:
    resp = _raising(Unauthenticated()).get("/boom")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="wellrate"'
    assert resp.json()["type"] == "https://wellrate.example/problems/unauthenticated"
    resp = _raising(TooManyAttempts("locked", retry_after_s=7)).get("/boom")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
