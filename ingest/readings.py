"""Per-kind reading rules: the accepted dataclasses and the validation of one reading.

Pure and table-driven: plausibility bounds are named constants with their source, and
each failure raises :class:`Reject` with a machine-readable reason, the JSON path of the
offending field (Tidepool style: ``/readings/3/sys``) and a human detail.

These bounds reject values no device can truthfully report (a typo, a unit mix-up, a
broken sensor); they are NOT clinical thresholds. Clinical classification happens in
``scoring`` against ``/work/shared/CLINICAL.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from core.payload_format import MEAL_CONTEXTS, Kind
from core.units import UNIT_ALIASES, GlucoseUnit

# --- plausibility bounds (inclusive) ----------------------------------------------------
# Issue 2 "Bad input": systolic outside 50-300 mmHg is impossible; so is systolic <= diastolic.
SYSTOLIC_MMHG: Final = (50, 300)
# Diastolic and pulse: wide device-range bounds chosen for ingest (validated upper-arm
# monitors measure roughly 40-200 mmHg diastolic and 40-180 bpm); anything outside is a
# fault, not a patient.
DIASTOLIC_MMHG: Final = (20, 200)
PULSE_BPM: Final = (20, 250)
# Issue 2: glucose outside 1.1-33.3 mmol/L or 20-600 mg/dL (typical meter/CGM reporting
# range; beyond it devices report "LO"/"HI"). Compared in the unit the device reported,
# never after conversion (CLINICAL.md "Glucose units").
GLUCOSE_RANGE: Final[dict[GlucoseUnit, tuple[float, float]]] = {
    "mmol/L": (1.1, 33.3),
    "mg/dL": (20.0, 600.0),
}
CENSORED: Final = ("LO", "HI")
# Issue 2: more than 300 steps per minute of the interval is impossible (elite sprint
# cadence is ~200-250/min; CADENCE-Adults puts vigorous walking at >= 130/min).
MAX_STEPS_PER_MIN: Final = 300
MAX_ACTIVITY_INTERVAL_S: Final = 24 * 3600
HEART_RATE_BPM: Final = PULSE_BPM
METHODS: Final = ("cgm", "smbg")

# Open mHealth schema name -> (kind, supported versions). CLINICAL.md "Interoperability".
OMH_SCHEMAS: Final[dict[str, tuple[Kind, tuple[str, ...]]]] = {
    "blood-pressure": ("bp", ("4.0",)),
    "blood-glucose": ("glucose", ("4.0",)),
    "step-count": ("activity", ("3.0",)),
}
_OMH_KEYS: Final[dict[str, Kind]] = {
    "systolic_blood_pressure": "bp",
    "blood_glucose": "glucose",
    "step_count": "activity",
}
_COMPACT_KEYS: Final[dict[str, Kind]] = {"sys": "bp", "v": "glucose", "steps": "activity"}
_DURATION_S: Final = {"ms": 0.001, "sec": 1, "s": 1, "min": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one message or one reading of it was refused (becomes a dead_letters row)."""

    reason: str
    field: str | None
    detail: str
    index: int | None = None


class Reject(Exception):  # control flow inside the parser, not an error type
    """Raised inside the parser; becomes a :class:`Rejection`."""

    def __init__(self, reason: str, field: str | None, detail: str) -> None:
        super().__init__(reason)
        self.reason, self.field, self.detail = reason, field, detail

    def rejection(self, index: int | None = None) -> Rejection:
        return Rejection(self.reason, self.field, self.detail, index)


@dataclass(frozen=True)
class Limits:
    """The settings the parser needs, so it stays pure (built from ``Settings``)."""

    max_payload_bytes: int
    max_future_skew_s: int
    max_age_days: int
    skew: timedelta = field(init=False)
    max_age: timedelta = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "skew", timedelta(seconds=self.max_future_skew_s))
        object.__setattr__(self, "max_age", timedelta(days=self.max_age_days))


@dataclass(slots=True)  # not frozen: hot path, frozen __init__ is ~3x slower; never mutated
class BPReading:
    device_id: str
    measured_at: datetime
    utc_offset_min: int
    systolic: int
    diastolic: int
    pulse: int | None


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


@dataclass(slots=True)  # not frozen: hot path, frozen __init__ is ~3x slower; never mutated
class ActivityReading:
    device_id: str
    measured_at: datetime  # interval start
    utc_offset_min: int
    duration_s: int
    steps: int
    active_minutes: int
    vigorous_minutes: int
    heart_rate: int | None


Reading = BPReading | GlucoseReading | ActivityReading


