"""Readings as FHIR R4 resources (a ``collection`` Bundle), and as CSV rows.

Codes and units follow docs/fhir.md: the vital-signs BP panel (LOINC 85354-9, components
8480-6 / 8462-4 in UCUM ``mm[Hg]``); CGM sensor readings by the HL7 CGM implementation guide
1.0.0 profiles (99504-3 mass / 105272-9 molar, display units "mg/dl" / "mmol/l"); fingerstick
glucose 41653-7 capillary glucometer mass, 14743-9 capillary moles/volume; steps 55423-8
(count over the reading's period). Censored glucose ("LO"/"HI") has no value: it carries a
data-absent-reason of negative/positive infinity and an L/H interpretation, never an
invented number.

Every resource id is a UUID v5 of the resource's natural key (a reading's table key, a
member id, a device id), so ids are always valid FHIR ids (``[A-Za-z0-9\\-\\.]{1,64}``),
stable between exports and unique inside one; entries are addressed by ``urn:uuid:`` and
references point at those fullUrls, so they resolve inside the Bundle. Times are written in
the offset the device reported (``utc_offset_min``), not in UTC.
"""

from __future__ import annotations

import csv
import html
import io
import re
import urllib.parse
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal

Lang = Literal["en", "zh"]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# HL7 v2 table 0136 (Yes/No indicator), used for the device's validation property.
_YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
# Wellrate's own naming systems: the pseudonymous member id and the device id (absolute URIs,
# as Identifier.system requires), a device property and a data-quality tag.
MEMBER_SYSTEM = "urn:wellrate:member"
# The same member id percent-encoded (RFC 3986), for an id that is not a valid FHIR string
# (the API accepts any 1-128 characters; FHIR strings exclude control characters and any
# whitespace but space, tab, CR and LF).
MEMBER_SYSTEM_ENCODED = "urn:wellrate:member:percent-encoded"
DEVICE_SYSTEM = "urn:wellrate:device"
PROPERTY_SYSTEM = "urn:wellrate:device-property"
QUALITY_SYSTEM = "urn:wellrate:data-quality"
# Canonical URLs of the HL7 CGM IG 1.0.0 profiles (http://hl7.org/fhir/uv/cgm).
CGM_IG = "http://hl7.org/fhir/uv/cgm/StructureDefinition/"
_CGM_READING_PROFILE = {
    "mg/dL": CGM_IG + "cgm-sensor-reading-mass-per-volume",
    "mmol/L": CGM_IG + "cgm-sensor-reading-moles-per-volume",
}
# FHIR R4 core vital-signs BP profile.
BP_PROFILE = "http://hl7.org/fhir/StructureDefinition/bp"
# The namespace of every Wellrate resource id: uuid5(NAMESPACE, "<type>|<natural key>").
# A fixed random UUID; changing it changes every exported id.
NAMESPACE = uuid.UUID("4f1c7e2a-9b53-4d0e-8a61-2c7d0b9e5f13")

BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
# (method, unit) -> LOINC; docs/fhir.md, "Codes".
GLUCOSE_CODES: dict[tuple[str, str], tuple[str, str]] = {
    ("cgm", "mg/dL"): ("99504-3", "Glucose [Mass/volume] in Interstitial fluid"),
    ("cgm", "mmol/L"): ("105272-9", "Glucose [Moles/volume] in Interstitial fluid"),
    ("smbg", "mg/dL"): ("41653-7", "Glucose [Mass/volume] in Capillary blood by Glucometer"),
    ("smbg", "mmol/L"): ("14743-9", "Glucose [Moles/volume] in Capillary blood by Glucometer"),
}
STEPS = ("55423-8", "Number of steps in unspecified time Pedometer")
# UCUM codes for the units devices report.
UCUM_UNITS = {"mg/dL": "mg/dL", "mmol/L": "mmol/L", "mmHg": "mm[Hg]", "steps": "{steps}"}
# Human-readable units: the CGM IG 1.0.0 pins "mg/dl" / "mmol/l" on its Quantity patterns
# (RuleSets GlucoseMassPerVolume / GlucoseMolesPerVolume), so every glucose Quantity uses them.
DISPLAY_UNITS = {"mg/dL": "mg/dl", "mmol/L": "mmol/l", "mmHg": "mmHg", "steps": "steps"}

