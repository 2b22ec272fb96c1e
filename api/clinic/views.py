"""Clinic dashboard use cases: the worklist, one patient's charts, the clinic overview.

Why a separate service module: these views shape data for charts (per-condition traffic
lights, the AGP, the time-in-ranges bar, control rates over time) rather than exchange
records, and they must stay fast for a clinic of thousands of patients: the worklist is
sorted and paged in SQL, and a patient's charts read one member's readings through the
member/time indexes. Every access to one member's data goes through
:func:`api.tenancy.access_member` (tenancy check + audit row); list views audit one row per
patient returned.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from api.audit import service as audit
from api.auth.service import Principal
from api.clinic import repository as repo
from api.clinic.lights import condition_lights, control_entries
from api.deps import Tx
from api.tenancy import access_member
from core.units import MGDL_PER_MMOLL
from scoring import repository as scores
from scoring.config import BpTargets
from scoring.indicators import cgm as cgm_module
from scoring.indicators.rules import CGM_NOMINAL_INTERVAL_S, severe_mask

# AGP: 14 days of CGM data (International Consensus, Battelino 2019; docs/clinical.md,
# "CGM").
AGP_DAYS = 14
AGP_BIN_MINUTES = 15
SCORE_HISTORY_LIMIT = 60
FOLLOW_UP_LIMIT = 200


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def sufficiency(ind: dict[str, Any] | None, devices: set[str]) -> dict[str, bool | None]:
    """Which domains had enough data in the newest score window (None: not applicable).

    A domain is reported only for a patient who has a device for it (``devices``, the
    domains of the devices bound within the look-back) or who sent readings for it: a
    red "CGM ✗" beside a patient who has no CGM reads as a failure that is not theirs.
    """
    ind = ind or {}
    out: dict[str, bool | None] = {}
    for k in ("bp", "cgm", "smbg", "activity"):
        block = ind.get(k) or {}
        sent = bool(block.get("n_readings") or block.get("valid_days"))
        applies = k in devices or sent
        out[k] = block.get("sufficient") if k in ind and applies else None
    return out


def worklist(
    tx: Tx,
    clinic: Principal,
    *,
    status: repo.PatientFilter,
    sort: repo.WorklistSort,
    descending: bool,
    search: str,
    offset: int,
    limit: int,
    condition: repo.ConditionFilter = "any",
) -> dict[str, Any]:
    assert clinic.tenant_id is not None
    rows, total = repo.worklist(
        tx.conn,
        clinic.tenant_id,
        status=status,
        sort=sort,
        descending=descending,
        search=search,
        offset=offset,
        limit=limit,
        condition=condition,
    )
    ids = [r["member_id"] for r in rows]
    audit.record_many(
        tx.conn, clinic, "clinic.worklist", ids, detail={"filter": status, "sort": sort}
    )
    indicators = repo.latest_indicators(tx.conn, ids) if ids else {}
    devices = repo.device_domains(tx.conn, ids) if ids else {}
    items = []
    for r in rows:
        ind = indicators.get(r["member_id"])
        items.append(
            {
                "member_id": r["member_id"],
                "display_name": r["display_name"],
                "conditions": r["conditions"],
                "control_status": r["control_status"],
                "lights": condition_lights(r["conditions"], ind),
                "sufficiency": sufficiency(ind, devices.get(r["member_id"], set())),
                "composite": r["composite"],
                "window_end": r["window_end"],
                "last_data_at": r["last_data_at"],
                "open_alerts": r["open_alerts"],
                "critical_alerts": r["critical_alerts"] or 0,
                "newest_alert_at": r["newest_alert_at"],
                "last_bp_sys": r["bp_sys"],
                "last_bp_dia": r["bp_dia"],
                "tir": r["tir"],
                "tbr70": r["tbr70"],
            }
        )
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def _bp_target(summary: dict[str, Any], latest_bp: dict[str, Any]) -> dict[str, Any]:
    """The target the score used; without a score, the default rule for this member."""
    if latest_bp.get("target_sys") is not None and latest_bp.get("target_dia") is not None:
        return {"sys": latest_bp["target_sys"], "dia": latest_bp["target_dia"], "source": "score"}
    age = _age_on(summary["birth_date"], datetime.now(UTC).date())
    sys_, dia = BpTargets().for_member(age, tuple(summary["conditions"]))
    return {"sys": sys_, "dia": dia, "source": "default"}


def bp_view(tx: Tx, who: Principal, member_id: str, days: int) -> dict[str, Any]:
    """BP readings over ``days``, the target band, and the home-protocol mean per window."""
    access_member(tx, who, member_id, "clinic.patient.bp", {"days": days})
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    summary = repo.patient(tx.conn, member_id)
    assert summary is not None
    history = repo.score_history(tx.conn, member_id, since, SCORE_HISTORY_LIMIT)
    latest_bp = (history[-1]["indicators"].get("bp") or {}) if history else {}
    means = []
    for h in history:
        bp = h["indicators"].get("bp") or {}
        if bp.get("home_mean_sys") is None:
            continue
        means.append(
            {
                "window_start": h["window_start"],
                "window_end": h["window_end"],
                "home_mean_sys": bp["home_mean_sys"],
                "home_mean_dia": bp.get("home_mean_dia"),
                "controlled": bp.get("controlled"),
                "protocol_days": bp.get("protocol_days"),
            }
        )
    readings = [
        {
            "t": r["measured_at"],
            "utc_offset_min": r["utc_offset_min"],
            "sys": r["systolic"],
            "dia": r["diastolic"],
            "validated": r["validated"],
            "source": r["source"],
            "grade3": bool(severe_mask(r["systolic"], r["diastolic"])),
        }
        for r in repo.bp_readings(tx.conn, member_id, since)
    ]
    newest = scores.latest_score(tx.conn, member_id)
    return {
        "start": since,
        "end": now,
        "lights": condition_lights(summary["conditions"], newest["indicators"] if newest else None),
        "control": control_entries(summary["conditions"], newest["indicators"] if newest else None),
        "readings": readings,
        "target": _bp_target(summary, latest_bp),
        "protocol_means": means,
        "hbpm": {k: latest_bp.get(k) for k in HBPM_KEYS},
    }


# The HBPM report's session means (scoring.indicators.bp), shown beside the protocol mean.
HBPM_KEYS = (
    "morning_mean_sys",
    "morning_mean_dia",
    "evening_mean_sys",
    "evening_mean_dia",
    "morning_above_target",
)


def _finite(x: float | None) -> float | None:
    return round(float(x), 1) if x is not None and math.isfinite(x) else None


def _cgm_arrays(
    rows: list[tuple[Any, ...]],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.int16]
]:
    """Epoch seconds, values in the reported unit (LO/HI as -inf/+inf), is_mmol, offsets."""
    t = np.array([int(r[0].timestamp()) for r in rows], dtype=np.int64)
    v = np.array(
        [-math.inf if r[4] == "LO" else math.inf if r[4] == "HI" else r[2] for r in rows],
        dtype=np.float64,
    )
    mmol = np.array([r[3] == "mmol/L" for r in rows], dtype=np.bool_)
    off = np.array([r[1] for r in rows], dtype=np.int16)
    return t, v, mmol, off


def _agp(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """``scoring.indicators.cgm.agp_profile`` over the rows, as JSON lists (mg/dL)."""
    t, v, mmol, off = _cgm_arrays(rows)
    prof = cgm_module.agp_profile(t, v, mmol, off, bin_minutes=AGP_BIN_MINUTES)
    out: dict[str, Any] = {"minute_of_day": [int(m) for m in prof["minute_of_day"]]}
    for k in ("p05", "p25", "p50", "p75", "p95"):
        out[k] = [_finite(x) for x in prof[k]]
    out["n"] = [int(n) for n in prof["n"]]
    return out


AGP_STATS = ("n_readings", "active_pct", "mean_mgdl", "gmi", "cv", "sufficient")


def _agp_stats(
    rows: list[tuple[Any, ...]], start: datetime, end: datetime, nominal_s: float
) -> dict[str, Any]:
    """The AGP header over the same 14 days as the profile (docs/clinical.md, "CGM": dates,
    % time active against the sensor's nominal interval, mean, GMI, CV), by the scoring
    definitions; None where data are too few.
    """
    if not rows:
        return dict.fromkeys(AGP_STATS)
    t, v, mmol, _ = _cgm_arrays(rows)
    ind = cgm_module.cgm_indicators(
        t, v, mmol, window_start_s=int(start.timestamp()), window_end_s=int(end.timestamp()),
        nominal_s=nominal_s,
    )  # fmt: skip
    return {k: ind.get(k) for k in AGP_STATS}


def _mgdl(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    return round(value * MGDL_PER_MMOLL, 1) if unit == "mmol/L" else float(value)


def tir_bar(cgm: dict[str, Any]) -> dict[str, float] | None:
    """The standard five-band time-in-ranges bar from the stored percentages.

    Bands (Battelino 2019): very low < 54, low 54-69, in range 70-180, high 181-250,
    very high > 250 mg/dL; low = tbr70 - tbr54 and high = tar180 - tar250.
    """
    keys = ("tbr54", "tbr70", "tir", "tar180", "tar250")
    if not cgm.get("sufficient") or any(cgm.get(k) is None for k in keys):
        return None
    return {
        "very_low": round(cgm["tbr54"], 1),
        "low": round(cgm["tbr70"] - cgm["tbr54"], 1),
        "in_range": round(cgm["tir"], 1),
        "high": round(cgm["tar180"] - cgm["tar250"], 1),
        "very_high": round(cgm["tar250"], 1),
    }


def glucose_view(tx: Tx, who: Principal, member_id: str, days: int) -> dict[str, Any]:
    """AGP over the last 14 days, the stored TIR bar, fingerstick readings over ``days``."""
    access_member(tx, who, member_id, "clinic.patient.glucose", {"days": days})
    now = datetime.now(UTC)
    agp_start = now - timedelta(days=AGP_DAYS)
    cgm_rows = repo.glucose_series(tx.conn, member_id, "cgm", agp_start, now)
    agp = _agp(cgm_rows) if cgm_rows else None
    score = scores.latest_score(tx.conn, member_id)
    cgm_ind = ((score or {}).get("indicators") or {}).get("cgm") or {}
    smbg = [
        {
            "t": r[0],
            "utc_offset_min": r[1],
            "mgdl": _mgdl(r[2], r[3]),
            "unit": r[3],
            "value": r[2],
            "censored": r[4],
            "meal_context": r[5],
        }
        for r in repo.glucose_series(tx.conn, member_id, "smbg", now - timedelta(days=days), now)
    ]
    return {
        "agp": agp,
        "agp_missing": None,  # kept for clients of earlier versions (the AGP was optional)
        "agp_start": agp_start,
        "agp_end": now,
        "agp_readings": len(cgm_rows),
        "tir": tir_bar(cgm_ind),
        "agp_stats": _agp_stats(
            cgm_rows,
            agp_start,
            now,
            scores.cgm_nominal_intervals(tx.conn, [member_id], agp_start, now).get(
                member_id, CGM_NOMINAL_INTERVAL_S
            ),
        ),
        "score_window": (
            {"start": score["window_start"], "end": score["window_end"]} if score else None
        ),
        "smbg": smbg,
        "daily": cgm_module.daily_profiles(*_cgm_arrays(cgm_rows), bin_minutes=AGP_BIN_MINUTES),
    }


def overview(tx: Tx, clinic: Principal, windows: int) -> dict[str, Any]:
    """Control rates per condition per score window, and who needs follow-up this week.

    The rate clinics report upward is controlled / patients under management (China's
    National Basic Public Health Service Standards, 3rd ed. 2017: "管理人群血压控制率");
    ``assessed`` says how many had enough data to be judged at all.
    """
    assert clinic.tenant_id is not None
    managed = repo.condition_counts(tx.conn, clinic.tenant_id)
    series: dict[str, list[dict[str, Any]]] = {"hypertension": [], "diabetes": []}
    for w in repo.control_by_window(tx.conn, clinic.tenant_id, windows):
        for cond, pre in (("hypertension", "ht"), ("diabetes", "dm")):
            n = managed.get(cond, 0)
            c = int(w[f"{pre}_controlled"])
            series[cond].append(
                {
                    "window_start": w["window_start"],
                    "window_end": w["window_end"],
                    "managed": n,
                    "assessed": int(w[f"{pre}_assessed"]),
                    "controlled": c,
                    "rate": round(100.0 * c / n, 1) if n else None,
                }
            )
    rows, total = repo.follow_up(tx.conn, clinic.tenant_id, FOLLOW_UP_LIMIT)
    audit.record_many(tx.conn, clinic, "clinic.follow_up", [r["member_id"] for r in rows])
    stale_before = datetime.now(UTC) - timedelta(days=repo.NO_DATA_DAYS)
    follow = []
    for r in rows:
        reasons = []
        if r["critical_alerts"]:
            reasons.append("critical_alert")
        if r["control_status"] == "uncontrolled":
            reasons.append("uncontrolled")
        if r["last_data_at"] is None or r["last_data_at"] < stale_before:
            reasons.append("no_data_7d")
        follow.append(
            {
                "member_id": r["member_id"],
                "display_name": r["display_name"],
                "conditions": r["conditions"],
                "reasons": reasons,
                "last_data_at": r["last_data_at"],
                "open_alerts": r["open_alerts"],
            }
        )
    return {
        "managed": managed,
        "control": series,
        "follow_up": follow,
        "follow_up_total": total,
    }