# --- field helpers ----------------------------------------------------------------------
def _get(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj or obj[key] is None:
        raise Reject("missing_field", f"{path}/{key}", f"{key} is required")
    return obj[key]


def _number(value: Any, path: str) -> float:
    if type(value) is float or type(value) is int:  # the common case first (not bool)
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Reject("invalid_type", path, f"expected a number, got {type(value).__name__}")
    return float(value)


def _int(value: Any, path: str) -> int:
    if type(value) is int:  # the common case first (bool is a subclass: excluded)
        return value
    num = _number(value, path)
    if not num.is_integer():
        raise Reject("invalid_type", path, f"expected a whole number, got {num}")
    return int(num)


def _in_range(value: float, bounds: tuple[float, float], path: str, unit: str) -> None:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise Reject("implausible_value", path, f"{value:g} {unit} outside {lo:g}-{hi:g} {unit}")


def _time(value: Any, path: str, received_at: datetime, limits: Limits) -> tuple[datetime, int]:
    if not isinstance(value, str):
        raise Reject("invalid_type", path, "timestamp must be an ISO 8601 string")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise Reject("bad_timestamp", path, f"not ISO 8601: {value[:40]!r}") from None
    offset = ts.utcoffset()
    if offset is None:
        raise Reject("missing_utc_offset", path, "timestamp needs a UTC offset (e.g. +08:00)")
    if ts > received_at + limits.skew:
        raise Reject(
            "future_timestamp", path, f"more than {limits.max_future_skew_s} s ahead of receipt"
        )
    if ts < received_at - limits.max_age:
        raise Reject("too_old", path, f"older than the {limits.max_age_days}-day horizon")
    return ts, int(offset.total_seconds() // 60)


def _unit(value: Any, path: str) -> GlucoseUnit:
    if isinstance(value, str):
        key = value.strip().replace(" ", "")
        unit = UNIT_ALIASES.get(key) or UNIT_ALIASES.get(key.lower())
        if unit:
            return unit
    raise Reject("unknown_unit", path, f"unit {str(value)[:20]!r}; expected mg/dL or mmol/L")


def _glucose_value(raw: Any, unit: GlucoseUnit, path: str) -> tuple[float | None, Any]:
    if isinstance(raw, str) and raw.strip().upper() in CENSORED:
        return None, raw.strip().upper()
    value = _number(raw, path)
    _in_range(value, GLUCOSE_RANGE[unit], path, unit)
    return value, None


def _meal(raw: Any, path: str) -> str | None:
    if raw is None:
        return None
    meal = str(raw).strip().lower().replace(" ", "_")
    if meal not in MEAL_CONTEXTS:
        raise Reject("invalid_value", path, f"meal context {str(raw)[:30]!r} is not known")
    return meal


def _bp(
    dev: str, ts: datetime, off: int, sys_: Any, dia: Any, pulse: Any, p: tuple[str, ...]
) -> BPReading:
    systolic, diastolic = _int(sys_, p[0]), _int(dia, p[1])
    _in_range(systolic, SYSTOLIC_MMHG, p[0], "mmHg")
    _in_range(diastolic, DIASTOLIC_MMHG, p[1], "mmHg")
    if systolic <= diastolic:
        raise Reject("implausible_value", p[1], f"systolic {systolic} <= diastolic {diastolic}")
    pulse_v = None
    if pulse is not None:
        pulse_v = _int(pulse, p[2])
        _in_range(pulse_v, PULSE_BPM, p[2], "bpm")
    return BPReading(dev, ts, off, systolic, diastolic, pulse_v)


def _activity(
    dev: str, ts: datetime, off: int, dur_s: float, steps: int, extra: dict[str, Any], path: str
) -> ActivityReading:
    if not 1 <= dur_s <= MAX_ACTIVITY_INTERVAL_S:
        raise Reject("implausible_value", f"{path}/dur", f"interval of {dur_s:g} s")
    if steps < 0:
        raise Reject("implausible_value", f"{path}/steps", "negative step count")
    if steps > MAX_STEPS_PER_MIN * dur_s / 60:
        raise Reject(
            "implausible_value",
            f"{path}/steps",
            f"{steps} steps in {dur_s:g} s is over {MAX_STEPS_PER_MIN} per minute",
        )
    minutes = dur_s / 60
    active = _int(extra.get("active_min", 0), f"{path}/active_min")
    vig = _int(extra.get("vig_min", 0), f"{path}/vig_min")
    if not 0 <= active <= minutes + 0.5:
        raise Reject("implausible_value", f"{path}/active_min", "outside 0..interval minutes")
    if not 0 <= vig <= active:
        raise Reject("implausible_value", f"{path}/vig_min", "vigorous minutes exceed active")
    hr = None
    if extra.get("hr") is not None:
        hr = _int(extra["hr"], f"{path}/hr")
        _in_range(hr, HEART_RATE_BPM, f"{path}/hr", "bpm")
    return ActivityReading(dev, ts, off, int(dur_s), steps, active, vig, hr)


# --- compact ------------------------------------------------------------------------------
def infer_kind(item: dict[str, Any]) -> tuple[Literal["compact", "omh"], Kind] | None:
    """Which format and kind an item without an Open mHealth header looks like."""
    for key, kind in _OMH_KEYS.items():
        if key in item:
            return "omh", kind
    for key, kind in _COMPACT_KEYS.items():
        if key in item:
            return "compact", kind
    return None


# --- fast path ---------------------------------------------------------------------------
# A device backlog is thousands of plain compact readings; validating each through the
# general path (JSON-path strings built up front, one helper call per field) made parsing
# the ingestor's bottleneck. These functions accept only the plain, unambiguous shape
# (no keys beyond the compact ones, exact types, canonical unit and method spellings) and
# apply the very same bounds; anything else -- including every value they would reject --
# returns None and goes through the general path, which alone words the rejection. So the
# fast path can only ever accept what the general path accepts.
_BP_FAST_KEYS: Final = frozenset(("t", "sys", "dia", "pulse"))
_GLUCOSE_FAST_KEYS: Final = frozenset(("t", "v", "u", "m"))
_SYS_LO, _SYS_HI = SYSTOLIC_MMHG
_DIA_LO, _DIA_HI = DIASTOLIC_MMHG
_PULSE_LO, _PULSE_HI = PULSE_BPM


def _fast_time(raw: Any, earliest: datetime, latest: datetime) -> tuple[datetime, int] | None:
    if type(raw) is not str:
        return None
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        return None
    offset = ts.utcoffset()
    if offset is None or ts > latest or ts < earliest:
        return None
    return ts, int(offset.total_seconds() // 60)


def fast_compact(
    item: Any, dev: str, kind: Kind, earliest: datetime, latest: datetime
) -> Reading | None:
    """The common compact BP or glucose reading, or None to take the general path.

    ``earliest``/``latest`` are ``received_at - limits.max_age`` and ``received_at +
    limits.skew``, computed once per message."""
    if type(item) is not dict:
        return None
    if kind == "bp":
        if not item.keys() <= _BP_FAST_KEYS:
            return None
        sys_, dia, pulse = item.get("sys"), item.get("dia"), item.get("pulse")
        if type(sys_) is not int or type(dia) is not int:
            return None
        if not (_SYS_LO <= sys_ <= _SYS_HI and _DIA_LO <= dia <= _DIA_HI and sys_ > dia):
            return None
        if pulse is not None and (type(pulse) is not int or not _PULSE_LO <= pulse <= _PULSE_HI):
            return None
        when = _fast_time(item.get("t"), earliest, latest)
        if when is None:
            return None
        return BPReading(dev, when[0], when[1], sys_, dia, pulse)
    if kind == "glucose":
        if not item.keys() <= _GLUCOSE_FAST_KEYS:
            return None
        unit, value, method = item.get("u"), item.get("v"), item.get("m")
        if type(unit) is not str or unit not in GLUCOSE_RANGE or method not in METHODS:
            return None
        if type(value) is not int and type(value) is not float:
            return None
        lo, hi = GLUCOSE_RANGE[unit]
        if not lo <= value <= hi:
            return None
        when = _fast_time(item.get("t"), earliest, latest)
        if when is None:
            return None
        return GlucoseReading(dev, when[0], when[1], float(value), unit, None, method, None)
    return None


def parse_compact(
    item: dict[str, Any], path: str, dev: str, kind: Kind, received_at: datetime, limits: Limits
) -> Reading:
    ts, off = _time(_get(item, "t", path), f"{path}/t", received_at, limits)
    if kind == "bp":
        paths = (f"{path}/sys", f"{path}/dia", f"{path}/pulse")
        return _bp(
            dev, ts, off, _get(item, "sys", path), _get(item, "dia", path), item.get("pulse"), paths
        )
    if kind == "glucose":
        unit = _unit(_get(item, "u", path), f"{path}/u")
        value, censored = _glucose_value(_get(item, "v", path), unit, f"{path}/v")
        method = _get(item, "m", path)
        if method not in METHODS:
            raise Reject("invalid_value", f"{path}/m", f"method {str(method)[:20]!r}; cgm or smbg")
        meal = _meal(item.get("meal"), f"{path}/meal")
        return GlucoseReading(dev, ts, off, value, unit, censored, method, meal)
    dur = _number(_get(item, "dur", path), f"{path}/dur")
    steps = _int(_get(item, "steps", path), f"{path}/steps")
    reading = _activity(dev, ts, off, dur, steps, item, path)
    _not_future_end(reading, f"{path}/dur", received_at, limits)
    return reading


def _not_future_end(r: ActivityReading, path: str, received_at: datetime, limits: Limits) -> None:
    """An interval that ends in the future has not happened yet (clock skew)."""
    end = r.measured_at + timedelta(seconds=r.duration_s)
    if end > received_at + timedelta(seconds=limits.max_future_skew_s):
        raise Reject("future_timestamp", path, "the interval ends in the future")


# --- Open mHealth -----------------------------------------------------------------------------
def _unit_value(body: dict[str, Any], key: str, path: str) -> tuple[Any, Any]:
    uv = _get(body, key, path)
    if not isinstance(uv, dict):
        raise Reject("invalid_type", f"{path}/{key}", "expected {value, unit}")
    return _get(uv, "value", f"{path}/{key}"), uv.get("unit")


def _omh_point_time(body: dict[str, Any], path: str) -> Any:
    frame = _get(body, "effective_time_frame", path)
    if not isinstance(frame, dict) or "date_time" not in frame:
        raise Reject(
            "missing_field", f"{path}/effective_time_frame/date_time", "a date_time is required"
        )
    return frame["date_time"]


def _omh_interval(
    body: dict[str, Any], path: str, received_at: datetime, limits: Limits
) -> tuple[datetime, int, float]:
    frame = _get(body, "effective_time_frame", path)
    ipath = f"{path}/effective_time_frame/time_interval"
    interval = frame.get("time_interval") if isinstance(frame, dict) else None
    if not isinstance(interval, dict):
        raise Reject("missing_field", ipath, "step-count needs a time_interval")
    if "start_date_time" in interval and "end_date_time" in interval:
        start, off = _time(
            interval["start_date_time"], f"{ipath}/start_date_time", received_at, limits
        )
        end, _ = _time(interval["end_date_time"], f"{ipath}/end_date_time", received_at, limits)
        return start, off, (end - start).total_seconds()
    dur = interval.get("duration")
    if not isinstance(dur, dict) or "start_date_time" not in interval:
        raise Reject("missing_field", ipath, "need start_date_time with end_date_time or duration")
    start, off = _time(interval["start_date_time"], f"{ipath}/start_date_time", received_at, limits)
    factor = _DURATION_S.get(str(dur.get("unit")))
    if factor is None:
        raise Reject("unknown_unit", f"{ipath}/duration/unit", f"{str(dur.get('unit'))[:10]!r}")
    return start, off, _number(dur.get("value"), f"{ipath}/duration/value") * factor


def parse_omh_body(
    body: dict[str, Any], path: str, dev: str, kind: Kind, received_at: datetime, limits: Limits
) -> Reading:
    if kind == "bp":
        sys_v, sys_u = _unit_value(body, "systolic_blood_pressure", path)
        dia_v, dia_u = _unit_value(body, "diastolic_blood_pressure", path)
        for unit, key in ((sys_u, "systolic_blood_pressure"), (dia_u, "diastolic_blood_pressure")):
            if unit != "mmHg":
                raise Reject(
                    "unknown_unit", f"{path}/{key}/unit", f"{str(unit)[:20]!r}; expected mmHg"
                )
        tpath = f"{path}/effective_time_frame/date_time"
        ts, off = _time(_omh_point_time(body, path), tpath, received_at, limits)
        paths = (
            f"{path}/systolic_blood_pressure/value",
            f"{path}/diastolic_blood_pressure/value",
            "",
        )
        return _bp(dev, ts, off, sys_v, dia_v, None, paths)
    if kind == "glucose":
        raw, raw_unit = _unit_value(body, "blood_glucose", path)
        unit = _unit(raw_unit, f"{path}/blood_glucose/unit")
        value, censored = _glucose_value(raw, unit, f"{path}/blood_glucose/value")
        tpath = f"{path}/effective_time_frame/date_time"
        ts, off = _time(_omh_point_time(body, path), tpath, received_at, limits)
        specimen = str(body.get("specimen_source", "")).lower()
        method = "cgm" if specimen == "interstitial fluid" else "smbg"
        meal = _meal(
            body.get("temporal_relationship_to_meal"), f"{path}/temporal_relationship_to_meal"
        )
        return GlucoseReading(dev, ts, off, value, unit, censored, method, meal)
    raw_steps = _get(body, "step_count", path)
    spath = f"{path}/step_count"
    if isinstance(raw_steps, dict):
        if raw_steps.get("unit") not in (None, "steps"):
            raise Reject("unknown_unit", f"{spath}/unit", f"{str(raw_steps.get('unit'))[:20]!r}")
        raw_steps, spath = raw_steps.get("value"), f"{spath}/value"
    steps = _int(raw_steps, spath)
    start, off, dur = _omh_interval(body, path, received_at, limits)
    reading = _activity(dev, start, off, dur, steps, {}, path)
    _not_future_end(reading, f"{path}/effective_time_frame", received_at, limits)
    return reading
