"""The API works as the least-privilege ``wellrate_api`` role (migration 0055).

Production never runs the API as the migration owner or a superuser, so every operation
of the role matrix (tests/api/test_matrix.py) is called here, by a role allowed to call it,
on an app whose database login is only a member of ``wellrate_api``: a missing grant
would surface as a 500. The world is arranged as the test superuser, as ever.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from tests.api.conftest import CLINIC_A_PASSWORD, World
from tests.api.test_matrix import ENDPOINTS
from tests.roles import login_as


@pytest.fixture
def api_role_client(api_settings: Settings, db_url: str) -> Iterator[TestClient]:
    with login_as(db_url, "wellrate_api") as url:
        settings = api_settings.model_copy(update={"database_url": url})
        with TestClient(create_app(settings), raise_server_exceptions=False) as c:
            yield c


@pytest.mark.parametrize(
    ("method", "path", "body", "role"),
    [(m, p, b, sorted(allowed)[0]) for m, _t, p, b, allowed in ENDPOINTS if allowed],
    ids=[f"{m} {t}" for m, t, _p, _b, allowed in ENDPOINTS if allowed],
)
def test_every_operation_runs_as_the_api_role(
    api_role_client: TestClient, world: World, method: str, path: str, body: Any, role: str
) -> None:
    resp = api_role_client.request(method, path, json=body, headers=world.auth(role))
    assert resp.status_code < 500, (resp.status_code, resp.text)


def test_sign_in_and_audit_run_as_the_api_role(api_role_client: TestClient, world: World) -> None:
    basic = base64.b64encode(f"clinic-a:{CLINIC_A_PASSWORD}".encode()).decode()
    resp = api_role_client.post("/auth/sessions", headers={"Authorization": f"Basic {basic}"})
    assert resp.status_code < 300, resp.text
    wrong = base64.b64encode(b"clinic-a:wrong").decode()
    resp = api_role_client.post("/auth/sessions", headers={"Authorization": f"Basic {wrong}"})
    assert resp.status_code == 401
    resp = api_role_client.get("/clinic/patients/m1", headers=world.auth("clinic"))
    assert resp.status_code == 200
    resp = api_role_client.get("/clinic/patients/m2", headers=world.auth("clinic"))
    assert resp.status_code in (403, 404)  # refused, and audited after the rollback
