"""Application lifecycle: serving freezes the collector's start-up objects, tests do not."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from fastapi.testclient import TestClient

import api.app as app_module
from api.app import create_app
from core.settings import Settings


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
