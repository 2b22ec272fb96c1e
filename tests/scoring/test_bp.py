"""BP indicator tests: the docs/clinical.md test vector, properties, doctests."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.indicators import bp


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
