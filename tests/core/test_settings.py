"""Production refuses placeholder secrets; development keeps its defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="WELLRATE_SECRET_KEY"):
        Settings(environment="production")
    good = "k" * 40
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        Settings(environment="production", secret_key=good, api_metrics_token="changeme")
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        Settings(environment="production", secret_key=good, api_metrics_token="short")
    ok = Settings(environment="production", secret_key=good, api_metrics_token="t" * 32)
    assert ok.api_metrics_token is not None
    assert Settings(environment="production", secret_key=good).api_metrics_token is None
    assert Settings(environment="development", api_metrics_token="changeme").environment
