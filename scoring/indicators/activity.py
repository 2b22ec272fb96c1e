"""Physical-activity indicators from interval or daily step records (pure numpy).

Why: everyone, sick or not, is scored on activity, and the WHO guideline is written in
moderate-equivalent minutes per week; a device may send minute, hourly or daily records,
so every rule here works on intervals of any length.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DAY_S: int = 86_400
# WHO 2020 guidelines on physical activity: adults 150-300 min/week of moderate activity
# or 75-150 vigorous; one vigorous minute counts as two moderate minutes.
WHO_MIN_PER_WEEK: float = 150.0
VIGOROUS_WEIGHT: float = 2.0
# Paluch et al., Lancet Public Health 2022: mortality benefit levels off at 6,000-8,000
# steps/day at age >= 60 and 8,000-10,000 below. CLINICAL.md decision: 7,000 / 8,000.
STEP_TARGET_OLDER: int = 7_000
STEP_TARGET_YOUNGER: int = 8_000
OLDER_AGE: int = 60
# Valid day (Troiano et al., Med Sci Sports Exerc 2008, NHANES accelerometry): >= 10 hours
# of wear. Decision: records covering >= 10 h of the local day, with steps > 0; a record of
# >= 24 h is the device's own daily summary (it applied its wear rule) and covers the day.
MIN_WEAR_S: int = 10 * 3600
# Troiano 2008: >= 4 valid days of a week. Decision: a window is sufficient with valid
# days on >= 4/7 of its days (and at least 4).
MIN_VALID_DAYS_SHARE: float = 4.0 / 7.0
MIN_VALID_DAYS: int = 4
# Decision: an "active day" is a valid day with >= 30 moderate-equivalent minutes (the
# "30 minutes on most days" form of the guideline; Chinese physical activity guidelines 2021).
ACTIVE_DAY_MIN: float = 30.0


def step_target(age: int) -> int:
    """Daily step target by age (Paluch 2022; CLINICAL.md decision)."""
    return STEP_TARGET_OLDER if age >= OLDER_AGE else STEP_TARGET_YOUNGER


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
    if nv < max(MIN_VALID_DAYS, MIN_VALID_DAYS_SHARE * window_days):
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
