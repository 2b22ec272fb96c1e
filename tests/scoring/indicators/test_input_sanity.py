"""Public indicator functions never trust their input's order or values.

The reference forms sort and drop NaN themselves; the columnar forms refuse rows that are not
sorted by (member, time) and drop NaN like the reference. Shuffled, duplicated and NaN-laced
input gives the numbers of the clean input, or a refusal: never a sane-looking wrong number.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.indicators.bp import home_bp, home_bp_table
from scoring.indicators.cgm import cgm_indicators, cgm_many
from tests.scoring.indicators.books import same

DAY = 86_400
W = {"window_start_s": 0, "window_end_s": 14 * DAY}


def _cgm(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(14 * 288, dtype=np.int64) * 300
    keep = rng.random(t.size) < 0.9
    t = t[keep]
    v = rng.normal(130, 40, t.size).clip(40, 400)
    return t, v, np.zeros(t.size, bool)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), dup=st.integers(0, 50), nans=st.integers(0, 50))
def test_cgm_shuffled_duplicated_and_nan_input(seed: int, dup: int, nans: int) -> None:
    t, v, m = _cgm(seed)
    clean = cgm_indicators(t, v, m, **W)
    rng = np.random.default_rng(seed + 1)
    # Duplicates of existing readings (same time, same value: the average is unchanged) and
    # NaN readings at new times, then everything shuffled.
    d = rng.integers(0, t.size, dup)
    extra_t = rng.integers(0, 14 * DAY, nans) * 1 + 7  # off the 5-minute grid
    tt = np.concatenate([t, t[d], extra_t])
    vv = np.concatenate([v, v[d], np.full(nans, np.nan)])
    mm = np.zeros(tt.size, bool)
    order = rng.permutation(tt.size)
    same(cgm_indicators(tt[order], vv[order], mm[order], **W), clean)
    s = np.argsort(tt, kind="stable")
    got = cgm_many(np.zeros(tt.size, np.int32), tt[s], vv[s], mm[s], np.array([0]),
                   np.array([14 * DAY]))[0]  # fmt: skip
    same(got, clean)
    if tt.size > 1 and not (np.diff(tt[order]) >= 0).all():
        with pytest.raises(ValueError, match="sorted"):
            cgm_many(np.zeros(tt.size, np.int32), tt[order], vv[order], mm[order],
                     np.array([0]), np.array([14 * DAY]))  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), nans=st.integers(0, 10))
def test_home_bp_shuffled_and_nan_input(seed: int, nans: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.array([d * DAY + h * 3600 for d in range(10) for h in (7, 19)], dtype=np.int64)
    s = rng.integers(110, 170, t.size).astype(float)
    d = rng.integers(65, 100, t.size).astype(float)
    off = np.zeros(t.size, np.int16)
    clean = home_bp(t, off, s, d, target=(135, 85))
    tt = np.concatenate([t, rng.integers(0, 10, nans) * DAY + 12 * 3600])
    ss = np.concatenate([s, np.full(nans, np.nan)])
    dd = np.concatenate([d, np.full(nans, 80.0)])
    oo = np.zeros(tt.size, np.int16)
    order = rng.permutation(tt.size)
    same(home_bp(tt[order], oo[order], ss[order], dd[order], target=(135, 85)), clean)
    srt = np.argsort(tt, kind="stable")
    docs, _ = home_bp_table(np.zeros(tt.size, np.int32), tt[srt], oo[srt], ss[srt], dd[srt],
                            np.array([[135.0, 85.0]]))  # fmt: skip
    same(docs[0], clean)
    if not (np.diff(tt[order]) >= 0).all():
        with pytest.raises(ValueError, match="sorted"):
            home_bp_table(np.zeros(tt.size, np.int32), tt[order], oo[order], ss[order],
                          dd[order], np.array([[135.0, 85.0]]))  # fmt: skip
