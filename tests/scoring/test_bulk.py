"""The grouped (many-member) BP and activity paths equal the per-member reference definitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.indicators.activity import activity_indicators
from scoring.indicators.bp import home_bp
from scoring.indicators.bulk import (
    _sorted_within,
    activity_table,
    cgm_many,
    home_bp_table,
    medians,
)
from scoring.indicators.cgm import cgm_indicators

DAY = 86_400
JAN_2026 = 20454  # day number of 2026-01-01


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float) or isinstance(b[k], float):
            assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), k
        else:
            assert a[k] == b[k], k


def _columns_hold_the_dicts(cols: dict[str, np.ndarray], docs: list[dict[str, Any]]) -> None:
    """The columns the composite reads say what the stored dicts say (NaN for None)."""
    assert cols and all(c.shape == (len(docs),) for c in cols.values())
    for k, col in cols.items():
        for v, d in zip(col.tolist(), docs, strict=True):
            if d[k] is None:
                assert v != v, k  # NaN
            else:
                assert v == d[k], k  # a nullable flag is 0.0 or 1.0


def _bp_book(seed: int, members: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(members):
        n = int(rng.choice([0, 3, 20, 60, 120]))
        days = rng.integers(0, 75, n)
        hours = rng.choice([6, 7, 8, 12, 13, 18, 19, 21, 23, 2], n)
        off = np.full(n, rng.choice([480, 480, 540, -300]))
        if rng.random() < 0.3:  # a traveller: the offset changes, local days come unsorted
            off = rng.choice([480, -300, 540], n)
        t = (JAN_2026 + days) * DAY + hours * 3600 + rng.integers(0, 3600, n) - off * 60
        order = np.argsort(t, kind="stable")
        t, off = t[order], off[order]
        parts.append(
            (
                np.full(n, k, dtype=np.int32),
                t.astype(np.int64),
                off.astype(np.int16),
                rng.integers(100, 190, n).astype(np.float64),
                rng.integers(60, 115, n).astype(np.float64),
            )
        )
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return dict(zip(("idx", "t", "off", "sys", "dia"), cols, strict=True))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 12))
def test_home_bp_table_equals_the_reference(seed: int, members: int) -> None:
    b = _bp_book(seed, members)
    rng = np.random.default_rng(seed + 1)
    targets = np.array([[135.0, 85.0], [130.0, 80.0], [145.0, 85.0]])[rng.integers(0, 3, members)]
    many, _ = home_bp_table(b["idx"], b["t"], b["off"], b["sys"], b["dia"], targets)
    # Cut into blocks of members (as whole chunks are), the answer is the same.
    cut, cols = home_bp_table(
        b["idx"], b["t"], b["off"], b["sys"], b["dia"], targets, block_rows=37
    )
    assert cut == many
    _columns_hold_the_dicts(cols, many)
    for k in range(members):
        sel = b["idx"] == k
        ref = home_bp(
            b["t"][sel], b["off"][sel], b["sys"][sel], b["dia"][sel],
            target=(targets[k, 0], targets[k, 1]),
        )  # fmt: skip
        _same(many[k], ref)


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
    _columns_hold_the_dicts(cols, many)
    for k in range(members):
        sel = c[0] == k
        ref = activity_indicators(
            c[1][sel], c[2][sel], c[3][sel], c[4][sel], c[5][sel], c[6][sel],
            window_days=window, age=int(ages[k]),
        )  # fmt: skip
        _same(many[k], ref)


def test_empty_chunk() -> None:
    e = np.zeros(0, dtype=np.int64)
    out, _ = home_bp_table(
        e.astype(np.int32), e, e.astype(np.int16), e.astype(float), e.astype(float),
        np.array([[135.0, 85.0]]),
    )  # fmt: skip
    assert out[0]["n_readings"] == 0 and out[0]["sufficient"] is False
    a, _ = activity_table(
        e.astype(np.int32), e, e.astype(np.int16), e, e, e, e, window_days=7,
        ages=np.array([40]),
    )  # fmt: skip
    assert a[0]["valid_days"] == 0 and a[0]["median_steps"] is None


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
    assert np.array_equal(_sorted_within(member, x), want)


def _cgm_book(seed: int, members: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Random CGM wearers: 5- or 15-minute sensors, gaps, mixed units, LO/HI, duplicates."""
    rng = np.random.default_rng(seed)
    parts, starts, ends = [], [], []
    for k in range(members):
        days = int(rng.choice([3, 14, 15]))
        step = int(rng.choice([300, 900]))
        t0 = JAN_2026 * DAY - 480 * 60
        t = t0 + np.arange(0, days * DAY, step, dtype=np.int64)
        if rng.random() < 0.7:  # cut a few gaps of 20 minutes to 5 hours
            for _ in range(int(rng.integers(1, 6))):
                a = int(rng.integers(0, t.size))
                t = np.concatenate((t[:a], t[a + int(rng.integers(4, 60)) :]))
        if rng.random() < 0.2:
            t = t[: int(rng.integers(0, 4))]  # next to nothing
        # A slow wave across the bands, plus noise; some members are hypo-prone.
        base = 150 + 90 * np.sin(t / 20_000.0 + k) + rng.normal(0, 25, t.size)
        v = np.clip(base - (60 if rng.random() < 0.3 else 0), 20, 420)
        mmol = np.full(t.size, rng.random() < 0.4)
        if rng.random() < 0.3:
            mmol = rng.random(t.size) < 0.5  # mixed units
        v = np.where(mmol, np.round(v / 18.01559, 1), np.round(v))
        v[rng.random(t.size) < 0.01] = -np.inf
        v[rng.random(t.size) < 0.01] = np.inf
        if rng.random() < 0.15 and t.size > 3:  # a duplicate timestamp: the first repair
            t[2] = t[1]
        if rng.random() < 0.1 and t.size > 3:  # an absent value (NaN): the second
            v[3] = np.nan
        parts.append((np.full(t.size, k, dtype=np.int32), t, v, mmol))
        starts.append(JAN_2026 * DAY - 480 * 60)
        ends.append(JAN_2026 * DAY - 480 * 60 + 14 * DAY)
    cols = [np.concatenate([p[i] for p in parts]) for i in range(4)]
    book = dict(zip(("idx", "t", "v", "mmol"), cols, strict=True))
    return book, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 8))
def test_cgm_many_equals_the_reference(seed: int, members: int) -> None:
    b, ws, we = _cgm_book(seed, members)
    many = cgm_many(b["idx"], b["t"], b["v"], b["mmol"], ws, we)
    assert len(many) == members
    assert cgm_many(b["idx"], b["t"], b["v"], b["mmol"], ws, we, block_rows=500) == many
    for k in range(members):
        sel = b["idx"] == k
        ref = cgm_indicators(
            b["t"][sel], b["v"][sel], b["mmol"][sel],
            window_start_s=int(ws[k]), window_end_s=int(we[k]),
        )  # fmt: skip
        _same(many[k], ref)


def test_cgm_many_book_has_sufficient_and_eventful_members() -> None:
    """The random books above do exercise the interesting branches, not only None."""
    seen = {"sufficient": 0, "hypo": 0, "hyper": 0, "insufficient": 0}
    for seed in range(30):
        b, ws, we = _cgm_book(seed, 6)
        for d in cgm_many(b["idx"], b["t"], b["v"], b["mmol"], ws, we):
            seen["sufficient" if d["sufficient"] else "insufficient"] += 1
            seen["hypo"] += bool(d["hypo_events"])
            seen["hyper"] += bool(d["hyper_events"])
    assert all(v > 0 for v in seen.values()), seen


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
