"""Blood-pressure readings: the accepted reading, its bounds, validators and fast path.

The bounds reject values no cuff can truthfully report (a typo, a unit mix-up, a broken
device); they are not clinical thresholds, which live in ``scoring.indicators.rules``
(docs/clinical.md, "Blood pressure"). Compared in mmHg, the unit every cuff reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ingest.kinds.common import (
    PULSE_BPM,
    Limits,
    Reject,
    fast_time,
    get,
    in_range,
    timestamp,
    unit_value,
    whole,
)
from ingest.kinds.omh import (
    ACTIVITY_RELATIONSHIPS,
    BODY_LOCATIONS,
    BODY_POSTURES,
    enum,
    not_aggregate,
    point_time,
)

# Decision (the ingest bad-input rules, docs/ingest.md "Dead letters"): systolic outside
# 50-300 mmHg is physiologically impossible; so is systolic <= diastolic. Inclusive.
SYSTOLIC_MMHG: Final = (50, 300)
# Diastolic: a wide device-range bound chosen for ingest (validated upper-arm monitors
# measure roughly 40-200 mmHg); anything outside is a fault, not a patient. Inclusive.
DIASTOLIC_MMHG: Final = (20, 200)


@dataclass(slots=True)  # not frozen: hot path, frozen __init__ is ~3x slower; never mutated
class BPReading:
    device_id: str
    measured_at: datetime
    utc_offset_min: int
    systolic: int
    diastolic: int
    pulse: int | None


def _reading(
    dev: str, ts: datetime, off: int, sys_: Any, dia: Any, pulse: Any, p: tuple[str, ...]
) -> BPReading:
    """The checks of every BP shape; ``p`` are the JSON paths of systolic, diastolic, pulse."""
    systolic, diastolic = whole(sys_, p[0]), whole(dia, p[1])
    in_range(systolic, SYSTOLIC_MMHG, p[0], "mmHg")
    in_range(diastolic, DIASTOLIC_MMHG, p[1], "mmHg")
    if systolic <= diastolic:
        raise Reject("implausible_value", p[1], f"systolic {systolic} <= diastolic {diastolic}")
    pulse_v = None
    if pulse is not None:
        pulse_v = whole(pulse, p[2])
        in_range(pulse_v, PULSE_BPM, p[2], "bpm")
    return BPReading(dev, ts, off, systolic, diastolic, pulse_v)


def compact(
    item: dict[str, Any], path: str, dev: str, received_at: datetime, limits: Limits
) -> BPReading:
    """``{"t", "sys", "dia"[, "pulse"]}``."""
    ts, off = timestamp(get(item, "t", path), f"{path}/t", received_at, limits)
    paths = (f"{path}/sys", f"{path}/dia", f"{path}/pulse")
    return _reading(
        dev, ts, off, get(item, "sys", path), get(item, "dia", path), item.get("pulse"), paths
    )


def omh(
    body: dict[str, Any], path: str, dev: str, received_at: datetime, limits: Limits
) -> BPReading:
    """An Open mHealth ``blood-pressure`` 4.0 body; posture, location and the relationship
    to physical activity are checked against their schemas and not stored."""
    sys_v, sys_u = unit_value(body, "systolic_blood_pressure", path)
    dia_v, dia_u = unit_value(body, "diastolic_blood_pressure", path)
    for unit, key in ((sys_u, "systolic_blood_pressure"), (dia_u, "diastolic_blood_pressure")):
        if unit != "mmHg":
            raise Reject("unknown_unit", f"{path}/{key}/unit", f"{str(unit)[:20]!r}; expected mmHg")
    enum(body, "body_posture", BODY_POSTURES, path)
    enum(body, "measurement_location", BODY_LOCATIONS, path)
    enum(body, "temporal_relationship_to_physical_activity", ACTIVITY_RELATIONSHIPS, path)
    not_aggregate(body, path)
    tpath = f"{path}/effective_time_frame/date_time"
    ts, off = timestamp(point_time(body, path), tpath, received_at, limits)
    paths = (
        f"{path}/systolic_blood_pressure/value",
        f"{path}/diastolic_blood_pressure/value",
        "",
    )
    return _reading(dev, ts, off, sys_v, dia_v, None, paths)


_FAST_KEYS: Final = frozenset(("t", "sys", "dia", "pulse"))
_SYS_LO, _SYS_HI = SYSTOLIC_MMHG
_DIA_LO, _DIA_HI = DIASTOLIC_MMHG
_PULSE_LO, _PULSE_HI = PULSE_BPM


def fast(item: Any, dev: str, earliest: datetime, latest: datetime) -> BPReading | None:
    """The plain compact reading, or None to take :func:`compact` (``common``, fast path)."""
    if type(item) is not dict or not item.keys() <= _FAST_KEYS:
        return None
    sys_, dia, pulse = item.get("sys"), item.get("dia"), item.get("pulse")
    if type(sys_) is not int or type(dia) is not int:
        return None
    if not (_SYS_LO <= sys_ <= _SYS_HI and _DIA_LO <= dia <= _DIA_HI and sys_ > dia):
        return None
    if pulse is not None and (type(pulse) is not int or not _PULSE_LO <= pulse <= _PULSE_HI):
        return None
    when = fast_time(item.get("t"), earliest, latest)
    if when is None:
        return None
    return BPReading(dev, when[0], when[1], sys_, dia, pulse)
