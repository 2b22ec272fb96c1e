"""Activity readings: the interval and cadence bounds at their edges, and no fast path."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.kinds import activity
from ingest.kinds.common import Reject
from ingest.readings import FAST_PATHS
from tests.ingest.test_parsing import LIMITS, NOW

START = "2026-05-31T08:00:00+08:00"  # a day before NOW: whole-day intervals have ended


def _compact(**item: Any) -> activity.ActivityReading:
    return activity.compact({"t": START, **item}, "", "dev-1", NOW, LIMITS)


def test_cadence_and_interval_bounds_are_inclusive() -> None:
    assert _compact(dur=60, steps=activity.MAX_STEPS_PER_MIN).steps == 300
    assert _compact(dur=activity.MAX_ACTIVITY_INTERVAL_S, steps=0).duration_s == 86_400
    assert _compact(dur=60, steps=10, hr=250).heart_rate == 250


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"dur": 60, "steps": 301}, "/steps"),
        ({"dur": 86_401, "steps": 0}, "/dur"),
        ({"dur": 0, "steps": 0}, "/dur"),
        ({"dur": 60, "steps": 10, "active_min": 2}, "/active_min"),
        ({"dur": 60, "steps": 10, "hr": 251}, "/hr"),
    ],
)
def test_beyond_the_bounds_is_implausible(item: dict[str, Any], field: str) -> None:
    with pytest.raises(Reject) as rej:
        _compact(**item)
    assert (rej.value.reason, rej.value.field) == ("implausible_value", field)


def test_activity_has_no_fast_path() -> None:
    assert FAST_PATHS["activity"] is None
