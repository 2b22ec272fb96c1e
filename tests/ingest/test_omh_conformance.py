"""The official Open mHealth schemas and sample data (vendored in tests/conformance/vendor)
against the ingestor, end to end through Mosquitto and PostgreSQL.

Every valid single-measurement sample is stored with exactly its values; every valid
aggregate (a body with ``descriptive_statistic``) and every invalid sample is a dead letter
whose field names the offending part of the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from ingest.service import Ingestor
from tests.conformance.schemas import OMH_DATA, omh_validator
from tests.ingest.conftest import Publisher, count, wait_for

# (test-data folder, schema, topic kind, device key in the ``world`` fixture)
SCHEMAS = [
    ("omh/blood-glucose/4.0", "blood-glucose-4.0", "glucose", "cgm"),
    ("omh/blood-pressure/4.0", "blood-pressure-4.0", "bp", "cuff"),
    ("omh/step-count/3.0", "step-count-3.0", "activity", "tracker"),
    ("ieee/time-interval/1.0", "time-interval-1.0", None, None),
    ("ieee/time-frame/1.0", "time-frame-1.0", None, None),
    ("ieee/body-posture/1.0", "body-posture-1.0", None, None),
]
# Where the Open mHealth stand-in for an IEEE 1752.1 schema is looser than the original
# (vendor README): the OMH time-interval-1.0 allows a date with a part of day, the IEEE one
# does not. Wellrate refuses it anyway (``imprecise_time``, checked below).
STAND_IN_GAPS = {"omh/blood-pressure/4.0/shouldFail/invalid-timeframe-format.json"}


def _samples(expect: str) -> list[tuple[str, str, str | None, str | None, Path]]:
    out = []
    for folder, schema, kind, device in SCHEMAS:
        for f in sorted((OMH_DATA / folder / expect).glob("*.json")):
            out.append((f"{folder}/{expect}/{f.name}", schema, kind, device, f))
    return out


PASS, FAIL = _samples("shouldPass"), _samples("shouldFail")


@pytest.mark.parametrize(("name", "schema", "path"), [(s[0], s[1], s[4]) for s in PASS + FAIL],
                         ids=[s[0] for s in PASS + FAIL])  # fmt: skip
def test_the_vendored_schemas_judge_their_samples(name: str, schema: str, path: Path) -> None:
    """The harness itself: shouldPass validates, shouldFail does not (bar the stand-in gap)."""
    errors = list(omh_validator(schema).iter_errors(json.loads(path.read_text("utf-8"))))
    if "/shouldPass/" in name or name in STAND_IN_GAPS:
        assert errors == []
    else:
        assert errors


def _times(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [
            t
            for k, v in node.items()
            for t in ([v] if k.endswith("date_time") and isinstance(v, str) else _times(v))
        ]
    if isinstance(node, list):
        return [t for v in node for t in _times(v)]
    return []


def _shift(node: Any, delta: timedelta) -> Any:
    """The sample moved in time by ``delta`` (2013 samples are past the ingest horizon)."""
    if isinstance(node, dict):
        return {
            k: (datetime.fromisoformat(v) + delta).isoformat()
            if k.endswith("date_time") and isinstance(v, str)
            else _shift(v, delta)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_shift(v, delta) for v in node]
    return node


def _point(name: str, schema: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The sample as a data point whose newest time is ``now`` (distinct per sample, as the
    readings' natural key is the device and the time)."""
    times = [datetime.fromisoformat(t) for t in _times(body)]
    if times:
        body = _shift(body, now - max(times))
    schema_name, version = schema.rsplit("-", 1)
    return {
        "header": {
            "id": name,
            "creation_date_time": now.isoformat(),
            "schema_id": {"namespace": "omh", "name": schema_name, "version": version},
        },
        "body": body,
    }


def test_official_samples_are_stored_exactly_or_dead_lettered_with_the_field(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    start_ingestor: Callable[[Settings], Ingestor],
    conn: psycopg.Connection[Any],
) -> None:
    start_ingestor(ingest_settings)
    now = datetime.now(UTC).replace(microsecond=0)
    sent: list[tuple[str, str, dict[str, Any], bytes]] = []
    for i, (name, schema, kind, device, path) in enumerate(PASS + FAIL):
        if kind is None or device is None:
            continue
        when = now - timedelta(hours=1, minutes=i)
        point = _point(name, schema, json.loads(path.read_text("utf-8")), when)
        payload = json.dumps(point).encode()
        publisher.send(world[device], kind, payload)
        sent.append((name, kind, point["body"], payload))
    tables = ("bp_readings", "glucose_readings", "activity_readings", "dead_letters")
    wait_for(lambda: sum(count(conn, t) for t in tables) == len(sent))
    letters = {
        bytes(r[0]): (r[1], r[2])
        for r in conn.execute("SELECT payload, reason, field FROM dead_letters").fetchall()
    }
    stored = 0
    for name, kind, body, payload in sent:
        if "/shouldFail/" in name:
            reason, field = letters[payload]
            assert field and field.startswith("/body"), (name, reason, field)
            continue
        if "descriptive_statistic" in body:
            assert letters[payload] == ("aggregate_not_stored", "/body/descriptive_statistic")
            continue
        assert payload not in letters, (name, letters.get(payload))
        stored += 1
        if kind == "glucose":
            when = body["effective_time_frame"]["date_time"]
            row = conn.execute(
                "SELECT value, unit FROM glucose_readings WHERE measured_at = %s", (when,)
            ).fetchone()
            assert row == (body["blood_glucose"]["value"], body["blood_glucose"]["unit"])
        elif kind == "bp":
            when = body["effective_time_frame"]["date_time"]
            row = conn.execute(
                "SELECT systolic, diastolic FROM bp_readings WHERE measured_at = %s", (when,)
            ).fetchone()
            sys_, dia = body["systolic_blood_pressure"], body["diastolic_blood_pressure"]
            assert row == (sys_["value"], dia["value"])
        else:
            iv = body["effective_time_frame"]["time_interval"]
            start, end = (
                datetime.fromisoformat(iv[k]) for k in ("start_date_time", "end_date_time")
            )
            row = conn.execute(
                "SELECT steps, duration_s FROM activity_readings WHERE start_at = %s", (start,)
            ).fetchone()
            assert row == (body["step_count"]["value"], (end - start).total_seconds())
    assert stored == sum(count(conn, t) for t in tables[:3]) > 0
