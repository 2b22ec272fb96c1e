"""Every simulated message is valid under the public format, in both payload styles.

The ingestor's own parser is the judge (tests may import any package; the simulator may not).
"""

from __future__ import annotations

import dataclasses
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
