"""Every simulated message is valid under the public format, in both payload styles.

The ingestor's own parser is the judge (tests may import any package; the simulator may not).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from device_sim import modes
from device_sim.cohort import generate_cohort
from device_sim.payloads import member_readings
from ingest.parsing import Limits, parse_message

LIMITS = Limits(256 * 1024, 600, 400)


@pytest.mark.parametrize("omh_share", [0.0, 1.0])
def test_messages_parse_without_rejections(omh_share: float) -> None:
    start = modes.history_start(3)
    members = generate_cohort(40, seed=8, start=start, omh_share=omh_share, cuffless_share=0.3)
    received = datetime.now(UTC)
    n = kinds = 0
    seen = set()
    for msg in modes.backfill_messages(members, start, 3, "wr", batch=50):
        parsed = parse_message(msg.topic, msg.payload, received, "wr", LIMITS)
        assert parsed.rejections == [], (msg.topic, parsed.rejections[:1])
        assert len(parsed.readings) == msg.readings
        assert all(r.utc_offset_min == 480 for r in parsed.readings)
        seen.add(msg.kind)
        n += msg.readings
    kinds = len(seen)
    assert kinds == 3 and n > 1000


def test_units_follow_the_device() -> None:
    start = date(2026, 3, 2)
    members = generate_cohort(400, seed=2, start=start)
    units = set()
    for m in [m for m in members if m.device("cgm")][:12]:
        for dr in member_readings(m, start, 3):
            if dr.kind == "glucose" and dr.items:
                units |= {it["u"] for it in dr.items}
                assert {it["u"] for it in dr.items} == {dr.device.unit}
    assert units


def test_history_ends_before_now() -> None:
    start = modes.history_start(2)
    m = generate_cohort(30, seed=1, start=start)
    now = datetime.now(UTC).timestamp()
    for dr in (dr for x in m for dr in member_readings(x, start, 2)):
        assert dr.t.size == 0 or dr.t.max() < now
    assert start == (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=2)
    assert dataclasses.is_dataclass(m[0])


def test_open_mhealth_mode_is_valid_under_the_official_schemas() -> None:
    """The simulator is the reference client: every data point it sends validates against
    the vendored Open mHealth data-point and body schemas (tests/conformance/vendor),
    censored LO/HI glucose included, and parses back to the same reading."""
    from device_sim.payloads import compact_to_omh
    from tests.conformance.schemas import omh_validator

    schema = {"bp": "blood-pressure-4.0", "glucose": "blood-glucose-4.0",
              "activity": "step-count-3.0"}  # fmt: skip
    start = modes.history_start(2)
    members = generate_cohort(12, seed=3, start=start, omh_share=1.0, cuffless_share=0.3)
    # Censored readings are rare in a cohort: each unit's LO and HI is added explicitly.
    extra = [
        ("glucose", {"t": "2026-06-01T07:45:00+08:00", "v": v, "u": u, "m": m})
        for v in ("LO", "HI")
        for u in ("mg/dL", "mmol/L")
        for m in ("cgm", "smbg")
    ]
    streams = [(dev.kind, item) for m in members for dev in member_readings(m, start, 2)
               for item in dev.items]  # fmt: skip
    censored = checked = 0
    kinds = set()
    for kind, item in [*streams, *extra]:
        point = compact_to_omh(kind, item, "dev-1")  # type: ignore[arg-type]
        assert list(omh_validator("data-point-1.0").iter_errors(point)) == []
        assert list(omh_validator("header-1.2").iter_errors(point["header"])) == []
        errors = list(omh_validator(schema[kind]).iter_errors(point["body"]))
        assert errors == [], (item, errors[0].message)
        censored += point["body"].get("censored") is not None
        kinds.add(kind)
        checked += 1
    assert checked > 400 and censored >= len(extra) and kinds == set(schema)
    # A censored reading keeps its meaning through ingest.
    low = {"t": "2026-06-01T07:45:00+08:00", "v": "LO", "u": "mg/dL", "m": "cgm"}
    payload = json.dumps(compact_to_omh("glucose", low, "dev-1")).encode()
    parsed = parse_message("wr/dev-1/glucose", payload,
                           datetime(2026, 6, 1, 0, 0, tzinfo=UTC), "wr", LIMITS)  # fmt: skip
    (reading,) = parsed.readings
    assert (reading.value, reading.censored, reading.method) == (None, "LO", "cgm")  # type: ignore[union-attr]
