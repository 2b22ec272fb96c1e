"""Glucose readings (CGM and fingerstick): the accepted reading, bounds, validators, fast path.

The bounds reject values no meter or sensor can truthfully report; they are not clinical
thresholds, which live in ``scoring.indicators.rules`` (docs/clinical.md, "Glucose
units"). Values are stored in the unit the device reported and compared in it, never
after conversion; "LO"/"HI" are censored values, stored with a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from core.payload_format import MEAL_CONTEXTS, UNCLASSIFIED_MEAL_CONTEXTS
from core.units import UNIT_ALIASES, GlucoseUnit
from ingest.kinds.common import (
    Limits,
    Reject,
    fast_time,
    get,
    in_range,
    number,
    timestamp,
    unit_value,
)
from ingest.kinds.omh import (
    CENSORED_KEY,
    GLUCOSE_SPECIMENS,
    MEAL_RELATIONSHIPS,
    SLEEP_RELATIONSHIPS,
    SPECIMEN_SOURCES,
    enum,
    not_aggregate,
    point_time,
)

# Decision (the ingest bad-input rules, docs/ingest.md "Dead letters"): glucose outside
# 1.1-33.3 mmol/L or 20-600 mg/dL, the typical meter/CGM reporting range; beyond it
# devices report "LO"/"HI". Compared in the unit the device reported, never after
# conversion (docs/clinical.md, "Glucose units"). Inclusive.
GLUCOSE_RANGE: Final[dict[GlucoseUnit, tuple[float, float]]] = {
    "mmol/L": (1.1, 33.3),
    "mg/dL": (20.0, 600.0),
}
CENSORED: Final = ("LO", "HI")
METHODS: Final = ("cgm", "smbg")


@dataclass(slots=True)  # not frozen: hot path, frozen __init__ is ~3x slower; never mutated
class GlucoseReading:
    device_id: str
    measured_at: datetime
    utc_offset_min: int
    value: float | None
    unit: GlucoseUnit
    censored: Literal["LO", "HI"] | None
    method: str
    meal_context: str | None


def _unit(value: Any, path: str) -> GlucoseUnit:
    if isinstance(value, str):
        key = value.strip().replace(" ", "")
        unit = UNIT_ALIASES.get(key) or UNIT_ALIASES.get(key.lower())
        if unit:
            return unit
    raise Reject("unknown_unit", path, f"unit {str(value)[:20]!r}; expected mg/dL or mmol/L")


def _value(raw: Any, unit: GlucoseUnit, path: str) -> tuple[float | None, Any]:
    """(value, None) in range, or (None, "LO"/"HI") for a censored reading."""
    if isinstance(raw, str) and raw.strip().upper() in CENSORED:
        return None, raw.strip().upper()
    value = number(raw, path)
    in_range(value, GLUCOSE_RANGE[unit], path, unit)
    return value, None


def _meal(raw: Any, path: str) -> str | None:
    if raw is None:
        return None
    meal = str(raw).strip().lower().replace(" ", "_")
    if meal not in MEAL_CONTEXTS and meal not in UNCLASSIFIED_MEAL_CONTEXTS:
        raise Reject("invalid_value", path, f"meal context {str(raw)[:30]!r} is not known")
    return meal


def compact(
    item: dict[str, Any], path: str, dev: str, received_at: datetime, limits: Limits
) -> GlucoseReading:
    """``{"t", "v", "u", "m"[, "meal"]}``."""
    ts, off = timestamp(get(item, "t", path), f"{path}/t", received_at, limits)
    unit = _unit(get(item, "u", path), f"{path}/u")
    value, censored = _value(get(item, "v", path), unit, f"{path}/v")
    method = get(item, "m", path)
    if method not in METHODS:
        raise Reject("invalid_value", f"{path}/m", f"method {str(method)[:20]!r}; cgm or smbg")
    meal = _meal(item.get("meal"), f"{path}/meal")
    return GlucoseReading(dev, ts, off, value, unit, censored, method, meal)


def omh(
    body: dict[str, Any], path: str, dev: str, received_at: datetime, limits: Limits
) -> GlucoseReading:
    """An Open mHealth ``blood-glucose`` 4.0 body.

    ``specimen_source`` "interstitial fluid" is a CGM reading, "capillary blood" (or none) a
    fingerstick; other specimens are refused. The value is a number, as the schema requires;
    a reading beyond the meter's range carries its limit and ``"censored": "LO"|"HI"``.
    ``temporal_relationship_to_sleep`` "before sleeping" without a meal relationship is
    stored as the ``before_sleep`` meal context.
    """
    raw, raw_unit = unit_value(body, "blood_glucose", path)
    unit = _unit(raw_unit, f"{path}/blood_glucose/unit")
    vpath = f"{path}/blood_glucose/value"
    flag = body.get(CENSORED_KEY)
    if flag is not None and flag not in CENSORED:
        raise Reject("invalid_value", f"{path}/{CENSORED_KEY}", "censored is LO or HI")
    number(raw, vpath)  # a number, as the schema requires, even for a censored reading
    value, censored = (None, flag) if flag is not None else _value(raw, unit, vpath)
    specimen = enum(body, "specimen_source", SPECIMEN_SOURCES, path) or "capillary blood"
    if specimen not in GLUCOSE_SPECIMENS:
        raise Reject(
            "unsupported_specimen",
            f"{path}/specimen_source",
            f"glucose in {specimen} is not blood or interstitial fluid glucose",
        )
    meal_rel = enum(body, "temporal_relationship_to_meal", MEAL_RELATIONSHIPS, path)
    sleep_rel = enum(body, "temporal_relationship_to_sleep", SLEEP_RELATIONSHIPS, path)
    not_aggregate(body, path)
    tpath = f"{path}/effective_time_frame/date_time"
    ts, off = timestamp(point_time(body, path), tpath, received_at, limits)
    meal = _meal(meal_rel, f"{path}/temporal_relationship_to_meal")
    if meal is None and sleep_rel == "before sleeping":
        meal = "before_sleep"
    return GlucoseReading(dev, ts, off, value, unit, censored, GLUCOSE_SPECIMENS[specimen], meal)


_FAST_KEYS: Final = frozenset(("t", "v", "u", "m"))


def fast(item: Any, dev: str, earliest: datetime, latest: datetime) -> GlucoseReading | None:
    """The plain compact reading, or None to take :func:`compact` (``common``, fast path)."""
    if type(item) is not dict or not item.keys() <= _FAST_KEYS:
        return None
    unit, value, method = item.get("u"), item.get("v"), item.get("m")
    if type(unit) is not str or unit not in GLUCOSE_RANGE or method not in METHODS:
        return None
    if type(value) is not int and type(value) is not float:
        return None
    lo, hi = GLUCOSE_RANGE[unit]
    if not lo <= value <= hi:
        return None
    when = fast_time(item.get("t"), earliest, latest)
    if when is None:
        return None
    return GlucoseReading(dev, when[0], when[1], float(value), unit, None, method, None)
