"""Fingerstick (SMBG) glucose indicators against the Chinese Diabetes Society targets.

Why: members without a CGM are managed on fasting and post-meal fingersticks; clinics read
"share of fasting checks in target" and count hypoglycaemia by level. Each reading is
compared in the unit the meter reported (CLINICAL.md "Glucose units"), never converted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

# Meal classes from the Open mHealth temporal_relationship_to_meal values we store
# (core.payload_format.MEAL_CONTEXTS). Decision:
# * fasting/preprandial: "fasting", "before_breakfast" and the other pre-meal contexts; the
#   CDS 2020 guideline and ADA 2025 set one preprandial target (4.4-7.0 mmol/L; ADA
#   80-130 mg/dL) for fasting and before-meal checks alike;
# * non-fasting ("postprandial" in the stored contract): the after-meal contexts,
#   "not_fasting" and "before_sleep" (a bedtime check is 2-4 h after dinner, a non-fasting
#   value; CDS sets one non-fasting target < 10.0 mmol/L for any non-fasting check);
# * no context: counted in ``n_readings`` and hypoglycaemia, not in either target share.
FASTING_CONTEXTS: Final = frozenset(
    {"fasting", "before_breakfast", "before_lunch", "before_dinner", "before_meal"}
)
POSTPRANDIAL_CONTEXTS: Final = frozenset(
    {"not_fasting", "after_breakfast", "after_lunch", "after_dinner", "after_meal", "before_sleep"}
)

# Targets, Chinese Diabetes Society guideline for type 2 diabetes (2020 edition): fasting
# 4.4-7.0 mmol/L, non-fasting < 10.0 mmol/L; both ends of the fasting range inclusive.
# mg/dL equivalents as the published pairs state them: 4.4 mmol/L = 80 mg/dL (ADA 2025,
# preprandial 80-130 mg/dL [4.4-7.2 mmol/L]); 7.0 mmol/L = 126 mg/dL (ADA diagnostic
# fasting threshold, 126 mg/dL [7.0 mmol/L]); 10.0 mmol/L = 180 mg/dL (ADA 2025 peak
# postprandial < 180 mg/dL [10.0 mmol/L]). Meters display whole mg/dL, and 80..126 holds
# exactly the whole-number readings whose conversion lies within 4.4-7.0 mmol/L
# (79 mg/dL = 4.39, 127 = 7.05). 180 mg/dL is 9.99 mmol/L, but the published mg/dL
# statement is "< 180", so a post-meal 180 mg/dL is not in target (the guideline's own
# mg/dL wording, taken strictly; an mmol/L meter shows 180 mg/dL as 10.0, also not < 10.0).
FASTING_MMOL: Final = (4.4, 7.0)
FASTING_MGDL: Final = (80.0, 126.0)
POSTPRANDIAL_BELOW_MMOL: Final = 10.0
POSTPRANDIAL_BELOW_MGDL: Final = 180.0
# Hypoglycaemia (ADA Standards of Care 2025, International Hypoglycaemia Study Group):
# level 1 3.0 <= g < 3.9 mmol/L (54 <= g < 70 mg/dL); level 2 g < 3.0 (< 54). A censored LO
# reading is below every threshold, so it counts as level 2.
HYPO_L1_MMOL: Final = 3.9
HYPO_L2_MMOL: Final = 3.0
HYPO_L1_MGDL: Final = 70.0
HYPO_L2_MGDL: Final = 54.0
# Sufficiency decision: >= 4 fasting/preprandial readings in the window. The CDS 2020
# guideline advises SMBG 2-4 times a week for members on oral agents (fasting or 2 h
# post-meal) and daily fasting checks on basal insulin, so 4 is one week at the upper or
# two weeks at the lower frequency; with fewer, one reading moves the share by more than
# 25 points. The non-fasting share needs the same minimum of its own, else it is None.
MIN_FASTING: Final = 4
MIN_POSTPRANDIAL: Final = 4

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