_TEXT: dict[str, dict[Lang, str]] = {
    "patient": {"en": "Wellrate member {id} (pseudonymous)", "zh": "Wellrate 会员 {id}（化名）"},
    "device": {"en": "{name}, {validated}", "zh": "{name}，{validated}"},
    "validated": {"en": "clinically validated", "zh": "经临床验证"},
    "not_validated": {"en": "not clinically validated", "zh": "未经临床验证"},
    "unknown": {"en": "validation status unknown", "zh": "验证状态未知"},
    "bp": {"en": "Blood pressure {sys}/{dia} mmHg at {t}", "zh": "血压 {sys}/{dia} mmHg，{t}"},
    "glucose_cgm": {"en": "CGM glucose {v} at {t}", "zh": "动态血糖 {v}，{t}"},
    "glucose_smbg": {"en": "Fingerstick glucose {v} at {t}", "zh": "指尖血糖 {v}，{t}"},
    "LO": {"en": "below the meter's range (LO)", "zh": "低于仪器量程（LO）"},
    "HI": {"en": "above the meter's range (HI)", "zh": "高于仪器量程（HI）"},
    "steps": {"en": "{n} steps from {s} to {e}", "zh": "{s} 至 {e} 共 {n} 步"},
    "clinic": {"en": "measured at the community clinic", "zh": "社区卫生服务中心测量"},
    "unvalidated_reading": {
        # ESH 2022 (Stergiou et al., J Hypertens 2022): cuffless BP devices are not validated
        # for diagnosis or management; the readings are shown, never used as cuff readings.
        "en": "from a device not clinically validated (e.g. cuffless): not for diagnosis or "
        "treatment decisions",
        "zh": "来自未经临床验证的设备（如无袖带血压计）：不用于诊断或治疗决策",
    },
}
_LANG_TAG: dict[Lang, str] = {"en": "en", "zh": "zh-CN"}


def resource_id(resource_type: str, *key: str) -> str:
    """A valid FHIR id for a natural key: UUID v5 (36 characters of ``[0-9a-f-]``).

    Unique for distinct keys (the parts are joined with a separator no id can contain in a
    way that collides: each part is length-prefixed) and the same in every export."""
    name = resource_type + "".join(f"|{len(k)}:{k}" for k in key)
    return str(uuid.uuid5(NAMESPACE, name))


# FHIR R4 string (http://hl7.org/fhir/R4/datatypes.html#string): regex [ \r\n\t\S]+, and
# "SHOULD not contain Unicode character points below 32, except for u0009, u000D and u000A".
_FHIR_STRING = re.compile(r"[ \r\n\t\S]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_fhir_string(value: str) -> bool:
    return bool(_FHIR_STRING.fullmatch(value)) and not _CONTROL.search(value)


def safe_text(value: str) -> str:
    """``value`` when it is a valid FHIR string (and XHTML text), else percent-encoded."""
    return value if is_fhir_string(value) else urllib.parse.quote(value, safe="")


def member_identifier(member_id: str) -> dict[str, str]:
    """The member id as an Identifier; percent-encoded under its own system when it is not a
    valid FHIR string, so the value is never altered silently."""
    if is_fhir_string(member_id):
        return {"system": MEMBER_SYSTEM, "value": member_id}
    return {"system": MEMBER_SYSTEM_ENCODED, "value": urllib.parse.quote(member_id, safe="")}


def full_url(rid: str) -> str:
    return f"urn:uuid:{rid}"


def _code(code: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code[0], "display": code[1]}], "text": code[1]}


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": _CATEGORY, "code": code}]}]


def _qty(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": DISPLAY_UNITS[unit], "system": UCUM, "code": UCUM_UNITS[unit]}


def _local(ts: datetime, offset_min: int) -> datetime:
    return ts.astimezone(timezone(timedelta(minutes=int(offset_min))))


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def _key_time(ts: datetime) -> str:
    """The instant of a natural key, in UTC with microseconds (what PostgreSQL stores)."""
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def narrative(text: str) -> dict[str, Any]:
    """A generated narrative: one escaped XHTML paragraph (FHIR txt-1/txt-2)."""
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{html.escape(text)}</p></div>',
    }


def _t(key: str, lang: Lang, **kw: Any) -> str:
    return _TEXT[key][lang].format(**kw)


def patient(member_id: str, lang: Lang) -> dict[str, Any]:
    """The member as a pseudonymous Patient: the member id as identifier, no name."""
    return {
        "resourceType": "Patient",
        "id": resource_id("Patient", member_id),
        "language": _LANG_TAG[lang],
        "text": narrative(_t("patient", lang, id=safe_text(member_id))),
        "identifier": [member_identifier(member_id)],
    }


