"""Readings as FHIR R4 Observations (a ``collection`` Bundle), and as CSV rows.

Codes and units follow docs/clinical.md, "Interoperability": the vital-signs BP
panel (LOINC 85354-9, components 8480-6 / 8462-4 in UCUM ``mm[Hg]``); glucose by method and
unit (CGM: HL7 CGM IG 1.0, 99504-3 mass / 105272-9 molar; fingerstick: 41653-7 capillary
glucometer mass, 15074-8 moles/volume); steps 55423-8 (count over the reading's period).
Censored glucose ("LO"/"HI") has no value: it carries a data-absent-reason of
negative/positive infinity and an L/H interpretation, never an invented number.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
# (method, unit) -> LOINC; docs/clinical.md, "Interoperability".
GLUCOSE_CODES: dict[tuple[str, str], tuple[str, str]] = {
    ("cgm", "mg/dL"): ("99504-3", "Glucose [Mass/volume] in Interstitial fluid"),
    ("cgm", "mmol/L"): ("105272-9", "Glucose [Moles/volume] in Interstitial fluid"),
    ("smbg", "mg/dL"): ("41653-7", "Glucose [Mass/volume] in Capillary blood by Glucometer"),
    ("smbg", "mmol/L"): ("15074-8", "Glucose [Moles/volume] in Blood"),
}
STEPS = ("55423-8", "Number of steps in unspecified time Pedometer")
# UCUM codes for the units devices report.
UCUM_UNITS = {"mg/dL": "mg/dL", "mmol/L": "mmol/L", "mmHg": "mm[Hg]", "steps": "{steps}"}


def _code(code: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code[0], "display": code[1]}], "text": code[1]}


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": _CATEGORY, "code": code}]}]


def _qty(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": UCUM_UNITS[unit]}


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def _base(member_id: str, obs_id: str, device_id: str, source: str) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": obs_id,
        "status": "final",
        "subject": {"reference": f"Patient/{member_id}"},
        "device": {"identifier": {"system": "urn:wellrate:device", "value": device_id}},
    }
    if source == "clinic":
        obs["note"] = [{"text": "measured at the community clinic"}]
    return obs


def bp_observation(member_id: str, r: dict[str, Any]) -> dict[str, Any]:
    obs = _base(
        member_id,
        f"bp-{r['device_id']}-{int(r['measured_at'].timestamp())}",
        r["device_id"],
        r["source"],
    )
    obs.update(
        category=_category("vital-signs"),
        code=_code(BP_PANEL),
        effectiveDateTime=_iso(r["measured_at"]),
        component=[
            {"code": _code(SYSTOLIC), "valueQuantity": _qty(float(r["systolic"]), "mmHg")},
            {"code": _code(DIASTOLIC), "valueQuantity": _qty(float(r["diastolic"]), "mmHg")},
        ],
    )
    return obs


def glucose_observation(member_id: str, r: dict[str, Any]) -> dict[str, Any]:
    obs = _base(
        member_id,
        f"glu-{r['device_id']}-{int(r['measured_at'].timestamp())}",
        r["device_id"],
        r["source"],
    )
    obs.update(
        category=_category("laboratory"),
        code=_code(GLUCOSE_CODES[(r["method"], r["unit"])]),
        effectiveDateTime=_iso(r["measured_at"]),
    )
    if r["censored"]:
        low = r["censored"] == "LO"
        obs["dataAbsentReason"] = {
            "coding": [
                {"system": _ABSENT, "code": "negative-infinity" if low else "positive-infinity"}
            ]
        }
        obs["interpretation"] = [{"coding": [{"system": _INTERP, "code": "L" if low else "H"}]}]
    else:
        obs["valueQuantity"] = _qty(float(r["value"]), r["unit"])
    return obs


def steps_observation(member_id: str, r: dict[str, Any]) -> dict[str, Any]:
    start: datetime = r["start_at"]
    obs = _base(
        member_id,
        f"steps-{r['device_id']}-{int(start.timestamp())}-{r['duration_s']}",
        r["device_id"],
        r["source"],
    )
    obs.update(
        category=_category("activity"),
        code=_code(STEPS),
        effectivePeriod={
            "start": _iso(start),
            "end": _iso(start + timedelta(seconds=int(r["duration_s"]))),
        },
        valueQuantity=_qty(float(r["steps"]), "steps"),
    )
    return obs


def bundle(
    member_id: str, readings: dict[str, list[dict[str, Any]]], now: datetime
) -> dict[str, Any]:
    entries = (
        [bp_observation(member_id, r) for r in readings["bp"]]
        + [glucose_observation(member_id, r) for r in readings["glucose"]]
        + [steps_observation(member_id, r) for r in readings["activity"]]
    )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _iso(now),
        "total": len(entries),
        "entry": [
            {"fullUrl": f"urn:wellrate:observation:{o['id']}", "resource": o} for o in entries
        ],
    }


CSV_COLUMNS = ["kind", "time", "device_id", "source", "value", "value2", "unit", "detail"]


def to_csv(readings: dict[str, list[dict[str, Any]]]) -> str:
    """One row per reading: BP (systolic, diastolic mmHg), glucose (value, unit), steps."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in readings["bp"]:
        w.writerow(
            [
                "bp",
                _iso(r["measured_at"]),
                r["device_id"],
                r["source"],
                r["systolic"],
                r["diastolic"],
                "mmHg",
                "" if r["validated"] else "not-validated",
            ]
        )
    for r in readings["glucose"]:
        w.writerow(
            [
                "glucose",
                _iso(r["measured_at"]),
                r["device_id"],
                r["source"],
                "" if r["value"] is None else r["value"],
                "",
                r["unit"],
                r["censored"] or r["meal_context"] or r["method"],
            ]
        )
    for r in readings["activity"]:
        w.writerow(
            [
                "steps",
                _iso(r["start_at"]),
                r["device_id"],
                r["source"],
                r["steps"],
                r["active_minutes"],
                "steps",
                f"duration_s={r['duration_s']}",
            ]
        )
    return buf.getvalue()
