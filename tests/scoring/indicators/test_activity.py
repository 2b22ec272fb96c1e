"""Activity: valid days by wear, WHO moderate-equivalent minutes, age step targets."""

from __future__ import annotations

import doctest

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.indicators import activity
from scoring.indicators.activity import activity_indicators, activity_table
from tests.scoring.indicators.books import JAN_2026, columns_hold_the_dicts, same

DAY = 86_400


def test_doctests() -> None:
    result = doctest.testmod(activity)
    assert result.attempted > 0 and result.failed == 0


def _hourly(
    days: int, hours: int, steps: int, act: int, vig: int, off_min: int = 480
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int16],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    t = np.array(
        [d * DAY + h * 3600 - off_min * 60 for d in range(days) for h in range(7, 7 + hours)],
        dtype=np.int64,
    )
    n = t.size
    return (
        t,
        np.full(n, off_min, dtype=np.int16),
        np.full(n, 3600, dtype=np.int64),
        np.full(n, steps, dtype=np.int64),
        np.full(n, act, dtype=np.int64),
        np.full(n, vig, dtype=np.int64),
    )


def test_hourly_records_make_valid_days_at_ten_hours_of_wear() -> None:
    r = activity_indicators(*_hourly(7, 10, 800, 3, 1), window_days=7, age=65)
    assert r["valid_days"] == 7 and r["sufficient"] is True
    assert r["median_steps"] == 8000.0
    assert r["step_target"] == 7000 and r["days_at_target"] == 7
    # 10 h x (3 active + 1 extra for the vigorous minute) = 40/day -> 280/week
    assert r["mvpa_min_per_week"] == 280.0 and r["meets_who"] is True
    assert r["active_days"] == 7
    short = activity_indicators(*_hourly(7, 9, 800, 3, 1), window_days=7, age=65)
    assert short["valid_days"] == 0 and short["sufficient"] is False
    assert short["median_steps"] is None and short["meets_who"] is None


def test_who_threshold_is_inclusive_and_vigorous_counts_double() -> None:
    # 150/week exactly: 10 h/day x (2 moderate-only minutes + 1 vigorous of 1 active...)
    t, off, dur, st, act, vig = _hourly(7, 10, 900, 2, 0)
    act[:] = 0
    act[::10] = 15  # 15 active min once a day, 6 of them vigorous -> 21 moderate-equivalent
    vig[::10] = 6
    r = activity_indicators(t, off, dur, st, act, vig, window_days=7, age=40)
    assert r["mvpa_min_per_week"] == 147.0 and r["meets_who"] is False
    vig[::10] = 7  # 22/day = 154/week
    assert activity_indicators(t, off, dur, st, act, vig, window_days=7, age=40)["meets_who"]


def test_sufficiency_needs_four_of_seven_days() -> None:
    t, off, dur, st, act, vig = _hourly(30, 10, 500, 0, 0)
    keep = t < 17 * DAY  # 17 of 30 days: 17 < 30 * 4/7 = 17.14
    args = (t[keep], off[keep], dur[keep], st[keep], act[keep], vig[keep])
    assert activity_indicators(*args, window_days=30, age=40)["sufficient"] is False
    keep = t < 18 * DAY
    args = (t[keep], off[keep], dur[keep], st[keep], act[keep], vig[keep])
    r = activity_indicators(*args, window_days=30, age=40)
    assert r["sufficient"] is True and r["valid_days"] == 18


def test_daily_summary_counts_as_a_worn_day_only_with_steps() -> None:
    t = np.arange(7, dtype=np.int64) * DAY - 480 * 60
    off = np.full(7, 480, dtype=np.int16)
    steps = np.array([0, 5000, 6000, 7000, 8000, 9000, 10000], dtype=np.int64)
    z = np.zeros(7, dtype=np.int64)
    r = activity_indicators(
        t, off, np.full(7, DAY, dtype=np.int64), steps, z, z, window_days=7, age=30
    )
    assert r["valid_days"] == 6 and r["median_steps"] == 7500.0 and r["days_at_target"] == 3


# --- many members at once ----------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 12), window=st.sampled_from([7, 30]))
def test_activity_table_equals_the_reference(seed: int, members: int, window: int) -> None:
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(members):
        n = int(rng.choice([0, 5, 40, 300]))
        daily = rng.random() < 0.3
        t = JAN_2026 * DAY + np.sort(rng.integers(0, window * DAY, n)) - 480 * 60
        dur = np.full(n, DAY if daily else 3600)
        steps = rng.integers(0, 12_000 if daily else 1_500, n)
        actm = rng.integers(0, 60, n)
        parts.append(
            (np.full(n, k, dtype=np.int32), t.astype(np.int64), np.full(n, 480, dtype=np.int16),
             dur.astype(np.int64), steps.astype(np.int64), actm.astype(np.int64),
             (actm // 3).astype(np.int64))
        )  # fmt: skip
    c = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    ages = rng.integers(30, 85, members)
    many, _ = activity_table(*c, window_days=window, ages=ages)
    cut, cols = activity_table(*c, window_days=window, ages=ages, block_rows=37)
    assert cut == many
    columns_hold_the_dicts(cols, many)
    for k in range(members):
        sel = c[0] == k
        ref = activity_indicators(
            c[1][sel], c[2][sel], c[3][sel], c[4][sel], c[5][sel], c[6][sel],
            window_days=window, age=int(ages[k]),
        )  # fmt: skip
        same(many[k], ref)


def test_activity_table_of_an_empty_chunk() -> None:
    e = np.zeros(0, dtype=np.int64)
    a, _ = activity_table(
        e.astype(np.int32), e, e.astype(np.int16), e, e, e, e, window_days=7,
        ages=np.array([40]),
    )  # fmt: skip
    assert a[0]["valid_days"] == 0 and a[0]["median_steps"] is None


def test_two_trackers_or_a_summary_beside_its_detail_are_never_summed() -> None:
    """The review: two trackers worn at once, 5,000 steps each, gave 10,000; a device's
    hourly records plus its own daily summary counted the day twice."""
    days = 7
    t, off, dur, st, act, vig = _hourly(days, 12, 5000 // 12, 2, 0)
    dev = np.zeros(t.size, np.int64)
    two = [np.concatenate([a, a]) for a in (t, off, dur, st, act, vig)]
    two_dev = np.concatenate([dev, dev + 1])
    daily_t = (np.arange(days) * DAY - 480 * 60).astype(np.int64)
    summary = [
        np.concatenate([a, b])
        for a, b in zip(
            (t, off, dur, st, act, vig),
            (daily_t, np.full(days, 480, np.int16), np.full(days, DAY), np.full(days, 4996),
             np.full(days, 24), np.zeros(days, np.int64)),
            strict=True,
        )
    ]  # fmt: skip
    one = activity_indicators(t, off, dur, st, act, vig, window_days=days, age=50)
    for cols, device in ((two, two_dev), (summary, np.zeros(summary[0].size, np.int64))):
        r = activity_indicators(*cols, window_days=days, age=50, device=device)
        order = np.argsort(cols[0], kind="stable")
        docs, _ = activity_table(
            np.zeros(order.size, np.int32), *(c[order] for c in cols),
            window_days=days, ages=np.array([50]), device=device[order],
        )  # fmt: skip
        assert r == one and docs[0]["median_steps"] == one["median_steps"] == 4992.0
