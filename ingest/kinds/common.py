"""What every reading kind shares: the rejection, the limits, field and timestamp checks.

Each failure raises :class:`Reject` with a machine-readable reason, the JSON path of the
offending field (Tidepool style: ``/readings/3/sys``) and a human detail; the parser turns
it into a :class:`Rejection`, and the ingestor into a dead letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

# Pulse: a wide device-range bound chosen for ingest (validated upper-arm monitors measure
# roughly 40-180 bpm); anything outside is a fault, not a patient. Inclusive. An activity
# tracker's heart rate is held to the same bound (``activity.HEART_RATE_BPM``).
PULSE_BPM: Final = (20, 250)


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


def get(obj: dict[str, Any], key: str, path: str) -> Any:
    """``obj[key]``, which is required: missing or null is a rejection."""
    if key not in obj or obj[key] is None:
        raise Reject("missing_field", f"{path}/{key}", f"{key} is required")
    return obj[key]


def number(value: Any, path: str) -> float:
    if type(value) is float or type(value) is int:  # the common case first (not bool)
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Reject("invalid_type", path, f"expected a number, got {type(value).__name__}")
    return float(value)


def whole(value: Any, path: str) -> int:
    """A whole number (``5.0`` is 5; ``5.5`` and ``true`` are rejected)."""
    if type(value) is int:  # the common case first (bool is a subclass: excluded)
        return value
    num = number(value, path)
    if not num.is_integer():
        raise Reject("invalid_type", path, f"expected a whole number, got {num}")
    return int(num)


def in_range(value: float, bounds: tuple[float, float], path: str, unit: str) -> None:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise Reject("implausible_value", path, f"{value:g} {unit} outside {lo:g}-{hi:g} {unit}")


def timestamp(value: Any, path: str, received_at: datetime, limits: Limits) -> tuple[datetime, int]:
    """An ISO 8601 time with its UTC offset (minutes), within the limits around receipt."""
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


def unit_value(body: dict[str, Any], key: str, path: str) -> tuple[Any, Any]:
    """An Open mHealth ``{value, unit}`` field: (value, unit)."""
    uv = get(body, key, path)
    if not isinstance(uv, dict):
        raise Reject("invalid_type", f"{path}/{key}", "expected {value, unit}")
    return get(uv, "value", f"{path}/{key}"), uv.get("unit")


# --- fast path ----------------------------------------------------------------------------
# A device backlog is thousands of plain compact readings; validating each through the
# general path (JSON-path strings built up front, one helper call per field) made parsing
# the ingestor's bottleneck. Each kind's ``fast`` accepts only the plain, unambiguous shape
# (no keys beyond the compact ones, exact types, canonical unit and method spellings) and
# applies the very same bounds; anything else -- including every value it would reject --
# returns None and goes through the general path, which alone words the rejection. So the
# fast path can only ever accept what the general path accepts.


def fast_time(raw: Any, earliest: datetime, latest: datetime) -> tuple[datetime, int] | None:
    """:func:`timestamp` for the fast path: None instead of a rejection.

    ``earliest``/``latest`` are ``received_at - limits.max_age`` and ``received_at +
    limits.skew``, computed once per message.
    """
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
