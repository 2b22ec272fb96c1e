"""Clinic measurements: office BP, lab HbA1c and LDL-C, medication adherence and recorded
exercise (pure Python).

Why: most community-clinic patients have no device; what the clinic measures (blood pressure
at a visit, a lab HbA1c or LDL-C, the medicines it dispenses) must let them be assessed and
earn control too (docs/clinical.md, "Clinic measurements"). Few members have such rows and
few rows each, so these are per-member functions without a columnar twin. Every function
takes its rows in any order and skips non-finite values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from scoring.indicators.rules import (
    DAY_S,
    EXERCISE_RECENT_DAYS,
    HBA1C_RECENT_DAYS,
    HBA1C_TARGET_OLDER_PCT,
    HBA1C_TARGET_PCT,
    LDL_RECENT_DAYS,
    LDL_TARGET_MGDL,
    LDL_TARGET_MMOL,
    OFFICE_MIN_VISITS,
    OLDER_AGE_GLYCAEMIC,
    PDC_ADHERENT,
    WHO_MIN_PER_WEEK,
)


def office_bp(
    t: Sequence[int], offset_min: Sequence[int], systolic: Sequence[float],
    diastolic: Sequence[float], *, target: tuple[float, float],
) -> dict[str, Any]:  # fmt: skip
    """Office BP over a window: the mean of each visit's mean (a visit is a local day with
    clinic readings), sufficient with >= 2 visits (Chinese hypertension guideline 2024:
    diagnosis and follow-up on repeated visits), controlled strictly below ``target``."""
    visits: dict[int, list[tuple[float, float]]] = {}
    for ts, off, s, d in zip(t, offset_min, systolic, diastolic, strict=True):
        if math.isfinite(s) and math.isfinite(d):
            visits.setdefault((int(ts) + int(off) * 60) // DAY_S, []).append((s, d))
    out: dict[str, Any] = {"visits": len(visits), "target_sys": target[0], "target_dia": target[1]}
    if len(visits) < OFFICE_MIN_VISITS:
        return {**out, "mean_sys": None, "mean_dia": None, "controlled": None, "sufficient": False}
    ms = sum(sum(s for s, _ in v) / len(v) for v in visits.values()) / len(visits)
    md = sum(sum(d for _, d in v) / len(v) for v in visits.values()) / len(visits)
    ok = ms < target[0] and md < target[1]
    return {**out, "mean_sys": ms, "mean_dia": md, "controlled": ok, "sufficient": True}


def _latest(rows: Sequence[tuple[int, float, str]], end_s: int, recent_days: int) -> Any:
    """The newest (time, value, unit) taken in the ``recent_days`` before ``end_s``."""
    fresh = [r for r in rows if end_s - recent_days * DAY_S <= r[0] < end_s and math.isfinite(r[1])]
    return max(fresh, default=None)


def hba1c(rows: Sequence[tuple[int, float, str]], *, end_s: int, age: int) -> dict[str, Any]:
    """The newest lab HbA1c (LOINC 4548-4, %) of the 6 months before the window's end (CDS
    2020: every 3-6 months), against < 7.0 %, < 8.0 % at 65 and over."""
    target = HBA1C_TARGET_OLDER_PCT if age >= OLDER_AGE_GLYCAEMIC else HBA1C_TARGET_PCT
    last = _latest(rows, end_s, HBA1C_RECENT_DAYS)
    if last is None:
        return {"value_pct": None, "target_pct": target, "controlled": None, "sufficient": False}
    return {"value_pct": last[1], "target_pct": target, "controlled": last[1] < target,
            "sufficient": True}  # fmt: skip


def ldl_c(rows: Sequence[tuple[int, float, str]], *, end_s: int) -> dict[str, Any]:
    """The newest LDL-C of the 12 months before the window's end against < 2.6 mmol/L
    (< 100 mg/dL), compared in its own unit."""
    last = _latest(rows, end_s, LDL_RECENT_DAYS)
    if last is None:
        return {"value": None, "unit": None, "controlled": None, "sufficient": False}
    target = LDL_TARGET_MMOL if last[2] == "mmol/L" else LDL_TARGET_MGDL
    return {"value": last[1], "unit": last[2], "target": target, "controlled": last[1] < target,
            "sufficient": True}  # fmt: skip


def exercise(rows: Sequence[tuple[int, float, str]], *, end_s: int) -> dict[str, Any]:
    """The newest clinic-recorded exercise (LOINC 82290-8, minutes a week of moderate or
    vigorous activity) of the quarter before the window's end, against the WHO 150."""
    last = _latest(rows, end_s, EXERCISE_RECENT_DAYS)
    if last is None:
        return {"minutes_per_week": None, "meets_who": None, "sufficient": False}
    return {"minutes_per_week": last[1], "meets_who": last[1] >= WHO_MIN_PER_WEEK,
            "sufficient": True}  # fmt: skip


def pdc(fills: Sequence[tuple[int, int]], *, start_day: int, end_day: int) -> dict[str, Any]:
    """Proportion of days covered in [start_day, end_day) (days since 1970) from (dispensed
    day, days' supply) fills: a fill that starts while the previous supply lasts is shifted
    to its end (the Pharmacy Quality Alliance method), days before the first fill count as
    not covered only from the first fill on. Adherent at >= 80 %."""
    covered, until = 0, -(10**9)
    first = None
    for day, supply in sorted(fills):
        begin = max(day, until)
        stop = begin + supply
        lo, hi = max(begin, start_day), min(stop, end_day)
        if hi > lo:
            covered += hi - lo
            first = lo if first is None else min(first, lo)
        until = stop
    if first is None:
        return {"pdc": None, "adherent": None, "sufficient": False}
    share = covered / (end_day - first)
    return {"pdc": share, "adherent": share >= PDC_ADHERENT, "sufficient": True}
