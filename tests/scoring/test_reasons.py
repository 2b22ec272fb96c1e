"""The composite's reasons: whole numbers print as the format prints them, both paths alike."""

from __future__ import annotations

import numpy as np

from scoring.reasons import f0, f0_many


def test_whole_number_strings_equal_the_format() -> None:
    edge = [0.5, 1.5, 2.5, 134.5, 135.49999999999997, -0.5, -0.4, -0.0, 0.0, -1.5, 99.99999]
    edge += [2.0**52 + 1, 1e17, -1e17, float("inf"), float("-inf"), 4503599627370495.5]
    rng = np.random.default_rng(3)
    vals = (
        edge + rng.uniform(-1000, 20000, 2000).tolist() + (rng.integers(0, 400, 500) + 0.5).tolist()
    )
    got = f0_many(np.array([*vals, float("nan")]))
    assert got == [f"{v:.0f}" for v in vals] + [None]


def test_one_number_and_a_column_print_alike() -> None:
    vals = [0.5, 1.5, -0.0, 79.5, 2.0**53]
    assert f0_many(np.array(vals)) == [f0(v) for v in vals]
    assert f0(None) is None
