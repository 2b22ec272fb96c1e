"""Schemathesis against the app's own OpenAPI document, on the real test database.

Every operation gets a handful of generated requests (``MAX_EXAMPLES``), sent with the
token of the role that operation is for (admin for the rest), so the generated data gets
past authentication into the validation and the service code. Checks: no 5xx, and every
response conforms to what the document says (schema of documented responses, content type,
headers). The test world is the API tests' (two clinics, three members, readings, scores).
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext, CheckFunction, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from api import errors
from api.app import create_app
from core.settings import Settings
from tests.api.conftest import World
from tests.conftest import make_settings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

MAX_EXAMPLES = 12


@schemathesis.check
def conforms(ctx: CheckContext, response: Response, case: schemathesis.Case[Any]) -> bool | None:
    """Every response, errors included, matches its documented schema, content type, headers.

    Errors are documented as problem+json (``api.errors.install_openapi``: 422, 4XX, 5XX).
    """
    for check in (response_schema_conformance, content_type_conformance,
                  response_headers_conformance):  # fmt: skip
        check(ctx, response, case)
    return None


@schemathesis.check
def errors_are_problems(
    ctx: CheckContext, response: Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Every error is RFC 9457 problem+json with the status it was sent with (api/errors.py)."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    assert response.headers.get("content-type", [""])[0].startswith("application/problem+json"), (
        response.headers
    )
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == response.status_code, body
    return None


CHECKS: list[CheckFunction] = [not_a_server_error, conforms, errors_are_problems]


# The document is static: build it from an app that never starts (no database touched).
schema = schemathesis.openapi.from_dict(create_app(make_settings(None)).openapi())


@pytest.fixture
def client(api_settings: Settings, world: World) -> Iterator[TestClient]:
    """The app on the test database, its lifespan run (pool open)."""
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as c:
        yield c


def _role(path: str) -> str:
    for prefix in ("insurer", "clinic", "member"):
        if path.startswith(f"/{prefix}"):
            return prefix
    return "admin"


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case[Any], client: TestClient, world: World
) -> None:
    kwargs = case.as_transport_kwargs(base_url="", headers=world.auth(_role(case.path)))
    if isinstance(kwargs.get("data"), bytes | str):  # raw bodies: httpx wants content=
        kwargs["content"] = kwargs.pop("data")
    cookies = kwargs.pop("cookies", None) or {}
    if cookies:  # httpx deprecates per-request cookies; send them as the header they are
        kwargs["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    response = client.request(**kwargs)
    case.validate_response(response, checks=CHECKS)


def test_error_responses_are_documented_as_problem_json() -> None:
    """Was FastAPI's default 422 application/json HTTPValidationError (schemathesis ST105)."""
    doc = create_app(make_settings(None)).openapi()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, resp in op.get("responses", {}).items():
                if status.startswith("4"):
                    assert "application/problem+json" in resp.get("content", {}), (
                        method, path, status)  # fmt: skip


def test_member_with_an_empty_clinic_id_is_422_not_500(client: TestClient, world: World) -> None:
    """Found by schemathesis: '' skipped the clinic check and hit the foreign key (500)."""
    body = {"clinic_id": "", "birth_date": "2000-01-01", "sex": "F", "conditions": []}
    r = client.put("/admin/members/m-new", json=body, headers=world.auth("admin"))
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "clinic_id", "message": "no such clinic"}]


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "field"),
    [
        ("PUT", "/admin/clinics/c9", {"name": "a\u0000b"}, "admin", "name"),
        ("POST", "/insurer/quotes", {"member_id": "m\u00001"}, "insurer", "member_id"),
        (
            "PUT",
            "/admin/members/m9",
            {"birth_date": "1950-01-01", "sex": "M", "conditions": ["t2d", "x\u0000"]},
            "admin",
            "conditions[1]",
        ),
        (
            "POST",
            "/insurer/what-if",
            {"member_id": "m1", "what_if": {"cgm.\u0000": 1}},
            "insurer",
            "what_if.cgm.\\u0000",
        ),
        (
            "POST",
            "/insurer/claims",
            {"rows": [{"claim_id": "k1"}, {"claim_id": "k\u0000"}]},
            "insurer",
            "rows[1].claim_id",
        ),
        ("GET", "/insurer/members/m%001/score", None, "insurer", "path.member_id"),
        ("GET", "/clinic/patients?status=a%00", None, "clinic", "query.status"),
    ],
    ids=[
        "admin-clinic-name",
        "insurer-quote-member",
        "nested-list",
        "dict-key",
        "json-upload",
        "path-param",
        "query-param",
    ],
)
def test_nul_in_a_string_is_422_naming_the_field(
    client: TestClient, world: World, method: str, path: str, body: Any, who: str, field: str
) -> None:
    """Found by schemathesis: NUL reached psycopg (DataError: text cannot hold NUL) -> 500."""
    r = client.request(method, path, json=body, headers=world.auth(who))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [
        {"field": field, "message": "must not contain the NUL character (\\u0000)"}
    ]


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: TestClient, world: World) -> None:
    """The raw-body prefilter looks for the text ``\\u0000``; ``"\\\\u0000"`` is no NUL."""
    r = client.put("/admin/clinics/c9", json={"name": "a\\u0000b"}, headers=world.auth("admin"))
    assert r.status_code == 204, r.text


@pytest.mark.parametrize(
    ("headers", "path", "field"),
    [
        (
            {"Authorization": "Basic " + base64.b64encode(b"clinic-a\x00:pw").decode()},
            "/auth/sessions",
            "header.authorization",
        ),
        ({"Authorization": "Bearer wr_a\x00b_c"}, "/auth/sessions", "header.authorization"),
        ({"X-Trace": "a\x00"}, "/auth/sessions", "header.x-trace"),
    ],
    ids=["basic-name", "bearer-token", "other-header"],
)
def test_nul_in_a_header_is_422(
    client: TestClient, headers: dict[str, str], path: str, field: str
) -> None:
    """Was 500: the Basic name is base64, so it reached the sign-in query decoded, NUL and all.

    (uvicorn refuses a raw NUL in a header line; the test client does not, so the other two
    cases are the backstop for servers that let one through.)
    """
    r = client.post(path, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


def test_a_nul_data_error_is_422_and_any_other_data_error_stays_a_500() -> None:
    """The backstop in api.errors: only psycopg's NUL refusal becomes a 4xx; bugs stay 500s."""
    app = FastAPI()
    errors.install(app)

    @app.get("/nul")
    def nul() -> None:
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    @app.get("/bug")
    def bug() -> None:
        raise psycopg.errors.DivisionByZero("division by zero")

    with TestClient(app, raise_server_exceptions=False) as c:
        nul_r, bug_r = c.get("/nul"), c.get("/bug")
    assert nul_r.status_code == 422, nul_r.text
    assert nul_r.headers["content-type"].startswith("application/problem+json")
    assert bug_r.status_code == 500, bug_r.text
