"""CGM time-in-ranges, classified in the unit the device reported (pure numpy).

Why: 13.9 mmol/L is 250.4 mg/dL, so converting before classifying moves readings across
bands; CLINICAL.md decides to compare each reading against thresholds in its own unit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Band edges, International Consensus on Time in Range (Battelino et al., Diabetes Care
# 2019); TITR upper edge 140 mg/dL / 7.8 mmol/L (Battelino et al., Lancet D&E 2023).
MGDL_EDGES: tuple[float, float, float, float, float] = (54.0, 70.0, 140.0, 180.0, 250.0)
MMOL_EDGES: tuple[float, float, float, float, float] = (3.0, 3.9, 7.8, 10.0, 13.9)


def time_in_ranges(values: npt.ArrayLike, is_mmol: npt.ArrayLike) -> dict[str, float | None]:
    """Percent of readings (by count) in each consensus band, classified per own unit.

    TIR is closed at both ends (70 <= g <= 180 mg/dL); TBR < 70 and < 54; TAR > 180 and
    > 250; TITR 70-140. Censored LO/HI readings should be passed as -inf/+inf so they
    count in the extreme bands. Empty input gives None for every band.

    Examples
    --------
    >>> r = time_in_ranges([10.0, 181.0, 13.9, 250.0], [True, False, True, False])
    >>> r["tir"], r["tar180"], r["tar250"]
    (25.0, 75.0, 0.0)
    """
    g = np.asarray(values, dtype=np.float64)
    mmol = np.asarray(is_mmol, dtype=np.bool_)
    keys = ("tbr54", "tbr70", "titr", "tir", "tar180", "tar250")
    if g.size == 0:
        return dict.fromkeys(keys, None)
    e = np.where(mmol[:, None], np.asarray(MMOL_EDGES), np.asarray(MGDL_EDGES))
    masks = (
        g < e[:, 0],
        g < e[:, 1],
        (g >= e[:, 1]) & (g <= e[:, 2]),
        (g >= e[:, 1]) & (g <= e[:, 3]),
        g > e[:, 3],
        g > e[:, 4],
    )
    return {k: float(100.0 * m.mean()) for k, m in zip(keys, masks, strict=True)}
