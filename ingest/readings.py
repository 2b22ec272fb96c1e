"""The reading kinds by name: which kind a payload item is, and that kind's validators.

Pure and table-driven: each kind's accepted reading, plausibility bounds (with their
sources), validators and fast path live in ``ingest.kinds.<kind>``; here a kind's name
picks them. The bounds reject values no device can truthfully report (a typo, a unit
mix-up, a broken sensor); they are NOT clinical thresholds, which ``scoring`` applies
(docs/clinical.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Literal

from core.payload_format import Kind
from ingest.kinds import activity, bp, glucose
from ingest.kinds.activity import ActivityReading
from ingest.kinds.bp import BPReading
from ingest.kinds.common import Limits
from ingest.kinds.glucose import GlucoseReading

Reading = BPReading | GlucoseReading | ActivityReading
# (item or body, JSON path, device id, received at, limits) -> the reading, or Reject.
Validator = Callable[[dict[str, Any], str, str, datetime, Limits], Reading]
# (item, device id, earliest, latest) -> the reading, or None for the validator.
FastPath = Callable[[Any, str, datetime, datetime], Reading | None]

COMPACT: Final[dict[Kind, Validator]] = {
    "bp": bp.compact,
    "glucose": glucose.compact,
    "activity": activity.compact,
}
OMH: Final[dict[Kind, Validator]] = {"bp": bp.omh, "glucose": glucose.omh, "activity": activity.omh}
FAST_PATHS: Final[dict[Kind, FastPath | None]] = {
    "bp": bp.fast,
    "glucose": glucose.fast,
    "activity": None,
}

# Open mHealth schema name -> (kind, supported versions) (docs/clinical.md,
# "Interoperability").
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


def infer_kind(item: dict[str, Any]) -> tuple[Literal["compact", "omh"], Kind] | None:
    """Which format and kind an item without an Open mHealth header looks like."""
    for key, kind in _OMH_KEYS.items():
        if key in item:
            return "omh", kind
    for key, kind in _COMPACT_KEYS.items():
        if key in item:
            return "compact", kind
    return None


def parse_compact(
    item: dict[str, Any], path: str, dev: str, kind: Kind, received_at: datetime, limits: Limits
) -> Reading:
    """A compact item of ``kind``, validated by its kind's module."""
    return COMPACT[kind](item, path, dev, received_at, limits)


def parse_omh_body(
    body: dict[str, Any], path: str, dev: str, kind: Kind, received_at: datetime, limits: Limits
) -> Reading:
    """An Open mHealth body of ``kind``, validated by its kind's module."""
    return OMH[kind](body, path, dev, received_at, limits)