def device(device_id: str, info: dict[str, Any] | None, lang: Lang) -> dict[str, Any]:
    """A Device with its model and clinical validation status (property, v2-0136 Y/N)."""
    res: dict[str, Any] = {
        "resourceType": "Device",
        "id": resource_id("Device", device_id),
        "language": _LANG_TAG[lang],
        "identifier": [{"system": DEVICE_SYSTEM, "value": device_id}],
    }
    if info is None:  # a clinic-entered reading's source, not in the registry
        res["text"] = narrative(_t("unknown", lang))
        return res
    model = safe_text(info.get("model") or info["device_type"])
    status = "validated" if info["validated"] else "not_validated"
    shown = model if model == info["device_type"] else f"{info['device_type']} {model}"
    res["text"] = narrative(_t("device", lang, name=shown, validated=_t(status, lang)))
    res["deviceName"] = [{"name": model, "type": "model-name"}]
    if info["device_type"] == "cgm":  # CGM IG CGMDevice: a user-friendly name is required
        res["deviceName"].append({"name": model, "type": "user-friendly-name"})
    if info.get("model"):
        res["modelNumber"] = model
    res["type"] = {"text": info["device_type"]}
    res["property"] = [
        {
            "type": {
                "coding": [{"system": PROPERTY_SYSTEM, "code": "clinically-validated"}],
                "text": "clinically validated",
            },
            "valueCode": [
                {"coding": [{"system": _YES_NO, "code": "Y" if info["validated"] else "N"}]}
            ],
        }
    ]
    return res


class _Ctx:
    """What every Observation of one export shares: the patient, devices and language."""

    def __init__(self, member_id: str, devices: dict[str, dict[str, Any]], lang: Lang) -> None:
        self.patient_ref = {"reference": full_url(resource_id("Patient", member_id))}
        self.devices = devices
        self.lang = lang

    def validated(self, r: dict[str, Any]) -> bool | None:
        """The reading's own flag (BP stores it at ingest), else its device's."""
        if "validated" in r and r["validated"] is not None:
            return bool(r["validated"])
        info = self.devices.get(r["device_id"])
        return None if info is None else bool(info["validated"])

    def base(self, kind: str, key: tuple[str, ...], r: dict[str, Any]) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": resource_id("Observation", kind, *key),
            "language": _LANG_TAG[self.lang],
            "status": "final",
            "subject": dict(self.patient_ref),
            "device": {"reference": full_url(resource_id("Device", r["device_id"]))},
        }
        notes = []
        if r["source"] == "clinic":
            notes.append(_t("clinic", self.lang))
        if self.validated(r) is False:
            obs["meta"] = {"tag": [{"system": QUALITY_SYSTEM, "code": "not-validated-device"}]}
            notes.append(_t("unvalidated_reading", self.lang))
        if notes:
            obs["note"] = [{"text": n} for n in notes]
        return obs

    def finish(self, obs: dict[str, Any], text: str) -> dict[str, Any]:
        """Put the narrative first after the id (its conventional place) and note flags."""
        if "note" in obs:
            text += ". " + "; ".join(n["text"] for n in obs["note"])
        head: tuple[str, ...] = ("resourceType", "id", "meta", "language")
        out: dict[str, Any] = {k: obs[k] for k in head if k in obs}
        out["text"] = narrative(text)
        out.update({k: v for k, v in obs.items() if k not in out})
        return out


def bp_observation(ctx: _Ctx, r: dict[str, Any]) -> dict[str, Any]:
    obs = ctx.base("bp", (r["device_id"], _key_time(r["measured_at"])), r)
    when = _iso(_local(r["measured_at"], r["utc_offset_min"]))
    obs.setdefault("meta", {})["profile"] = [BP_PROFILE]
    obs.update(
        category=_category("vital-signs"),
        code=_code(BP_PANEL),
        effectiveDateTime=when,
        component=[
            {"code": _code(SYSTOLIC), "valueQuantity": _qty(float(r["systolic"]), "mmHg")},
            {"code": _code(DIASTOLIC), "valueQuantity": _qty(float(r["diastolic"]), "mmHg")},
        ],
    )
    text = _t("bp", ctx.lang, sys=r["systolic"], dia=r["diastolic"], t=when)
    return ctx.finish(obs, text)


