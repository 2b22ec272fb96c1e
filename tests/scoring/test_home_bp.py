"""Home BP protocol: morning/evening in local time, first day discarded, strict targets."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.config import BpTargets
from scoring.indicators.bp import home_bp

DAY = 86_400


def _series(days: int, hours: tuple[int, ...], sys_: list[float], off_min: int = 0):
    t = np.array(
        [d * DAY + h * 3600 - off_min * 60 for d in range(days) for h in hours], dtype=np.int64
    )
    s = np.array(sys_ if len(sys_) == t.size else sys_ * (t.size // len(sys_)), dtype=np.float64)
    return t, np.full(t.size, off_min, dtype=np.int16), s


def test_first_protocol_day_is_discarded_and_means_are_exact() -> None:
    # Day 0 is high (novelty), days 1-7 at 130/80 morning and 134/84 evening.
    t, off, s = _series(8, (7, 19), [130.0, 134.0])
    s[:2] = [170.0, 170.0]
    d = np.where(s == 170.0, 100.0, np.where(s == 130.0, 80.0, 84.0))
    r = home_bp(t, off, s, d, target=(135, 85))
    assert r["home_mean_sys"] == pytest.approx(132.0)
    assert r["home_mean_dia"] == pytest.approx(82.0)
    assert r["controlled"] is True and r["sufficient"] is True
    assert r["protocol_days"] == 8 and r["valid_days"] == 8


def test_target_is_strict_mean_equal_to_target_is_not_controlled() -> None:
    t, off, s = _series(8, (7, 19), [135.0])
    r = home_bp(t, off, s, np.full(t.size, 80.0), target=(135, 85))
    assert r["home_mean_sys"] == 135.0
    assert r["controlled"] is False
    assert r["pct_in_target"] == 0.0  # 135 is not < 135


def test_midday_readings_do_not_make_a_protocol_day_or_enter_the_mean() -> None:
    t, off, s = _series(8, (7, 13, 19), [130.0, 180.0, 130.0])
    r = home_bp(t, off, s, np.full(t.size, 80.0), target=(135, 85))
    assert r["home_mean_sys"] == 130.0  # 13:00 readings excluded from the protocol mean
    assert r["severe_count"] == 8  # but still counted as grade 3
    assert r["pct_in_target"] == pytest.approx(100 * 16 / 24)


def test_morning_is_the_members_local_morning() -> None:
    # 07:00 and 19:00 at UTC+08:00 are 23:00 and 11:00 UTC: only local time makes them a pair.
    t, off, s = _series(8, (7, 19), [128.0], off_min=480)
    r = home_bp(t, off, s, np.full(t.size, 80.0), target=(135, 85))
    assert r["protocol_days"] == 8
    utc = home_bp(t, np.zeros(t.size, dtype=np.int16), s, np.full(t.size, 80.0), target=(135, 85))
    assert utc["protocol_days"] < 8


def test_too_few_protocol_days_is_insufficient_not_a_number() -> None:
    t, off, s = _series(6, (7, 19), [120.0])
    r = home_bp(t, off, s, np.full(t.size, 70.0), target=(135, 85))
    assert r["sufficient"] is False
    assert r["home_mean_sys"] is None and r["controlled"] is None and r["sd_sys"] is None
    assert r["protocol_days"] == 6
    empty = home_bp(t[:0], off[:0], s[:0], s[:0], target=(135, 85))
    assert empty["n_readings"] == 0 and empty["sufficient"] is False


def test_months_controlled_counts_member_local_calendar_months() -> None:
    # 2026-01-01 is day 20454; 31 days of January controlled, then 10 days of February not.
    jan = 20454
    t = np.array([(jan + d) * DAY + h * 3600 for d in range(41) for h in (7, 19)], dtype=np.int64)
    s = np.array([125.0 if d < 31 else 150.0 for d in range(41) for _ in (7, 19)])
    r = home_bp(t, np.zeros(t.size, dtype=np.int16), s, np.full(t.size, 80.0), target=(135, 85))
    assert r["months_assessed"] == 2 and r["months_controlled"] == 1
    assert r["protocol_weeks"] == 7  # Thu 1 Jan .. Tue 10 Feb touches 7 Monday-weeks


def test_targets_depend_on_age_and_condition() -> None:
    bt = BpTargets()
    assert bt.for_member(50, ()) == (135.0, 85.0)
    assert bt.for_member(50, ("diabetes",)) == (130.0, 80.0)
    assert bt.for_member(50, ("ckd", "hypertension")) == (130.0, 80.0)
    assert bt.for_member(80, ("diabetes",)) == (145.0, 85.0)
    assert bt.for_member(79, ()) == (135.0, 85.0)
