"""The AGP report's daily glucose profiles: one small trace per local day, for the last 14.

The international consensus report (Battelino 2019; docs/clinical.md, "CGM") prints, under
the AGP, each day's curve, so a doctor sees which days the median hides (a night of lows,
a missed dose). The view sends 15-minute bin means in mg/dL (the AGP's bins), at most 96
points a day, not the 288 raw readings.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from core.units import MGDL_PER_MMOLL
from scoring.indicators.rules import AGP_HI_MGDL, AGP_LO_MGDL

DAILY_DAYS = 14
_EPOCH = date(1970, 1, 1)


def daily_profiles(
    t: npt.NDArray[np.int64],
    v: npt.NDArray[np.float64],
    mmol: npt.NDArray[np.bool_],
    offset_min: npt.NDArray[np.int16],
    bin_minutes: int = 15,
) -> list[dict[str, Any]]:
    """Bin means per local day (the reading's own UTC offset), newest day last.

    Input as ``views._cgm_arrays`` gives it (epoch seconds, values in the reported unit
    with LO/HI as -inf/+inf); order does not matter. Days without readings are left out.
    LO and HI count as the AGP counts them (``AGP_LO_MGDL``, ``AGP_HI_MGDL``: 40 and 400
    mg/dL), so a LO still pulls its bin down.
    """
    if t.size == 0:
        return []
    mg = np.where(mmol, v * MGDL_PER_MMOLL, v)
    mg = np.where(v == -np.inf, AGP_LO_MGDL, np.where(v == np.inf, AGP_HI_MGDL, mg))
    local = t + offset_min.astype(np.int64) * 60
    day = local // 86400
    bins = (local % 86400) // (bin_minutes * 60)
    n_bins = 1440 // bin_minutes
    out = []
    for d in np.unique(day)[-DAILY_DAYS:]:
        sel = day == d
        counts = np.bincount(bins[sel], minlength=n_bins)
        sums = np.bincount(bins[sel], weights=mg[sel], minlength=n_bins)
        has = np.flatnonzero(counts)
        out.append(
            {
                "day": _EPOCH + timedelta(days=int(d)),
                "minute_of_day": [int(b) * bin_minutes for b in has],
                "mgdl": [round(float(s), 1) for s in sums[has] / counts[has]],
            }
        )
    return out
