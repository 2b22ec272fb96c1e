"""Decode and validate MQTT messages into readings, or say exactly why not.

Pure: no I/O, no clock (the receive time is passed in), so every rule is a table-driven
unit test. The wire format is described in ``core/payload_format.py`` and
``docs/asyncapi.yaml``; the per-kind rules live in ``ingest/kinds/``, picked by name in
``ingest/readings.py``.

A message yields zero or more accepted readings and zero or more :class:`Rejection`\\ s.
A batch is judged reading by reading: one impossible value in a 50-reading backlog
dead-letters that reading, not its 49 neighbours. Rejections that concern the whole
message (bad topic, bad JSON, oversized) carry ``field=None`` or ``""``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.payload_format import KINDS, Kind
from ingest.kinds.activity import ActivityReading
from ingest.kinds.bp import BPReading
from ingest.kinds.common import Limits, Reject, Rejection
from ingest.kinds.glucose import GlucoseReading
from ingest.kinds.omh import header as omh_header
from ingest.readings import (
    FAST_PATHS,
    OMH_SCHEMAS,
    Reading,
    infer_kind,
    parse_compact,
    parse_omh_body,
)

__all__ = [
    "ActivityReading",
    "BPReading",
    "GlucoseReading",
    "Limits",
    "ParsedMessage",
    "Reading",
    "Rejection",
    "parse_message",
    "parse_topic",
]


@dataclass(slots=True)
class ParsedMessage:
    """What one MQTT message turned into."""

    topic: str
    device_id: str | None
    kind: Kind | None
    readings: list[Reading] = field(default_factory=list)
    items: list[int] = field(default_factory=list)  # payload item index of each reading
    rejections: list[Rejection] = field(default_factory=list)
    base: str = ""  # JSON path of the readings array ("" for a bare array or one object)
    single: bool = False  # one bare object: its path is "" rather than "/0"

    def path(self, k: int) -> str:
        """The JSON path of accepted reading ``k`` (built only when a dead letter needs it)."""
        return "" if self.single else f"{self.base}/{self.items[k]}"


def parse_topic(topic: str, prefix: str) -> tuple[str, Kind]:
    """``<prefix>/<device_id>/<kind>`` -> (device_id, kind), or raise :class:`Reject`."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        raise Reject("bad_topic", None, f"topic is not under {head!r}")
    parts = topic[len(head) :].split("/")
    if len(parts) != 2 or not parts[0]:
        raise Reject("bad_topic", None, "expected <prefix>/<device_id>/<kind>")
    device_id, kind = parts
    if kind not in KINDS:
        raise Reject("unknown_kind", None, f"kind {kind[:40]!r} is not one of {', '.join(KINDS)}")
    return device_id, kind


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder for every message: json.loads(..., parse_constant=...) builds a new
# JSONDecoder per call, which cost as much as decoding a one-reading message.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _decode(payload: bytes, max_bytes: int) -> Any:
    if len(payload) > max_bytes:
        raise Reject("oversized_payload", None, f"{len(payload)} bytes > limit {max_bytes} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Reject("bad_encoding", None, f"not UTF-8 at byte {exc.start}") from None
    try:
        if text.startswith("\ufeff"):  # json.loads refuses a BOM; the bare decoder would not
            raise ValueError("Unexpected UTF-8 BOM")
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise Reject("malformed_json", None, str(exc)[:200]) from None


def _items(doc: Any) -> tuple[list[Any], str]:
    """The readings of a document and the JSON path prefix of each item."""
    if isinstance(doc, list):
        items, base = doc, ""
    elif isinstance(doc, dict) and "readings" in doc:
        if not isinstance(doc["readings"], list):
            raise Reject("bad_structure", "/readings", "readings must be an array")
        items, base = doc["readings"], "/readings"
    elif isinstance(doc, dict):
        return [doc], ""
    else:
        raise Reject("bad_structure", "", "payload must be an object or an array of readings")
    if not items:
        raise Reject("bad_structure", base or "", "empty batch: no readings")
    return items, base


def _parse_item(
    item: Any, path: str, device_id: str, kind: Kind, received_at: datetime, limits: Limits
) -> Reading:
    if not isinstance(item, dict):
        raise Reject("bad_structure", path, "a reading must be a JSON object")
    if "header" in item or ("body" in item and isinstance(item["body"], dict)):
        header = item.get("header")
        body = item.get("body")
        if not isinstance(body, dict):
            raise Reject("bad_structure", f"{path}/body", "Open mHealth data point needs a body")
        schema = header.get("schema_id") if isinstance(header, dict) else None
        if not isinstance(schema, dict):
            raise Reject("missing_field", f"{path}/header/schema_id", "schema_id is required")
        name, version = schema.get("name"), str(schema.get("version", ""))
        if not isinstance(name, str) or name not in OMH_SCHEMAS:  # a list or object name too
            raise Reject("unsupported_schema", f"{path}/header/schema_id/name", f"schema {name!r}")
        body_kind, versions = OMH_SCHEMAS[name]
        if version not in versions:
            raise Reject(
                "unsupported_schema",
                f"{path}/header/schema_id/version",
                f"{name} {version!r}; supported: {', '.join(versions)}",
            )
        if body_kind != kind:
            raise Reject(
                "kind_mismatch", f"{path}/header/schema_id/name", f"{name} on a {kind} topic"
            )
        if schema.get("namespace") != "omh":
            raise Reject(
                "unsupported_schema",
                f"{path}/header/schema_id/namespace",
                f"namespace {str(schema.get('namespace'))[:20]!r}; expected omh",
            )
        omh_header(header, f"{path}/header")
        return parse_omh_body(body, f"{path}/body", device_id, kind, received_at, limits)
    found = infer_kind(item)
    if found is None:
        raise Reject("bad_structure", path, f"not a recognisable {kind} reading")
    fmt, body_kind = found
    if body_kind != kind:
        raise Reject("kind_mismatch", path, f"a {body_kind} reading on a {kind} topic")
    if fmt == "omh":
        return parse_omh_body(item, path, device_id, kind, received_at, limits)
    return parse_compact(item, path, device_id, kind, received_at, limits)


def parse_message(
    topic: str, payload: bytes, received_at: datetime, prefix: str, limits: Limits
) -> ParsedMessage:
    """Turn one MQTT message into accepted readings and rejections; never raises on input."""
    try:
        device_id, kind = parse_topic(topic, prefix)
    except Reject as rej:
        return ParsedMessage(topic, None, None, rejections=[rej.rejection()])
    out = ParsedMessage(topic, device_id, kind)
    try:
        items, base = _items(_decode(payload, limits.max_payload_bytes))
    except Reject as rej:
        out.rejections.append(rej.rejection())
        return out
    out.base = base
    out.single = single = base == "" and len(items) == 1 and not payload.lstrip().startswith(b"[")
    readings, indices = out.readings, out.items
    earliest, latest = received_at - limits.max_age, received_at + limits.skew
    fast = FAST_PATHS[kind]
    for i, item in enumerate(items):
        reading = None if fast is None else fast(item, device_id, earliest, latest)
        if reading is None:
            path = "" if single else f"{base}/{i}"
            try:
                reading = _parse_item(item, path, device_id, kind, received_at, limits)
            except Reject as rej:
                out.rejections.append(rej.rejection(index=i))
                continue
        readings.append(reading)
        indices.append(i)
    return out
