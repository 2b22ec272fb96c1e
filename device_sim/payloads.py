"""Readings to MQTT messages, in the public payload format (``core.payload_format``).

A device speaks compact JSON or Open mHealth (IEEE 1752.1) data points, per device. A
backlog goes out in batches (``{"readings": [...]}``), the way a phone app uploads what
a device stored while it was out of reach; a single live reading goes out bare.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from core.payload_format import Kind, topic
from device_sim.clock import iso_local
from device_sim.cohort import SimDevice, SimMember
from device_sim.physiology import activity, bp, glucose


@dataclass(frozen=True)
class OutMessage:
    topic: str
    payload: bytes
    device_id: str
    kind: Kind
    readings: int
    first_t: int  # epoch seconds of the first reading (ordering, fault bookkeeping)
    last_t: int


@dataclass
class DeviceReadings:
    """One device's readings over a span: timestamps and compact dicts, time-ordered."""

    device: SimDevice
    kind: Kind
    t: np.ndarray
    items: list[dict[str, Any]]


# The limits a simulated meter reports "LO"/"HI" beyond, per unit: the ends of the range
# ingest accepts (docs/ingest.md, "Dead letters": 20-600 mg/dL, 1.1-33.3 mmol/L).
CENSOR_LIMITS: dict[str, tuple[float, float]] = {"mg/dL": (20.0, 600.0), "mmol/L": (1.1, 33.3)}


def compact_to_omh(kind: Kind, item: dict[str, Any], device_id: str) -> dict[str, Any]:
    """The same reading as an Open mHealth data point with header."""
    name, version = {
        "bp": ("blood-pressure", "4.0"),
        "glucose": ("blood-glucose", "4.0"),
        "activity": ("step-count", "3.0"),
    }[kind]
    body: dict[str, Any]
    if kind == "bp":
        body = {
            "systolic_blood_pressure": {"value": item["sys"], "unit": "mmHg"},
            "diastolic_blood_pressure": {"value": item["dia"], "unit": "mmHg"},
            "effective_time_frame": {"date_time": item["t"]},
            "body_posture": "sitting",
            "measurement_location": "left upper arm",
        }
    elif kind == "glucose":
        value = item["v"]
        body = {
            "blood_glucose": {"value": value, "unit": item["u"]},
            "effective_time_frame": {"date_time": item["t"]},
            "specimen_source": "interstitial fluid" if item["m"] == "cgm" else "capillary blood",
        }
        if value in ("LO", "HI"):
            # The schema requires a number: the meter's limit, flagged as censored (the
            # additional property Wellrate reads; docs/asyncapi.yaml).
            low, high = CENSOR_LIMITS[item["u"]]
            body["blood_glucose"]["value"] = low if value == "LO" else high
            body["censored"] = value
        if item.get("meal") == "before_sleep":  # a relationship to sleep, not to a meal
            body["temporal_relationship_to_sleep"] = "before sleeping"
        elif "meal" in item:
            body["temporal_relationship_to_meal"] = item["meal"].replace("_", " ")
    else:
        body = {
            "step_count": {"value": item["steps"], "unit": "steps"},
            "effective_time_frame": {
                "time_interval": {
                    "start_date_time": item["t"],
                    "duration": {"value": item["dur"], "unit": "sec"},
                }
            },
        }
    header = {
        # Unique per reading and stable across resends (uuid5 cost half the generation time).
        "id": f"{device_id}/{kind}/{item['t']}",
        # Required by header-1.2; the reading's time keeps a resend byte-identical.
        "creation_date_time": item["t"],
        "schema_id": {"namespace": "omh", "name": name, "version": version},
        "acquisition_provenance": {
            "source_name": "wellrate-device-sim",
            "source_creation_date_time": item["t"],
            "modality": "sensed",
        },
    }
    return {"header": header, "body": body}


def member_readings(member: SimMember, start: date, days: int) -> list[DeviceReadings]:
    """Every reading each of the member's devices takes over ``days`` days from ``start``."""
    out: list[DeviceReadings] = []
    tr: glucose.DayTrace | None = None
    for dev in member.devices:
        if dev.device_type in ("bp_cuff", "bp_cuffless"):
            fn = bp.home_readings if dev.device_type == "bp_cuff" else bp.cuffless_readings
            s = fn(member, start, days)
            ts = iso_local(s.t)
            bp_items: list[dict[str, Any]] = [
                {"t": t, "sys": a, "dia": b, "pulse": c}
                for t, a, b, c in zip(
                    ts, s.sys.tolist(), s.dia.tolist(), s.pulse.tolist(), strict=True
                )
            ]
            out.append(DeviceReadings(dev, "bp", s.t, bp_items))
        elif dev.device_type in ("cgm", "glucometer"):
            tr = tr or glucose.trace(member, start, days)
            cgm = dev.device_type == "cgm"
            g = glucose.cgm_readings(member, tr) if cgm else glucose.meter_readings(member, tr)
            unit = dev.unit or "mmol/L"
            vals = glucose.render(g.mgdl, unit)
            ts = iso_local(g.t)
            method = "cgm" if cgm else "smbg"
            g_items: list[dict[str, Any]] = [
                {"t": t, "v": v, "u": unit, "m": method} for t, v in zip(ts, vals, strict=True)
            ]
            for item, meal in zip(g_items, g.meal, strict=False):
                if meal:
                    item["meal"] = meal
            out.append(DeviceReadings(dev, "glucose", g.t, g_items))
        else:
            a = activity.hourly(member, start, days)
            ts = iso_local(a.t)
            a_items: list[dict[str, Any]] = [
                {"t": t, "dur": 3600, "steps": s_, "active_min": am, "vig_min": vm, "hr": h}
                for t, s_, am, vm, h in zip(
                    ts,
                    a.steps.tolist(),
                    a.active_min.tolist(),
                    a.vig_min.tolist(),
                    a.hr.tolist(),
                    strict=True,
                )
            ]
            out.append(DeviceReadings(dev, "activity", a.t, a_items))
    return out


def encode(device: SimDevice, kind: Kind, items: list[dict[str, Any]], *, batch: bool) -> bytes:
    """Payload bytes for ``items`` in the device's format (compact JSON, or Open mHealth)."""
    if device.payload_style == "omh":
        items = [compact_to_omh(kind, it, device.device_id) for it in items]
    doc: Any = {"readings": items} if batch or len(items) != 1 else items[0]
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def batches(
    dr: DeviceReadings, prefix: str, *, size: int, until: int | None = None
) -> Iterator[OutMessage]:
    """The device's readings (up to epoch ``until``) as messages of at most ``size``."""
    n = len(dr.items) if until is None else int(np.searchsorted(dr.t, until, side="right"))
    tp = topic(prefix, dr.device.device_id, dr.kind)
    for i in range(0, n, size):
        chunk = dr.items[i : i + size]
        yield OutMessage(
            topic=tp,
            payload=encode(dr.device, dr.kind, chunk, batch=True),
            device_id=dr.device.device_id,
            kind=dr.kind,
            readings=len(chunk),
            first_t=int(dr.t[i]),
            last_t=int(dr.t[i + len(chunk) - 1]),
        )
