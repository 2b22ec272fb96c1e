"""What the Open mHealth / IEEE 1752.1 schemas constrain beyond the values Wellrate stores.

A data point is checked against every field its schema constrains, stored or not: a value
outside a schema's enumeration is a dead letter naming the field (``invalid_value``), so a
device maker's typo ("bfore sleeping") is seen instead of silently dropped. The value sets
are copied from the official schemas (github.com/openmhealth/schemas, ``schema/omh/``, the
versions the supported body schemas reference); the conformance suite in
``tests/conformance/`` checks them against the vendored schema files.

Aggregates (a body with ``descriptive_statistic``: an average, a maximum...) are not
measurements; they are refused (``aggregate_not_stored``) so they never mix with readings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from ingest.kinds.common import Limits, Reject, number, timestamp

# specimen-source-2.1 (blood-glucose 4.0 references specimen-source-2.x).
SPECIMEN_SOURCES: Final = frozenset(
    ("breath", "capillary blood", "interstitial fluid", "saliva", "sweat", "tears", "urine")
)
# What a glucose reading can be: capillary blood (a meter, "smbg") or interstitial fluid (a
# CGM). Glucose in breath, saliva, sweat, tears or urine is a different measurement with its
# own codes (docs/clinical.md, "Glucose units"): refused, never stored as fingerstick glucose.
GLUCOSE_SPECIMENS: Final = {"capillary blood": "smbg", "interstitial fluid": "cgm"}
# temporal-relationship-to-meal-1.2 (blood-glucose 4.0 references 1.x).
MEAL_RELATIONSHIPS: Final = frozenset(
    (
        "fasting",
        "not fasting",
        "before meal",
        "after meal",
        "before breakfast",
        "after breakfast",
        "before lunch",
        "after lunch",
        "before dinner",
        "after dinner",
        "2 hours postprandial",
        "with meal",
        "with food",
    )
)
# temporal-relationship-to-sleep-1.0.
SLEEP_RELATIONSHIPS: Final = frozenset(("before sleeping", "during sleep", "on waking"))
# descriptive-statistic-1.2 (the body schemas reference IEEE 1752.1 descriptive-statistic-1.0,
# published outside GitHub; the conformance suite stands the OMH schema in for it).
DESCRIPTIVE_STATISTICS: Final = frozenset(
    (
        "average",
        "count",
        "maximum",
        "median",
        "minimum",
        "standard deviation",
        "sum",
        "variance",
        "20th percentile",
        "80th percentile",
        "lower quartile",
        "upper quartile",
        "quartile deviation",
        "1st quintile",
        "2nd quintile",
        "3rd quintile",
        "4th quintile",
    )
)
# body-posture-1.0 (standing in for the IEEE 1752.1 body-posture-1.0 the same way).
BODY_POSTURES: Final = frozenset(("sitting", "lying down", "standing", "semi-recumbent"))
# body-location-1.1 (blood-pressure 4.0's measurement_location).
BODY_LOCATIONS: Final = frozenset(
    (
        "left ankle",
        "right ankle",
        "left hip",
        "right hip",
        "left thigh",
        "right thigh",
        "left thorax",
        "middle left thorax",
        "left upper arm",
        "right upper arm",
        "left wrist",
        "right wrist",
    )
)
# temporal-relationship-to-physical-activity-1.0.
ACTIVITY_RELATIONSHIPS: Final = frozenset(
    ("at rest", "active", "before exercise", "after exercise", "during exercise")
)
# duration-unit-value-1.0 units in seconds; a month and a year by their mean Gregorian
# lengths (30.436875 d, 365.2425 d): only ever used to refuse an interval that long.
DURATION_S: Final[dict[str, float]] = {
    "ps": 1e-12,
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "sec": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "wk": 7 * 86400.0,
    "Mo": 30.436875 * 86400.0,
    "yr": 365.2425 * 86400.0,
}
# No reading interval is longer than a year; anything longer is refused before any date
# arithmetic (a duration of 1e300 years would overflow it). The kinds apply their own,
# tighter bounds (activity: 24 h).
MAX_INTERVAL_S: Final = 366 * 86400.0
# Wellrate's extension to blood-glucose (the schema allows additional properties): a reading
# beyond the meter's range carries its limit as the (numeric) value and this flag.
CENSORED_KEY: Final = "censored"


def enum(body: dict[str, Any], key: str, allowed: frozenset[str], path: str) -> str | None:
    """An optional enumerated string field: None when absent, else a member of ``allowed``."""
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, str) or value not in allowed:
        raise Reject("invalid_value", f"{path}/{key}", f"{str(value)[:40]!r} is not a {key} value")
    return value


def not_aggregate(body: dict[str, Any], path: str) -> None:
    """Refuse a descriptive statistic: an aggregate is not a measurement (docs/ingest.md)."""
    stat = enum(body, "descriptive_statistic", DESCRIPTIVE_STATISTICS, path)
    if stat is not None:
        raise Reject(
            "aggregate_not_stored",
            f"{path}/descriptive_statistic",
            f"a {stat} over a period is an aggregate, not a reading; send the measurements",
        )
    if "descriptive_statistic_denominator" in body:
        raise Reject(
            "aggregate_not_stored",
            f"{path}/descriptive_statistic_denominator",
            "a denominator describes an aggregate, not a reading",
        )


def header(head: Any, path: str) -> None:
    """header-1.2: ``id`` (string), ``creation_date_time`` (date-time with offset) and
    ``schema_id`` are required (``schema_id`` itself is checked by the parser)."""
    if not isinstance(head, dict):
        raise Reject("invalid_type", path, "header must be an object")
    if not isinstance(head.get("id"), str) or not head["id"]:
        raise Reject("missing_field", f"{path}/id", "header id (a string) is required")
    created = head.get("creation_date_time")
    if created is None:
        raise Reject(
            "missing_field", f"{path}/creation_date_time", "creation_date_time is required"
        )
    date_time(created, f"{path}/creation_date_time")


def date_time(value: Any, path: str) -> datetime:
    """date-time-1.0: an RFC 3339 date-time, which always has a UTC offset."""
    if not isinstance(value, str):
        raise Reject("invalid_type", path, "date-time must be an RFC 3339 string")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise Reject("bad_timestamp", path, f"not RFC 3339: {value[:40]!r}") from None
    if ts.utcoffset() is None:
        raise Reject("missing_utc_offset", path, "timestamp needs a UTC offset (e.g. +08:00)")
    return ts


def duration_s(dur: Any, path: str) -> float:
    """duration-unit-value-1.0 in seconds."""
    if not isinstance(dur, dict):
        raise Reject("invalid_type", path, "duration must be {value, unit}")
    unit = dur.get("unit")
    if not isinstance(unit, str) or unit not in DURATION_S:
        raise Reject("unknown_unit", f"{path}/unit", f"{str(unit)[:10]!r} is not a duration unit")
    if "value" not in dur:
        raise Reject("missing_field", f"{path}/value", "value is required")
    return number(dur["value"], f"{path}/value") * DURATION_S[unit]


def time_frame(body: dict[str, Any], path: str) -> dict[str, Any]:
    """time-frame-1.0: exactly one of ``date_time`` and ``time_interval``."""
    frame = body.get("effective_time_frame")
    fpath = f"{path}/effective_time_frame"
    if frame is None:
        raise Reject("missing_field", fpath, "effective_time_frame is required")
    if not isinstance(frame, dict):
        raise Reject("invalid_type", fpath, "effective_time_frame must be an object")
    if ("date_time" in frame) == ("time_interval" in frame):
        raise Reject("bad_structure", fpath, "exactly one of date_time and time_interval")
    return frame


def _interval_shape(frame: dict[str, Any], ipath: str) -> tuple[dict[str, Any], set[str]]:
    """The time_interval object and which two of start, end and duration it gives."""
    iv = frame.get("time_interval")
    if not isinstance(iv, dict):
        raise Reject("invalid_type", ipath, "time_interval must be an object")
    has = {k for k in ("start_date_time", "end_date_time", "duration") if k in iv}
    if "date" in iv and "part_of_day" in iv and not has:
        raise Reject("imprecise_time", ipath, "a date and a part of day is not a time interval")
    if len(has) != 2:
        raise Reject(
            "bad_structure",
            ipath,
            "need two of start_date_time, end_date_time and duration",
        )
    return iv, has


def interval(
    frame: dict[str, Any], path: str, received_at: datetime, limits: Limits
) -> tuple[datetime, int, float]:
    """time-interval-1.0 as (start, its UTC offset in minutes, seconds): start and end, start
    and duration, or end and duration. A date with a part of day cannot be placed in time
    and is refused."""
    ipath = f"{path}/effective_time_frame/time_interval"
    iv, has = _interval_shape(frame, ipath)
    if "duration" in has:
        seconds = duration_s(iv["duration"], f"{ipath}/duration")
        if not -MAX_INTERVAL_S <= seconds <= MAX_INTERVAL_S:  # also keeps timedelta finite
            raise Reject("implausible_value", f"{ipath}/duration", f"{seconds:g} s interval")
    if "start_date_time" in has:
        start, off = timestamp(
            iv["start_date_time"], f"{ipath}/start_date_time", received_at, limits
        )
        if "end_date_time" in has:
            end = date_time(iv["end_date_time"], f"{ipath}/end_date_time")
            seconds = (end - start).total_seconds()
        return start, off, seconds
    end = date_time(iv["end_date_time"], f"{ipath}/end_date_time")
    start = end - timedelta(seconds=seconds)  # keeps the end's UTC offset
    start, off = timestamp(start.isoformat(), f"{ipath}/end_date_time", received_at, limits)
    return start, off, seconds


def point_time(body: dict[str, Any], path: str) -> Any:
    """The ``date_time`` of a measurement's time frame; an interval without a descriptive
    statistic has no point time to store a measurement at."""
    frame = time_frame(body, path)
    if "date_time" not in frame:
        _interval_shape(frame, f"{path}/effective_time_frame/time_interval")
        raise Reject(
            "missing_field",
            f"{path}/effective_time_frame/date_time",
            "a measurement needs a date_time (an interval describes an aggregate)",
        )
    return frame["date_time"]