def glucose_observation(ctx: _Ctx, r: dict[str, Any]) -> dict[str, Any]:
    obs = ctx.base("glucose", (r["device_id"], _key_time(r["measured_at"])), r)
    when = _iso(_local(r["measured_at"], r["utc_offset_min"]))
    if r["method"] == "cgm" and not r["censored"]:
        # The CGM IG profiles require a valueQuantity: a censored reading cannot claim them.
        obs.setdefault("meta", {})["profile"] = [_CGM_READING_PROFILE[r["unit"]]]
    obs.update(
        category=_category("laboratory"),
        code=_code(GLUCOSE_CODES[(r["method"], r["unit"])]),
        effectiveDateTime=when,
    )
    if r["censored"]:
        low = r["censored"] == "LO"
        obs["dataAbsentReason"] = {
            "coding": [
                {"system": _ABSENT, "code": "negative-infinity" if low else "positive-infinity"}
            ]
        }
        obs["interpretation"] = [{"coding": [{"system": _INTERP, "code": "L" if low else "H"}]}]
        shown = _t(r["censored"], ctx.lang)
    else:
        obs["valueQuantity"] = _qty(float(r["value"]), r["unit"])
        shown = f"{r['value']:g} {DISPLAY_UNITS[r['unit']]}"
    key = "glucose_cgm" if r["method"] == "cgm" else "glucose_smbg"
    return ctx.finish(obs, _t(key, ctx.lang, v=shown, t=when))


def steps_observation(ctx: _Ctx, r: dict[str, Any]) -> dict[str, Any]:
    start: datetime = r["start_at"]
    obs = ctx.base("steps", (r["device_id"], _key_time(start), str(int(r["duration_s"]))), r)
    s = _local(start, r["utc_offset_min"])
    e = s + timedelta(seconds=int(r["duration_s"]))
    obs.update(
        category=_category("activity"),
        code=_code(STEPS),
        effectivePeriod={"start": _iso(s), "end": _iso(e)},
        valueQuantity=_qty(float(r["steps"]), "steps"),
    )
    return ctx.finish(obs, _t("steps", ctx.lang, n=r["steps"], s=_iso(s), e=_iso(e)))


# --- HL7 CGM IG 1.0.0 summary (http://hl7.org/fhir/uv/cgm, profiles.fsh) -----------------

CGM_SUMMARY_SYSTEM = "http://hl7.org/fhir/uv/cgm/CodeSystem/cgm-summary-codes-temporary"
# The IG's ConceptMap CGMSummaryToLoinc: cgm-summary is equivalent to LOINC 104643-2.
CGM_SUMMARY_LOINC = "104643-2"
# HL7 v2 table 0074 (diagnostic service section): LAB, the category of the report.
_V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
# Wellrate's own codes for the event counts the guide has no code for.
CGM_METRIC_SYSTEM = "urn:wellrate:cgm-metric"
# (indicator key, LOINC, display, UCUM unit, display unit, IG profile id); the LOINC codes
# are the CGM IG 1.0.0's (its CodeableConcept instances *WithLoinc).
_CGM_MEMBERS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("mean_mgdl", "97507-8", "Average glucose [Mass/volume] in Interstitial fluid",
     "mg/dL", "mg/dl", "cgm-summary-mean-glucose-mass-per-volume"),
    ("gmi", "97506-0", "Glucose management indicator", "%", "%", "cgm-summary-gmi"),
    ("cv", "104638-2", "Coefficient of variation of glucose", "%", "%",
     "cgm-summary-coefficient-of-variation"),
    ("days_worn", "104636-6", "Continuous glucose monitoring duration of use", "d", "days",
     "cgm-summary-days-of-wear"),
    ("active_pct", "104637-4", "Continuous glucose monitoring sensor wear time active", "%",
     "%", "cgm-summary-sensor-active-percentage"),
)  # fmt: skip
TIMES_IN_RANGES = ("106793-3", "Continuous glucose monitoring time in ranges panel")
# (band, LOINC, display): Battelino 2019 bands; the percentages are cumulative in the
# indicators (tbr70 includes tbr54, tar180 includes tar250), so low and high are differences.
_TIR_BANDS = (
    ("very_low", "104642-4", "Time in very low range (<54 mg/dL)"),
    ("low", "104641-6", "Time in low range (54-69 mg/dL)"),
    ("target", "97510-2", "Time in target range (70-180 mg/dL)"),
    ("high", "104640-8", "Time in high range (181-250 mg/dL)"),
    ("very_high", "104639-0", "Time in very high range (>250 mg/dL)"),
)
# Optional event counts (absent in older score rows): key -> (code, en, zh).
_CGM_EVENTS = {
    "hypo_l1_events": ("hypo-l1-events", "level 1 hypoglycaemia events (<70 mg/dL)",
                       "1级低血糖事件（<70 mg/dL）"),
    "hypo_l2_events": ("hypo-l2-events", "level 2 hypoglycaemia events (<54 mg/dL)",
                       "2级低血糖事件（<54 mg/dL）"),
    "hypo_extended_events": ("hypo-extended-events",
                             "extended hypoglycaemia events (>120 min <70 mg/dL)",
                             "持续低血糖事件（<70 mg/dL 超过120分钟）"),
}  # fmt: skip
_LABELS: dict[str, dict[Lang, str]] = {
    "mean_mgdl": {"en": "mean glucose", "zh": "平均血糖"},
    "gmi": {"en": "GMI", "zh": "血糖管理指标（GMI）"},
    "cv": {"en": "glucose CV", "zh": "血糖变异系数"},
    "days_worn": {"en": "days of wear", "zh": "佩戴天数"},
    "active_pct": {"en": "sensor active", "zh": "传感器有效时间"},
    "very_low": {"en": "very low (<54 mg/dL)", "zh": "极低（<54 mg/dL）"},
    "low": {"en": "low (54-69 mg/dL)", "zh": "低（54-69 mg/dL）"},
    "target": {"en": "in range (70-180 mg/dL)", "zh": "目标范围（70-180 mg/dL）"},
    "high": {"en": "high (181-250 mg/dL)", "zh": "高（181-250 mg/dL）"},
    "very_high": {"en": "very high (>250 mg/dL)", "zh": "极高（>250 mg/dL）"},
}
_SUMMARY_TEXT: dict[Lang, str] = {
    "en": "CGM summary {s} to {e}: {items}",
    "zh": "动态血糖总结 {s} 至 {e}：{items}",
}


