"""CGM band tests: exact thresholds in both units, mixed units, sum to 100%."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.indicators import cgm


@pytest.mark.parametrize(
    ("value", "mmol", "band"),
    [
        (10.0, True, "tir"),
        (181.0, False, "tar180"),
        (180.0, False, "tir"),
        (3.9, True, "tir"),
        (69.0, False, "tbr70"),
        (13.9, True, "tar180"),
        (250.4, False, "tar250"),
    ],
)
def test_exact_thresholds(value: float, mmol: bool, band: str) -> None:
    assert cgm.time_in_ranges([value], [mmol])[band] == 100.0


def test_empty_is_insufficient() -> None:
    assert all(v is None for v in cgm.time_in_ranges([], []).values())


@given(st.lists(st.tuples(st.floats(1, 40), st.booleans()), min_size=1, max_size=60))
def test_bands_partition_to_100(rows: list[tuple[float, bool]]) -> None:
    r = cgm.time_in_ranges([v for v, _ in rows], [m for _, m in rows])
    total = r["tbr70"] + r["tir"] + r["tar180"]  # type: ignore[operator]
    assert total == pytest.approx(100.0)


def test_doctests() -> None:
    result = doctest.testmod(cgm)
    assert result.attempted > 0 and result.failed == 0
