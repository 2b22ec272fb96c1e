"""A chunk's clinical alerts: grade-3 blood pressure and level-2 hypoglycaemia readings,
and windows that missed a hypoglycaemia target.

Why apart from the scores: alerts are per reading, for clinics to act on now; scores are
per window. The rules (thresholds, runs) are ``scoring.indicators.rules``; here they become
the rows of ``alerts`` (docs/clinical.md, "Blood pressure" and "CGM"). Re-scoring never
duplicates an alert: the table's natural key is (member, kind, time of the reading).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.indicators.rules import level2_alert_rows, severe_mask
from scoring.repository import AlertOut, ScoreOut


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def bp_alerts(ids: Sequence[str], b: npt.NDArray[Any]) -> list[AlertOut]:
    """Grade-3 readings of the whole chunk (rare: a loop over them only).

    Every reading is looked at, validated devices or not; a reading from a device that is
    not validated becomes a ``bp_grade3_unvalidated`` warning instead of a critical alert.
    """
    out = []
    for r in b[severe_mask(b["sys"], b["dia"])]:
        member_id = ids[int(r["idx"])]
        validated = bool(r["ok"])
        out.append(
            AlertOut(
                member_id,
                "bp_grade3" if validated else "bp_grade3_unvalidated",
                "critical" if validated else "warning",
                _utc(r["t"]),
                {"systolic": int(r["sys"]), "diastolic": int(r["dia"]), "validated": validated},
            )
        )
    return out


def hypo_alerts(ids: Sequence[str], g: npt.NDArray[Any]) -> list[AlertOut]:
    """Level-2 hypoglycaemia alerts of the whole chunk (rows grouped by member).

    The rule is :func:`scoring.indicators.rules.level2_alert_rows`. Each member's rows are
    taken in their loaded order (CGM, then fingersticks); a change of member acts like a
    gap, so runs never span two members.
    """
    out = []
    for r in g[level2_alert_rows(g["t"], g["v"], g["mmol"], g["cgm"], g["idx"])]:
        unit = "mmol/L" if r["mmol"] else "mg/dL"
        value = None if np.isinf(r["v"]) else float(r["v"])
        out.append(
            AlertOut(
                ids[int(r["idx"])],
                "hypo_level2",
                "critical",
                _utc(r["t"]),
                {
                    "value": value,
                    "censored": "LO" if value is None else None,
                    "unit": unit,
                    "method": "cgm" if r["cgm"] else "smbg",
                },
            )
        )
    return out


def control_alerts(rows: Sequence[ScoreOut], observed_at: datetime) -> list[AlertOut]:
    """A warning for each diabetic member whose window missed a hypoglycaemia target.

    Why besides the per-reading level-2 alerts: time below range of 5 % is a pattern the
    clinic should review (over-treatment), even when no single reading was below 54; the
    alert carries the reason the control block gives. One per member and window end.
    """
    out = []
    for row in rows:
        d = (row.indicators.get("control") or {}).get("diabetes")
        if d and d.get("hypo_target_missed"):
            cgm = row.indicators.get("cgm") or {}
            detail = {
                "source": d["source"],
                "reason_en": d["reason_en"],
                "reason_zh": d["reason_zh"],
                "tbr70": cgm.get("tbr70"),
                "tbr54": cgm.get("tbr54"),
                "hypo_l2_events": cgm.get("hypo_l2_events"),
            }
            out.append(
                AlertOut(row.member_id, "hypo_targets_missed", "warning", observed_at, detail)
            )
    return out
