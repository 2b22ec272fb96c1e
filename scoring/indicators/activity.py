"""Physical-activity indicators from interval or daily step records (pure numpy).

Why: everyone, sick or not, is scored on activity, and the WHO guideline is written in
moderate-equivalent minutes per week; a device may send minute, hourly or daily records,
so every rule here works on intervals of any length. The targets and the valid-day and
sufficiency rules live in ``scoring.indicators.rules`` (docs/clinical.md, "Activity").
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scoring.indicators.rules import (
    ACTIVE_DAY_MIN,
    DAY_S,
    MIN_WEAR_S,
    VIGOROUS_WEIGHT,
    WHO_MIN_PER_WEEK,
    step_target,
    valid_days_needed,
)


def activity_indicators(
    start: npt.NDArray[np.int64],
    offset_min: npt.NDArray[np.int16],
    duration_s: npt.NDArray[np.int64],
    steps: npt.NDArray[np.int64],
    active_min: npt.NDArray[np.int64],
    vigorous_min: npt.NDArray[np.int64],
    *,
    window_days: int,
    age: int,
) -> dict[str, object]:
    """Stored-contract ``activity`` for one member over a window of ``window_days`` days.

    ``active_min`` is moderate-or-vigorous minutes and ``vigorous_min`` the vigorous part
    of them, so moderate-equivalent minutes are ``active + vigorous`` (WHO: a vigorous
    minute counts twice). A record belongs to the local day it starts in.
    ``mvpa_min_per_week`` is moderate-equivalent minutes per valid day x 7, so non-wear
    days are not counted as inactivity.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.arange(7, dtype=np.int64) * 86_400
    >>> z = np.zeros(7, dtype=np.int16)
    >>> r = activity_indicators(d, z, np.full(7, 86_400), np.full(7, 9_000),
    ...                         np.full(7, 20), np.full(7, 5), window_days=7, age=50)
    >>> r["median_steps"], r["mvpa_min_per_week"], r["meets_who"], r["days_at_target"]
    (9000.0, 175.0, True, 7)
    """
    target = step_target(age)
    out: dict[str, object] = {
        "valid_days": 0,
        "median_steps": None,
        "step_target": target,
        "days_at_target": None,
        "mvpa_min_per_week": None,
        "meets_who": None,
        "active_days": None,
        "sufficient": False,
    }
    if start.size == 0:
        return out
    day = (start + offset_min.astype(np.int64) * 60) // DAY_S
    _, inv = np.unique(day, return_inverse=True)
    wear = np.bincount(inv, weights=np.minimum(duration_s, DAY_S).astype(np.float64))
    day_steps = np.bincount(inv, weights=steps.astype(np.float64))
    mod_eq = np.bincount(
        inv, weights=(active_min + (VIGOROUS_WEIGHT - 1) * vigorous_min).astype(float)
    )
    valid = (wear >= MIN_WEAR_S) & (day_steps > 0)
    nv = int(valid.sum())
    out["valid_days"] = nv
    if nv < valid_days_needed(window_days):
        return out
    vs, vm = day_steps[valid], mod_eq[valid]
    per_week = float(vm.sum() / nv * 7.0)
    out.update(
        median_steps=float(np.median(vs)),
        days_at_target=int((vs >= target).sum()),
        mvpa_min_per_week=per_week,
        meets_who=bool(per_week >= WHO_MIN_PER_WEEK),
        active_days=int((vm >= ACTIVE_DAY_MIN).sum()),
        sufficient=True,
    )
    return out
