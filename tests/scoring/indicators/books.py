"""Random books of many members, and the comparisons that hold a columnar path to its reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

DAY = 86_400
JAN_2026 = 20454  # day number of 2026-01-01


def same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float) or isinstance(b[k], float):
            assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), k
        else:
            assert a[k] == b[k], k


def columns_hold_the_dicts(cols: dict[str, np.ndarray], docs: list[dict[str, Any]]) -> None:
    """The columns the composite reads say what the stored dicts say (NaN for None)."""
    assert cols and all(c.shape == (len(docs),) for c in cols.values())
    for k, col in cols.items():
        for v, d in zip(col.tolist(), docs, strict=True):
            if d[k] is None:
                assert v != v, k  # NaN
            else:
                assert v == d[k], k  # a nullable flag is 0.0 or 1.0


def bp_book(seed: int, members: int) -> dict[str, np.ndarray]:
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


def cgm_book(seed: int, members: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
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
