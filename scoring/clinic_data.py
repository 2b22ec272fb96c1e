"""A chunk's clinic measurements as indicators: office BP, HbA1c, LDL-C, adherence.

Why apart from the chunk's columnar pipeline: few members have clinic rows and each has a
handful, so the per-member functions of ``scoring.indicators.clinic`` run only for them;
every other member shares one empty result. The indicators go into the score row next to
the device domains (``office_bp``, ``hba1c``, ``ldl_c``, ``adherence``, ``clinic_exercise``),
and the control
block reads them when the member has no sufficient device data (``scoring.control``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring import repository as repo
from scoring.indicators import clinic
from scoring.indicators.rules import (
    DAY_S,
    EXERCISE_LOINC,
    HOME_TARGET_OLDER_AGE,
    LDL_RECENT_DAYS,
    OFFICE_TARGET_DIABETES_CKD_MMHG,
    OFFICE_TARGET_MMHG,
    OFFICE_TARGET_OLDER_MMHG,
)
from scoring.window import Window

HBA1C, LDL_CALC, LDL_DIRECT = "4548-4", "13457-7", "18262-6"


def office_target(age: int, conditions: Sequence[str]) -> tuple[float, float]:
    """Office BP target: age wins at 80 and over, then diabetes or CKD, else 140/90."""
    if age >= HOME_TARGET_OLDER_AGE:
        return OFFICE_TARGET_OLDER_MMHG
    if "diabetes" in conditions or "ckd" in conditions:
        return OFFICE_TARGET_DIABETES_CKD_MMHG
    return OFFICE_TARGET_MMHG


def load(conn: repo.Conn, ids: list[str], w: Window) -> tuple[dict[str, Any], dict[str, Any]]:
    """The chunk's lab results (the year before the window's end) and dispensing fills."""
    end = datetime(w.end.year, w.end.month, w.end.day, tzinfo=UTC)
    labs = repo.lab_results(conn, ids, end - timedelta(days=LDL_RECENT_DAYS), end)
    fills = repo.dispensings(conn, ids, w.start, w.end)
    return labs, fills


def indicators(
    ids: list[str],
    ages: npt.NDArray[np.int64],
    conditions: Sequence[tuple[str, ...]],
    bp: npt.NDArray[Any],
    labs: dict[str, Any],
    fills: dict[str, Any],
    w: Window,
) -> list[dict[str, Any]]:
    """Per member, the clinic indicators they have data for (an empty dict otherwise)."""
    out: list[dict[str, Any]] = [{} for _ in ids]
    office = bp[bp["ok"] & bp["clinic"]]
    for k in np.unique(office["idx"]).tolist():
        r = office[office["idx"] == k]
        out[k]["office_bp"] = clinic.office_bp(
            r["t"].tolist(), r["off"].tolist(), r["sys"].astype(float).tolist(),
            r["dia"].astype(float).tolist(), target=office_target(int(ages[k]), conditions[k]),
        )  # fmt: skip
    end_s = w.d1 * DAY_S
    pos = {m: i for i, m in enumerate(ids)}
    for member, by_code in labs.items():
        k = pos[member]
        if HBA1C in by_code:
            out[k]["hba1c"] = clinic.hba1c(by_code[HBA1C], end_s=end_s, age=int(ages[k]))
        ldl = by_code.get(LDL_CALC, []) + by_code.get(LDL_DIRECT, [])
        if ldl:
            out[k]["ldl_c"] = clinic.ldl_c(ldl, end_s=end_s)
        if EXERCISE_LOINC in by_code:
            out[k]["clinic_exercise"] = clinic.exercise(by_code[EXERCISE_LOINC], end_s=end_s)
    for member, by_class in fills.items():
        out[pos[member]]["adherence"] = {
            cls: clinic.pdc(f, start_day=w.d0, end_day=w.d1) for cls, f in by_class.items()
        }
    return out
