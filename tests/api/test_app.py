"""Application lifecycle (serving freezes the collector's start-up objects, tests do not)
and the headers every response carries."""

from __future__ import annotations

import base64
import gc
from typing import Any

import pytest
from fastapi.testclient import TestClient

import api.app as app_module
from api.app import create_app
from core.settings import Settings
from tests.api.conftest import CLINIC_A_PASSWORD, World


def test_a_served_app_freezes_start_up_objects_until_shutdown(api_settings: Settings) -> None:
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(api_settings, freeze_gc=True)) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() > 0  # the routes, schemas and pool are frozen
    assert gc.get_freeze_count() == 0  # and released at shutdown


def test_an_app_built_for_tests_leaves_the_collector_alone(api_settings: Settings) -> None:
    with TestClient(create_app(api_settings)) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0


def test_the_multi_worker_factory_serves_with_the_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(app_module, "create_app", lambda s, **kw: calls.append(kw))
    app_module.app_from_env()
    assert calls == [{"freeze_gc": True}]


def test_sign_in_and_health_data_are_never_cached_and_json_is_not_sniffed(
    client: TestClient, world: World
) -> None:
    """Finding 13: no Cache-Control on the sign-in response or on health data, and no
    X-Content-Type-Options on JSON."""
    basic = base64.b64encode(f"clinic-a:{CLINIC_A_PASSWORD}".encode()).decode()
    responses = [
        client.post("/auth/sessions", headers={"Authorization": f"Basic {basic}"}),
        client.get("/clinic/patients/m1", headers=world.auth("clinic")),
        client.get("/clinic/patients/m1/observations.csv", headers=world.auth("clinic")),
        client.get("/member/me/score", headers=world.auth("member")),
        client.get("/insurer/members/m1/score", headers=world.auth("insurer")),
        client.get("/clinic/patients/m2", headers=world.auth("clinic")),  # a 404 problem
        client.post("/auth/sessions", headers={"Authorization": "Basic eDp5"}),  # a 401
    ]
    for resp in responses:
        assert resp.headers["cache-control"] == "no-store", (resp.url, resp.headers)
        assert resp.headers["x-content-type-options"] == "nosniff", resp.url
    # The dashboard's static files keep their own policy (revalidate, no personal data).
    page = client.get("/dashboard/")
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_docs_are_served_without_any_outside_address(client: TestClient) -> None:
    """Clinics run in closed networks: /docs and everything it loads come from this
    process (Swagger UI loaded from a CDN was a blank page offline)."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs-assets/") for a in assets), assets
    assert "://" not in page.text.replace("http://www.w3.org", "")
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200 and len(got.content) > 100, asset
    assert client.get("/redoc").status_code == 404  # no offline copy of ReDoc: not served
