"""Fingerstick indicator tests: CDS targets in both units, meal classes, hypo levels."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.payload_format import MEAL_CONTEXTS
from core.units import MGDL_PER_MMOLL
from scoring.indicators import smbg

INF = float("inf")


def run(values: list[float], mmol: list[bool] | bool, meals: list[str | None]) -> dict[str, object]:
    m = mmol if isinstance(mmol, list) else [mmol] * len(values)
    return smbg.smbg_indicators(np.asarray(values, dtype=np.float64), np.asarray(m, bool), meals)


def test_contract_keys_and_empty() -> None:
    r = run([], False, [])
    assert list(r) == [
        "n_readings", "n_fasting", "pct_fasting_in_target", "n_postprandial",
        "pct_postprandial_in_target", "hypo_l1", "hypo_l2", "sufficient",
    ]  # fmt: skip
    assert r["n_readings"] == 0 and r["sufficient"] is False
    assert r["pct_fasting_in_target"] is None and r["hypo_l1"] == 0


@pytest.mark.parametrize(
    ("value", "mmol", "in_target"),
    [
        (4.4, True, True), (4.3, True, False), (7.0, True, True), (7.1, True, False),
        (80.0, False, True), (79.0, False, False), (126.0, False, True), (127.0, False, False),
    ],
)  # fmt: skip
def test_fasting_edges_in_own_unit(value: float, mmol: bool, in_target: bool) -> None:
    # Three readings at 5.5 mmol/L (100 mg/dL) in target plus the one under test.
    base = 5.5 if mmol else 100.0
    r = run([base, base, base, value], mmol, ["fasting"] * 4)
    assert r["pct_fasting_in_target"] == (100.0 if in_target else 75.0)


@pytest.mark.parametrize(
    ("value", "mmol", "in_target"),
    [(9.9, True, True), (10.0, True, False), (179.0, False, True), (180.0, False, False)],
)
def test_postprandial_edges_in_own_unit(value: float, mmol: bool, in_target: bool) -> None:
    base = 5.5 if mmol else 100.0
    meals: list[str | None] = []
    meals += ["fasting"] * 4 + ["after_breakfast", "after_lunch", "after_meal", "after_dinner"]
    r = run([base] * 4 + [base, base, base, value], mmol, meals)
    assert r["n_postprandial"] == 4
    assert r["pct_postprandial_in_target"] == (100.0 if in_target else 75.0)


def test_meal_classes_by_hand() -> None:
    v = [5.0, 8.0, 6.0, 4.0, 12.0, 9.0, 8.0, 11.0, 6.0, 5.0]
    meals: list[str | None] = [
        "fasting", "before_breakfast", "before_lunch", "before_dinner",  # fasting: 5, 8, 6, 4
        "after_breakfast", "not_fasting", "before_sleep", "after_dinner",  # non-fasting
        None, "before_meal",
    ]  # fmt: skip
    r = run(v, True, meals)
    # Fasting 5.0, 8.0, 6.0, 4.0, 5.0: 5.0, 6.0, 5.0 in 4.4-7.0 -> 3/5 = 60 %.
    # Non-fasting 12.0, 9.0, 8.0, 11.0: 9.0, 8.0 < 10.0 -> 2/4 = 50 %.
    assert r["n_readings"] == 10 and r["n_fasting"] == 5 and r["n_postprandial"] == 4
    assert r["pct_fasting_in_target"] == 60.0 and r["pct_postprandial_in_target"] == 50.0
    assert r["sufficient"] is True


def test_mixed_units() -> None:
    # 126 mg/dL and 7.0 mmol/L in target; 127 mg/dL and 7.1 mmol/L not.
    r = run([126.0, 7.0, 127.0, 7.1], [False, True, False, True], ["fasting"] * 4)
    assert r["pct_fasting_in_target"] == 50.0


@pytest.mark.parametrize(
    ("value", "mmol", "l1", "l2"),
    [
        (3.9, True, 0, 0), (3.8, True, 1, 0), (3.0, True, 1, 0), (2.9, True, 0, 1),
        (70.0, False, 0, 0), (69.0, False, 1, 0), (54.0, False, 1, 0), (53.0, False, 0, 1),
        (-INF, True, 0, 1), (INF, False, 0, 0),
    ],
)  # fmt: skip
def test_hypo_levels_in_own_unit(value: float, mmol: bool, l1: int, l2: int) -> None:
    r = run([value], mmol, [None])
    assert (r["hypo_l1"], r["hypo_l2"]) == (l1, l2)


def test_insufficient_reports_none_but_keeps_counts() -> None:
    r = run([5.0, 5.0, 5.0, 2.5] + [8.0] * 5, True, ["fasting"] * 3 + [None] + ["after_lunch"] * 5)
    assert r["sufficient"] is False and r["n_fasting"] == 3 and r["n_postprandial"] == 5
    assert r["pct_fasting_in_target"] is None and r["pct_postprandial_in_target"] is None
    assert r["hypo_l2"] == 1


def test_censored_and_absent_readings() -> None:
    # HI fasting is out of target; LO is out of target and level 2; NaN is no reading.
    r = run([INF, -INF, 5.0, 5.0, float("nan")], True, ["fasting"] * 5)
    assert r["n_readings"] == 4 and r["n_fasting"] == 4
    assert r["pct_fasting_in_target"] == 50.0 and r["hypo_l2"] == 1


def test_unknown_context_counts_only_for_hypo() -> None:
    r = run([3.5, 5.0], True, ["elevenses", "fasting"])
    assert r["n_fasting"] == 1 and r["n_postprandial"] == 0 and r["hypo_l1"] == 1


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="same length"):
        run([5.0, 6.0], True, ["fasting"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(1.0, 30.0), st.booleans(), st.sampled_from([*MEAL_CONTEXTS, None])),
        max_size=40,
    )
)
def test_unit_of_report_does_not_change_shares_away_from_edges(
    rows: list[tuple[float, bool, str | None]],
) -> None:
    # The same mmol/L values reported in mg/dL (whole numbers, as meters display) give the
    # same classification when no value sits within one mg/dL of a threshold.
    edges = (3.0, 3.9, 4.4, 7.0, 10.0)
    rows = [r for r in rows if all(abs(r[0] - e) * MGDL_PER_MMOLL > 1.0 for e in edges)]
    v = [x for x, _, _ in rows]
    meals = [m for _, _, m in rows]
    a = run(v, True, meals)
    b = run([round(x * MGDL_PER_MMOLL) for x in v], False, meals)
    assert a == b
    for k in ("pct_fasting_in_target", "pct_postprandial_in_target"):
        assert a[k] is None or 0.0 <= a[k] <= 100.0  # type: ignore[operator]


def test_doctests() -> None:
    result = doctest.testmod(smbg)
    assert result.attempted > 0 and result.failed == 0