def _bands(cgm: dict[str, Any]) -> dict[str, float] | None:
    keys = ("tbr54", "tbr70", "tir", "tar180", "tar250")
    if any(cgm.get(k) is None for k in keys):
        return None
    v = {k: float(cgm[k]) for k in keys}
    return {
        "very_low": v["tbr54"],
        "low": v["tbr70"] - v["tbr54"],
        "target": v["tir"],
        "high": v["tar180"] - v["tar250"],
        "very_high": v["tar250"],
    }


def cgm_summary(
    patient_ref: dict[str, str], member_id: str, w: dict[str, Any], lang: Lang
) -> list[dict[str, Any]]:
    """One score window's CGM summary as the CGM IG's resources: a DiagnosticReport whose
    result is the summary panel (code cgm-summary, ``hasMember``), and the panel's members
    (mean glucose, times in ranges, GMI, CV, days of wear, sensor active %, and the optional
    hypoglycaemia event counts).

    A member whose indicator is missing is left out (never invented); the panel claims the
    CGMSummaryObservation profile only when every member the profile requires is there.
    """
    cgm: dict[str, Any] = {**(w["cgm"] or {}), "days_worn": w["days_worn"]}
    per = period(w["window_start"], w["window_end"])
    key = (member_id, w["window_start"].isoformat(), w["window_end"].isoformat())

    def obs(code: tuple[str, str, str], profile: str | None, text: str) -> dict[str, Any]:
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "id": resource_id("Observation", "cgm-summary", code[1], *key),
            "language": _LANG_TAG[lang],
        }
        if profile:
            res["meta"] = {"profile": [CGM_IG + profile]}
        res["text"] = narrative(text)
        res.update(
            status="final",
            category=_category("laboratory"),
            # The description goes in text, not Coding.display: a display must be the code
            # system's own (a validator checks it against LOINC), the text is ours.
            code={"coding": [{"system": code[0], "code": code[1]}], "text": code[2]},
            subject=dict(patient_ref),
            effectivePeriod=dict(per),
        )
        return res

    members: list[dict[str, Any]] = []
    shown: list[str] = []
    required = 0
    for ind, loinc, display, ucum, unit, profile in _CGM_MEMBERS:
        if cgm.get(ind) is None:
            continue
        value = round(float(cgm[ind]), 2)
        label = f"{_LABELS[ind][lang]} {value:g} {unit}"
        o = obs((LOINC, loinc, display), profile, label)
        o["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": ucum}
        members.append(o)
        shown.append(label)
        required += 1
    bands = _bands(cgm)
    if bands is not None:
        tir = obs((LOINC, *TIMES_IN_RANGES), "cgm-summary-times-in-ranges", "")
        tir["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": code}], "text": display},
                "valueQuantity": {
                    "value": round(bands[band], 2),
                    "unit": "%",
                    "system": UCUM,
                    "code": "%",
                },
            }
            for band, code, display in _TIR_BANDS
        ]
        text = "; ".join(
            f"{_LABELS[band][lang]} {round(bands[band], 2):g} %" for band, _, _ in _TIR_BANDS
        )
        tir["text"] = narrative(text)
        members.append(tir)
        shown.append(text)
        required += 1
    for ind, (code, en, zh) in _CGM_EVENTS.items():
        if cgm.get(ind) is None:
            continue
        display = en if lang == "en" else zh
        o = obs((CGM_METRIC_SYSTEM, code, en), None, f"{display}: {int(cgm[ind])}")
        o["valueQuantity"] = {
            "value": int(cgm[ind]), "unit": "events", "system": UCUM, "code": "{events}"
        }  # fmt: skip
        members.append(o)
        shown.append(f"{display} {int(cgm[ind])}")
    if not members:
        return []
    text = _SUMMARY_TEXT[lang].format(s=per["start"], e=per["end"], items="; ".join(shown))
    # The profile's hasMember slices: timesInRanges, gmi, cv, daysOfWear and
    # sensorActivePercentage 1..1 and a mean glucose (hasMember 6..*).
    complete = required == len(_CGM_MEMBERS) + 1
    panel_profile = "cgm-summary" if complete else None
    panel = obs((CGM_SUMMARY_SYSTEM, "cgm-summary", "CGM Summary Report"), panel_profile, text)
    panel["hasMember"] = [{"reference": full_url(m["id"])} for m in members]
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": resource_id("DiagnosticReport", "cgm-summary", *key),
        "language": _LANG_TAG[lang],
        "text": narrative(text),
        "status": "final",
        "category": [{"coding": [{"system": _V2_0074, "code": "LAB"}]}],
        # The CGM IG's temporary code and the LOINC code its concept map gives for it.
        "code": {
            "coding": [
                {"system": CGM_SUMMARY_SYSTEM, "code": "cgm-summary"},
                {"system": LOINC, "code": CGM_SUMMARY_LOINC},
            ],
            "text": "CGM summary report",
        },
        "subject": dict(patient_ref),
        "effectivePeriod": dict(per),
        "result": [{"reference": full_url(panel["id"])}],
        "conclusion": text,
    }
    return [report, panel, *members]


