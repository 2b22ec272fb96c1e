"""Fingerstick (SMBG) glucose indicators against the Chinese Diabetes Society targets.

Why: members without a CGM are managed on fasting and post-meal fingersticks; clinics read
"share of fasting checks in target" and count hypoglycaemia by level. Each reading is
compared in the unit the meter reported (docs/clinical.md, "Glucose units"), never
converted. The meal classes, targets, levels and sufficiency rule live in
``scoring.indicators.rules`` (docs/clinical.md, "Fingerstick glucose").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from scoring.indicators.rules import (
    FASTING_CONTEXTS,
    FASTING_MGDL,
    FASTING_MMOL,
    HYPO_L1_MGDL,
    HYPO_L1_MMOL,
    HYPO_L2_MGDL,
    HYPO_L2_MMOL,
    MIN_FASTING,
    MIN_POSTPRANDIAL,
    POSTPRANDIAL_BELOW_MGDL,
    POSTPRANDIAL_BELOW_MMOL,
    POSTPRANDIAL_CONTEXTS,
)

SMBG_KEYS: Final = (
    "n_readings",
    "n_fasting",
    "pct_fasting_in_target",
    "n_postprandial",
    "pct_postprandial_in_target",
    "hypo_l1",
    "hypo_l2",
    "sufficient",
)


def smbg_indicators(
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    meal_context: Sequence[str | None],
) -> dict[str, Any]:
    """Stored-contract ``smbg`` for one member's fingerstick readings in one window.

    ``value`` is in the unit the meter reported (censored LO = -inf, HI = +inf; NaN is
    absent and ignored); ``meal_context`` one entry per reading, a
    :data:`core.payload_format.MEAL_CONTEXTS` string or None (an unknown string is treated
    as None: the meal class is unknown, the reading still counts for hypoglycaemia).

    Percentages are of the readings in each class. Insufficient (fewer than 4 fasting
    readings) gives None for both percentages; the counts stay, and so do the
    hypoglycaemia counts: a low is a safety fact however often the member checks.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([5.0, 6.9, 7.1, 4.4, 9.9, 10.0, 3.5])
    >>> meal = ["fasting", "before_breakfast", "fasting", "before_dinner",
    ...         "after_lunch", "after_dinner", None]
    >>> r = smbg_indicators(v, np.ones(7, bool), meal)
    >>> r["n_fasting"], r["pct_fasting_in_target"], r["n_postprandial"], r["hypo_l1"]
    (4, 75.0, 2, 1)
    >>> r["pct_postprandial_in_target"] is None, r["sufficient"]
    (True, True)
    """
    g = np.asarray(value, dtype=np.float64)
    mmol = np.asarray(is_mmol, dtype=np.bool_)
    if len(meal_context) != g.size or mmol.size != g.size:
        raise ValueError("value, is_mmol and meal_context must have the same length")
    present = ~np.isnan(g)
    fasting = np.fromiter((m in FASTING_CONTEXTS for m in meal_context), np.bool_, g.size)
    post = np.fromiter((m in POSTPRANDIAL_CONTEXTS for m in meal_context), np.bool_, g.size)
    fasting &= present
    post &= present
    lo_f = np.where(mmol, FASTING_MMOL[0], FASTING_MGDL[0])
    hi_f = np.where(mmol, FASTING_MMOL[1], FASTING_MGDL[1])
    below_p = np.where(mmol, POSTPRANDIAL_BELOW_MMOL, POSTPRANDIAL_BELOW_MGDL)
    l1 = np.where(mmol, HYPO_L1_MMOL, HYPO_L1_MGDL)
    l2 = np.where(mmol, HYPO_L2_MMOL, HYPO_L2_MGDL)
    n_f, n_p = int(fasting.sum()), int(post.sum())
    sufficient = n_f >= MIN_FASTING
    out: dict[str, Any] = {
        "n_readings": int(present.sum()),
        "n_fasting": n_f,
        "pct_fasting_in_target": None,
        "n_postprandial": n_p,
        "pct_postprandial_in_target": None,
        "hypo_l1": int(np.count_nonzero(present & (g < l1) & (g >= l2))),
        "hypo_l2": int(np.count_nonzero(present & (g < l2))),
        "sufficient": sufficient,
    }
    if sufficient:
        in_f = (g >= lo_f) & (g <= hi_f)
        out["pct_fasting_in_target"] = float(100.0 * in_f[fasting].mean())
        if n_p >= MIN_POSTPRANDIAL:
            out["pct_postprandial_in_target"] = float(100.0 * (g < below_p)[post].mean())
    return out
