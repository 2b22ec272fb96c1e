"""The AGP report's daily profiles: local days, 15-minute bin means, censored readings,
duplicates."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from scoring.indicators.cgm import daily_profiles


def _profiles(rows: list[tuple[datetime, float, bool, int]]) -> list[dict[str, Any]]:
    t = np.array([int(r[0].timestamp()) for r in rows], dtype=np.int64)
    v = np.array([r[1] for r in rows], dtype=np.float64)
    mmol = np.array([r[2] for r in rows], dtype=np.bool_)
    off = np.array([r[3] for r in rows], dtype=np.int16)
    return daily_profiles(t, v, mmol, off)


ROWS = [
    # Beijing (+08:00): 00:00 UTC is 08:00 local on the same day.
    (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), 100.0, False, 480),
    (datetime(2026, 11, 30, 0, 5, tzinfo=UTC), 120.0, False, 480),  # same 08:00 bin
    (datetime(2026, 11, 30, 1, 0, tzinfo=UTC), 5.0, True, 480),  # 09:00, mmol/L
    (datetime(2026, 11, 30, 2, 0, tzinfo=UTC), -math.inf, False, 480),  # LO at 10:00
    # 23:30 UTC on 30 Nov is 07:30 on 1 Dec in Beijing.
    (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), 150.0, False, 480),
]


def test_bins_are_local_15_minute_means_per_day() -> None:
    days = _profiles(ROWS)
    assert [d["day"] for d in days] == [date(2026, 11, 30), date(2026, 12, 1)]
    first = dict(zip(days[0]["minute_of_day"], days[0]["mgdl"], strict=True))
    assert first == {480: 110.0, 540: 90.1, 600: 40.0}  # 5.0 mmol/L x 18.016; LO at 40
    assert days[1]["minute_of_day"] == [450] and days[1]["mgdl"] == [150.0]


def test_order_does_not_matter_and_only_the_last_14_days_are_kept() -> None:
    shuffled = [ROWS[i] for i in (4, 2, 0, 3, 1)]
    assert _profiles(shuffled) == _profiles(ROWS)
    many = [(datetime(2026, 11, d, 4, tzinfo=UTC), 100.0 + d, False, 0) for d in range(1, 21)]
    days = _profiles(many)
    assert len(days) == 14 and days[0]["day"] == date(2026, 11, 7)
    assert days[-1]["mgdl"] == [120.0]
    assert _profiles([]) == []


def test_a_duplicated_reading_counts_once_as_in_the_agp() -> None:
    twice = [ROWS[0], ROWS[0], ROWS[1]]  # the 100 mg/dL reading stored twice
    assert _profiles(twice)[0]["mgdl"] == [110.0]  # not (100 + 100 + 120) / 3


def test_bins_must_divide_a_day() -> None:
    t = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="divide a day"):
        daily_profiles(t, np.ones(1), np.zeros(1, bool), np.zeros(1, np.int16), bin_minutes=7)
