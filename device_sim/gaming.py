"""Simulated gaming: turn a clean member's readings into the patterns an insurer fears.

Why: the integrity rules and model (``scoring.integrity``) must be shown to catch these
and to leave ordinary members alone; deterministic under a seed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def phone_shaker(
    steps: npt.NDArray[np.int64], hr: npt.NDArray[np.float64], seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A phone on a swinging cradle: ~1,000 steps every hour, resting heart rate, flat."""
    rng = np.random.default_rng([seed, 81])
    shaken = np.full_like(steps, 1000) + rng.integers(-5, 6, steps.size)
    flat = np.full_like(hr, 68.0) + rng.normal(0, 0.6, hr.size)
    return shaken, flat


def bp_copier(
    sys_: npt.NDArray[np.float64], dia: npt.NDArray[np.float64], pulse: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Every reading a copy of one good reading (typed in, or a cuff on a dummy arm)."""
    return np.full_like(sys_, 126.0), np.full_like(dia, 78.0), np.full_like(pulse, 70.0)


def shared_cuff(
    sys_: npt.NDArray[np.float64], dia: npt.NDArray[np.float64], seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Alternate readings by a second, much healthier person (a young relative)."""
    rng = np.random.default_rng([seed, 82])
    s, d = sys_.copy(), dia.copy()
    other = rng.random(s.size) < 0.45
    s[other] = rng.normal(112, 4, other.sum()).round()
    d[other] = rng.normal(70, 3, other.sum()).round()
    s[~other] = np.maximum(s[~other], 150)
    return s, d


def burst(t: npt.NDArray[np.int64], n: int = 10) -> npt.NDArray[np.int64]:
    """``n`` extra readings a minute apart after the first one (an impossible rate)."""
    extra = t[0] + 60 * np.arange(1, n + 1, dtype=np.int64)
    return np.sort(np.concatenate([t, extra]))
