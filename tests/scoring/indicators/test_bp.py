"""Home BP: the docs/clinical.md test vector, the home protocol, and the columnar path."""

from __future__ import annotations

import doctest

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.indicators import bp
from scoring.indicators.bp import BP_KEYS, home_bp, home_bp_table
from tests.scoring.indicators.books import bp_book, columns_hold_the_dicts, same


def test_arv_sd_cv_test_vector() -> None:
    v = bp.variability([132, 128, 141, 136, 125, 138, 130])
    assert v.arv == pytest.approx(9.0)
    assert v.sd == pytest.approx(5.728, abs=5e-4)
    assert v.cv == pytest.approx(4.31, abs=5e-3)


def test_single_reading_is_insufficient() -> None:
    assert bp.variability([]) == bp.Variability(None, None, None)
    assert bp.variability([140]) == bp.Variability(None, None, None)


series = st.lists(st.floats(min_value=60, max_value=250), min_size=2, max_size=50)


@given(series)
def test_arv_nonnegative(xs: list[float]) -> None:
    v = bp.variability(xs)
    assert v.arv is not None and v.arv >= 0


@given(series, st.floats(min_value=0.1, max_value=10))
def test_cv_scale_free(xs: list[float], k: float) -> None:
    a, b = bp.variability(xs), bp.variability(np.asarray(xs) * k)
    assert a.cv is not None and b.cv is not None
    assert b.cv == pytest.approx(a.cv, rel=1e-9, abs=1e-9)


def test_doctests() -> None:
    result = doctest.testmod(bp)
    assert result.attempted > 0 and result.failed == 0


# --- home protocol (one member) ---------------------------------------------------------

DAY = 86_400


def _series(
    days: int, hours: tuple[int, ...], sys_: list[float], off_min: int = 0
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int16], npt.NDArray[np.float64]]:
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
    assert isinstance(utc["protocol_days"], int) and utc["protocol_days"] < 8


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


# --- many members at once ----------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 12))
def test_home_bp_table_equals_the_reference(seed: int, members: int) -> None:
    b = bp_book(seed, members)
    rng = np.random.default_rng(seed + 1)
    targets = np.array([[135.0, 85.0], [130.0, 80.0], [145.0, 85.0]])[rng.integers(0, 3, members)]
    many, _ = home_bp_table(b["idx"], b["t"], b["off"], b["sys"], b["dia"], targets)
    # Cut into blocks of members (as whole chunks are), the answer is the same.
    cut, cols = home_bp_table(
        b["idx"], b["t"], b["off"], b["sys"], b["dia"], targets, block_rows=37
    )
    assert cut == many
    assert all(list(d) == list(BP_KEYS) for d in many)  # the stored contract's key order
    columns_hold_the_dicts(cols, many)
    for k in range(members):
        sel = b["idx"] == k
        ref = home_bp(
            b["t"][sel], b["off"][sel], b["sys"][sel], b["dia"][sel],
            target=(targets[k, 0], targets[k, 1]),
        )  # fmt: skip
        same(many[k], ref)


def test_home_bp_table_of_an_empty_chunk() -> None:
    e = np.zeros(0, dtype=np.int64)
    out, _ = home_bp_table(
        e.astype(np.int32), e, e.astype(np.int16), e.astype(float), e.astype(float),
        np.array([[135.0, 85.0]]),
    )  # fmt: skip
    assert out[0]["n_readings"] == 0 and out[0]["sufficient"] is False


def _both(t: np.ndarray, off: np.ndarray, s: np.ndarray, d: np.ndarray) -> list[dict[str, object]]:
    """The reference on the input as given and the columnar form on it sorted."""
    ref = home_bp(t, off, s, d, target=(135, 85))
    order = np.argsort(t, kind="stable")
    docs, _ = home_bp_table(
        np.zeros(t.size, np.int32), t[order], off[order], s[order], d[order],
        np.array([[135.0, 85.0]]),
    )  # fmt: skip
    return [ref, docs[0]]


def test_morning_hypertension_is_flagged_when_the_pooled_mean_is_under_target() -> None:
    """Mornings at 142/84, evenings at 120/76: pooled 131/80 is under 135/85, the morning
    mean is not (Chinese HBPM guideline: report morning and evening apart)."""
    t, off, s = _series(8, (7, 19), [142.0, 120.0])
    d = np.tile([84.0, 76.0], 8)
    for r in _both(t, off, s, d):
        assert r["controlled"] is True and r["home_mean_sys"] == 131.0
        assert (r["morning_mean_sys"], r["evening_mean_sys"]) == (142.0, 120.0)
        assert r["morning_above_target"] is True


def test_a_pair_one_minute_apart_is_one_measurement() -> None:
    """Each morning a pair (150 then 130, one minute apart) and one evening reading at 130:
    the sitting's mean 140 weighs as much as the evening's 130, so the mean is 135 (not
    136.7 with the pair counted twice) and 16 measurements are reported, not 24."""
    t, _off, s = _series(8, (7, 19), [150.0, 130.0])
    t2 = np.concatenate([t, t[::2] + 60])
    s2 = np.concatenate([s, np.full(8, 130.0)])
    for r in _both(t2, np.zeros(t2.size, np.int16), s2, np.full(t2.size, 80.0)):
        assert r["n_readings"] == 16 and r["home_mean_sys"] == 135.0


def test_unsorted_and_nan_input_is_repaired_or_refused() -> None:
    """The review: unsorted timestamps gave an ARV of 3.33 instead of 10.0; all-NaN input
    reported "sufficient"."""
    t, off, s = _series(8, (7, 19), [130.0, 140.0])
    shuffled = np.random.default_rng(1).permutation(t.size)
    r = home_bp(t[shuffled], off[shuffled], s[shuffled], np.full(t.size, 80.0), target=(135, 85))
    assert r["arv_sys"] == 10.0
    nan = home_bp(t, off, np.full(t.size, np.nan), np.full(t.size, np.nan), target=(135, 85))
    assert nan["sufficient"] is False and nan["n_readings"] == 0