def _device_ids(readings: dict[str, list[dict[str, Any]]]) -> list[str]:
    seen: dict[str, None] = {}
    for rows in readings.values():
        for r in rows:
            seen.setdefault(r["device_id"], None)
    return list(seen)


def bundle(
    member_id: str,
    readings: dict[str, list[dict[str, Any]]],
    now: datetime,
    *,
    devices: dict[str, dict[str, Any]] | None = None,
    summaries: list[dict[str, Any]] | None = None,
    lang: Lang = "en",
) -> dict[str, Any]:
    """A ``collection`` Bundle: the Patient, the Devices the readings came from, then the
    Observations. No ``total`` (FHIR bdl-1: only searchset and history Bundles carry it).

    ``devices`` maps a device id to its registry row (device_type, model, validated);
    ``summaries`` are CGM score windows (window_start, window_end, cgm indicators,
    days_worn), each exported as the CGM IG's summary Observations.
    """
    devices = devices or {}
    ctx = _Ctx(member_id, devices, lang)
    resources = [patient(member_id, lang)]
    resources += [device(d, devices.get(d), lang) for d in _device_ids(readings)]
    resources += [bp_observation(ctx, r) for r in readings["bp"]]
    resources += [glucose_observation(ctx, r) for r in readings["glucose"]]
    resources += [steps_observation(ctx, r) for r in readings["activity"]]
    for w in summaries or []:
        resources += cgm_summary(ctx.patient_ref, member_id, w, lang)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "language": _LANG_TAG[lang],
        "type": "collection",
        "timestamp": _iso(now),
        "entry": [{"fullUrl": full_url(r["id"]), "resource": r} for r in resources],
    }


def period(start: date, end_exclusive: date) -> dict[str, str]:
    """A window [start, end) as a FHIR Period of whole days (end is the last day)."""
    return {"start": start.isoformat(), "end": (end_exclusive - timedelta(days=1)).isoformat()}


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
