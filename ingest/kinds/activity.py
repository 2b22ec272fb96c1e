"""Activity readings (step intervals): the accepted reading, its bounds and validators.

Records may cover a minute, an hour or a whole day. The bounds reject intervals no
tracker can truthfully report; they are not clinical thresholds, which live in
``scoring.indicators.rules`` (docs/clinical.md, "Activity"). No fast path: every
activity record goes through the validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from ingest.kinds import omh as omh_schema
from ingest.kinds.common import (
    PULSE_BPM,
    Limits,
    Reject,
    get,
    in_range,
    number,
    timestamp,
    unit_value,
    whole,
)

# Decision (the ingest bad-input rules, docs/ingest.md "Dead letters"): more than 300
# steps per minute of the interval is impossible (elite sprint cadence is ~200-250/min;
# CADENCE-Adults puts vigorous walking at >= 130/min).
MAX_STEPS_PER_MIN: Final = 300
# An interval lasts 1 s to 24 h (the same rules): a day's summary is the longest record.
MAX_ACTIVITY_INTERVAL_S: Final = 24 * 3600
HEART_RATE_BPM: Final = PULSE_BPM


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


def _reading(
    dev: str, ts: datetime, off: int, dur_s: float, steps: int, extra: dict[str, Any], path: str
) -> ActivityReading:
    """The checks of every activity shape (``extra``: the compact shape's optional keys)."""
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
    active = whole(extra.get("active_min", 0), f"{path}/active_min")
    vig = whole(extra.get("vig_min", 0), f"{path}/vig_min")
    if not 0 <= active <= minutes + 0.5:
        raise Reject("implausible_value", f"{path}/active_min", "outside 0..interval minutes")
    if not 0 <= vig <= active:
        raise Reject("implausible_value", f"{path}/vig_min", "vigorous minutes exceed active")
    hr = None
    if extra.get("hr") is not None:
        hr = whole(extra["hr"], f"{path}/hr")
        in_range(hr, HEART_RATE_BPM, f"{path}/hr", "bpm")
    return ActivityReading(dev, ts, off, int(dur_s), steps, active, vig, hr)


def _not_future_end(r: ActivityReading, path: str, received_at: datetime, limits: Limits) -> None:
    """An interval that ends in the future has not happened yet (clock skew)."""
    end = r.measured_at + timedelta(seconds=r.duration_s)
    if end > received_at + timedelta(seconds=limits.max_future_skew_s):
        raise Reject("future_timestamp", path, "the interval ends in the future")


def compact(
    item: dict[str, Any], path: str, dev: str, received_at: datetime, limits: Limits
) -> ActivityReading:
    """``{"t", "dur", "steps"[, "active_min", "vig_min", "hr"]}``."""
    ts, off = timestamp(get(item, "t", path), f"{path}/t", received_at, limits)
    dur = number(get(item, "dur", path), f"{path}/dur")
    steps = whole(get(item, "steps", path), f"{path}/steps")
    reading = _reading(dev, ts, off, dur, steps, item, path)
    _not_future_end(reading, f"{path}/dur", received_at, limits)
    return reading


def omh(
    body: dict[str, Any], path: str, dev: str, received_at: datetime, limits: Limits
) -> ActivityReading:
    """An Open mHealth ``step-count`` 3.0 body: ``{value, unit: "steps"}`` over a time
    interval (start and end, start and duration, or end and duration)."""
    raw_steps, unit = unit_value(body, "step_count", path)
    if unit != "steps":
        raise Reject("unknown_unit", f"{path}/step_count/unit", f"{str(unit)[:20]!r}; steps")
    steps = whole(raw_steps, f"{path}/step_count/value")
    omh_schema.not_aggregate(body, path)
    frame = omh_schema.time_frame(body, path)
    if "time_interval" not in frame:
        raise Reject(
            "missing_field",
            f"{path}/effective_time_frame/time_interval",
            "step-count needs a time_interval",
        )
    start, off, dur = omh_schema.interval(frame, path, received_at, limits)
    reading = _reading(dev, start, off, dur, steps, {}, path)
    _not_future_end(reading, f"{path}/effective_time_frame", received_at, limits)
    return reading
