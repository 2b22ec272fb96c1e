"""Blood-pressure readings: the fast path accepts exactly what the general path accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.kinds import bp
from ingest.kinds.common import Reject
from ingest.parsing import _parse_item
from tests.ingest.kinds.fastpath import KEYS, TIMES, VALUES
from tests.ingest.test_parsing import LIMITS, NOW, T

EARLIEST, LATEST = NOW - LIMITS.max_age, NOW + LIMITS.skew


@settings(max_examples=400, deadline=None)
@given(keys=KEYS, values=st.lists(VALUES, min_size=8, max_size=8), t=TIMES)
def test_fast_path_agrees_with_the_general_path(keys: list[str], values: list[Any], t: Any) -> None:
    item: dict[str, Any] = {"t": t, **dict(zip(keys, values, strict=False))}
    fast = bp.fast(item, "dev-1", EARLIEST, LATEST)
    try:
        general = _parse_item(item, "", "dev-1", "bp", NOW, LIMITS)
    except Reject:
        general = None
    if fast is not None:  # the fast path may decline, but never accept what the other rejects
        assert fast == general


@pytest.mark.parametrize(
    "item",
    [
        {"t": T, "sys": 120, "dia": 80},
        {"t": T, "sys": 300, "dia": 20, "pulse": 250},
    ],
)
def test_fast_path_takes_the_plain_shapes(item: dict[str, Any]) -> None:
    fast = bp.fast(item, "dev-1", EARLIEST, LATEST)
    assert fast is not None
    assert fast == _parse_item(item, "", "dev-1", "bp", NOW, LIMITS)
