"""Hypothesis strategies for items the fast paths may see: plain, odd and wrong alike."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.ingest.test_parsing import T

VALUES = st.one_of(
    st.integers(-10, 700), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(), st.none(), st.text(max_size=6), st.sampled_from(["mg/dL", "mmol/L", "cgm"]),
)  # fmt: skip
TIMES = st.one_of(
    st.sampled_from([T, "2026-06-01T18:30:00", "2027-01-01T00:00:00+00:00", "1999-01-01T00:00Z"]),
    VALUES,
)
KEYS = st.lists(st.sampled_from(["sys", "dia", "pulse", "v", "u", "m", "meal", "x"]), unique=True)
