"""``/metrics``: counts and latency by route template and status; no ids in labels; guarded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.app import create_app
from core.settings import Settings
from tests.api.conftest import World

TOKEN = "metrics-scrape-token-for-tests"


@pytest.fixture
def scraped(api_settings: Settings) -> Iterator[TestClient]:
    s = api_settings.model_copy(update={"api_metrics_token": SecretStr(TOKEN)})
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        yield c


def _samples(c: TestClient) -> list[tuple[str, dict[str, str], float]]:
    r = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return [
        (s.name, s.labels, s.value)
        for fam in text_string_to_metric_families(r.text)
        for s in fam.samples
    ]


def test_requests_are_counted_by_route_template_without_ids(
    scraped: TestClient, world: World
) -> None:
    assert scraped.get("/clinic/patients/m1", headers=world.auth("clinic")).status_code == 200
    assert (
        scraped.get("/clinic/patients/m2", headers=world.auth("clinic")).status_code == 404
    )  # not theirs
    assert scraped.get("/clinic/patients/m1").status_code == 401
    assert scraped.get("/no/such/path/m1").status_code == 404
    samples = _samples(scraped)
    counts = {
        (lab["route"], lab["status"]): v
        for name, lab, v in samples
        if name == "wellrate_api_requests_total"
    }
    assert counts[("/clinic/patients/{member_id}", "200")] == 1
    assert counts[("/clinic/patients/{member_id}", "404")] == 1
    assert counts[("/clinic/patients/{member_id}", "401")] == 1
    assert counts[("unmatched", "404")] == 1
    latency = [
        v
        for name, lab, v in samples
        if name == "wellrate_api_request_seconds_count"
        and lab["route"] == "/clinic/patients/{member_id}"
    ]
    assert latency == [3]
    every_label = {v for _, lab, _ in samples for v in lab.values()}
    assert not any("m1" in v or "m2" in v for v in every_label)


def test_metrics_need_the_token(scraped: TestClient, world: World) -> None:
    assert scraped.get("/metrics").status_code == 403
    assert scraped.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    # A user's API token is not the monitoring token.
    assert scraped.get("/metrics", headers=world.auth("admin")).status_code == 403
    r = scraped.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200


def test_without_a_token_only_loopback_clients(api_settings: Settings) -> None:
    app = create_app(api_settings)
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/metrics").status_code == 403
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        r = local.get("/metrics")
        assert r.status_code == 200
        assert "wellrate_api_requests_total" in r.text


def test_metrics_route_is_not_in_the_openapi_document(scraped: TestClient) -> None:
    assert "/metrics" not in scraped.get("/openapi.json").json()["paths"]
