"""The grouped reductions the columnar indicator paths are built on."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.indicators.grouped import medians, sorted_within


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["whole", "negative", "fractional"]),
    members=st.integers(1, 6),
)
def test_sorted_within_equals_a_lexsort(seed: int, kind: str, members: int) -> None:
    """The float-key sort orders within members exactly; other values take the lexsort."""
    rng = np.random.default_rng(seed)
    member = np.sort(rng.integers(0, members, 40)).astype(np.int64)
    x = rng.integers(0, 20_000, member.size).astype(np.float64)
    if kind == "negative":  # UTC offsets west of Greenwich: still an exact key
        x -= 10_000
    elif kind == "fractional":  # not an exact key: the lexsort
        x = x / 7.0 - 100.0
    want = x[np.lexsort((x, member))]
    assert np.array_equal(sorted_within(member, x), want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 8), common=st.floats(0.0, 1.0))
def test_medians_equal_numpy_per_member(seed: int, members: int, common: float) -> None:
    """The common-value shortcut and the sort give np.median for every member."""
    rng = np.random.default_rng(seed)
    member = np.sort(rng.integers(0, members, int(rng.integers(0, 60)))).astype(np.int64)
    x = np.where(rng.random(member.size) < common, 300.0, rng.integers(60, 900, member.size))
    got = medians(member, x, members)
    for k in range(members):
        mine = x[member == k]
        if mine.size:
            assert got[k] == np.median(mine)
        else:
            assert np.isnan(got[k])
