"""The clinical rules module: its doctests, and the run, event and alert rules against loops."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.payload_format import MEAL_CONTEXTS
from scoring.indicators import rules


def test_doctests() -> None:
    result = doctest.testmod(rules)
    assert result.attempted > 0 and result.failed == 0


def test_band_edges_are_the_named_thresholds_in_order() -> None:
    assert rules.MGDL_EDGES == (54.0, 70.0, 140.0, 180.0, 250.0)
    assert rules.MMOL_EDGES == (3.0, 3.9, 7.8, 10.0, 13.9)
    assert list(rules.MGDL_EDGES) == sorted(rules.MGDL_EDGES)
    assert (rules.EVENT_HYPO_MGDL, rules.EVENT_HYPER_MMOL) == (70.0, 10.0)


@pytest.mark.parametrize(
    ("sys", "dia", "severe"),
    [(179.0, 109.0, False), (180.0, 80.0, True), (120.0, 110.0, True), (179.9, 109.9, False)],
)
def test_grade3_threshold_exact(sys: float, dia: float, severe: bool) -> None:
    assert rules.severe_mask([sys], [dia]).tolist() == [severe]


def test_every_stored_meal_context_is_classified() -> None:
    assert set(MEAL_CONTEXTS) == rules.FASTING_CONTEXTS | rules.POSTPRANDIAL_CONTEXTS
    assert not rules.FASTING_CONTEXTS & rules.POSTPRANDIAL_CONTEXTS


def _book(seed: int, members: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Members' readings sorted by (member, time): 5-minute steps, some gaps, runs of lows."""
    rng = np.random.default_rng(seed)
    idx, t, low, cgm = [], [], [], []
    for k in range(members):
        n = int(rng.integers(0, 80))
        steps = rng.choice([300, 300, 300, 600, 3000], n)
        t.append(np.cumsum(steps).astype(np.int64))
        low.append(rng.random(n) < rng.choice([0.1, 0.5, 0.9]))
        cgm.append(rng.random(n) < 0.9)
        idx.append(np.full(n, k, dtype=np.int64))
    return tuple(np.concatenate(x) for x in (idx, t, low, cgm))  # type: ignore[return-value]


def _loop_events(t: list[int], beyond: list[bool], dt: float, min_s: float = 900.0) -> int:
    """The event rule read aloud: runs, then a state machine over them.

    Each reading stands for the time to the next one, at most one nominal interval ``dt``;
    a run starts an event only with a consecutive stretch (no gap over 1.5 intervals) of
    two or more readings lasting ``min_s``.
    """
    runs: list[tuple[bool, float, float, bool]] = []  # (beyond, total, best stretch, gap)
    for i, b in enumerate(beyond):
        gap = i > 0 and t[i] - t[i - 1] > rules.MAX_GAP_S
        step = t[i + 1] - t[i] if i + 1 < len(t) else float("inf")
        credit = min(step, dt)
        if i == 0 or gap or b != beyond[i - 1]:
            runs.append((b, 0.0, 0.0, gap))
            stretch, n = 0.0, 0
        stretch, n = stretch + credit, n + 1
        total = runs[-1][1] + credit
        best = max(runs[-1][2], stretch if n >= 2 else 0.0)
        runs[-1] = (b, total, best, runs[-1][3])
        if step > 1.5 * dt:  # the next reading starts a new consecutive stretch
            stretch, n = 0.0, 0
    events, open_ = 0, False
    for b, total, best, gap in runs:
        if gap:
            open_ = False
        if b and best >= min_s and not open_:
            events, open_ = events + 1, True
        elif not b and total >= rules.EVENT_END_S:
            open_ = False
    return events


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 6))
def test_events_of_many_members_equal_each_member_and_the_loop(seed: int, members: int) -> None:
    idx, t, low, _ = _book(seed, members)
    dt = np.array([300.0, 600.0, 900.0])[np.arange(members) % 3]
    many = rules.glucose_events(t, low, dt, idx, members)
    for k in range(members):
        sel = idx == k
        one = rules.count_events(t[sel], low[sel], float(dt[k]))
        assert many[k] == one == _loop_events(t[sel].tolist(), low[sel].tolist(), float(dt[k]))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 6))
def test_level2_alerts_are_low_checks_and_the_first_reading_of_each_low_run(
    seed: int, members: int
) -> None:
    idx, t, low, cgm = _book(seed, members)
    mmol = np.random.default_rng(seed).random(t.size) < 0.5
    value = np.where(low, np.where(mmol, 2.9, 53.0), np.where(mmol, 3.0, 54.0))
    got = rules.level2_alert_rows(t, value, mmol, cgm, idx).tolist()
    want = [
        i
        for i in range(t.size)
        if low[i]
        and (
            not cgm[i]
            or i == 0
            or idx[i] != idx[i - 1]
            or not low[i - 1]
            or t[i] - t[i - 1] > rules.MAX_GAP_S
        )
    ]
    assert got == want
