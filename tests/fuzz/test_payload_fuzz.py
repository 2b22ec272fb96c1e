"""Property-based fuzzing of every payload parser entry point, from valid payloads outwards.

``tests/ingest/test_parsing.py`` already throws arbitrary bytes and arbitrary JSON at
``parse_message``. This file starts from *valid* readings in both formats (compact and
Open mHealth, as ``device_sim`` emits them) and mutates them one step at a time (drop a
key, swap a value for any JSON, nest, batch, corrupt the bytes), which reaches the deep
rules (units, ranges, intervals, timestamps) that random JSON almost never gets to. It
also calls the lower entry points (``parse_topic``, ``infer_kind``, ``parse_compact``,
``parse_omh_body``) directly. Properties:

* nothing but a rejection ever comes out: no exception escapes ``parse_message``; the
  lower entry points raise only their ``Reject`` control-flow exception;
* every rejection has a reason from the documented table (docs/ingest.md), a detail, and
  for a rejected reading a field: a JSON pointer that resolves inside the message at least
  down to that reading;
* every accepted reading obeys the plausibility rules the table promises.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_sim.payloads import compact_to_omh
from ingest.kinds.common import Reject
from ingest.parsing import (
    ActivityReading,
    BPReading,
    GlucoseReading,
    Limits,
    parse_message,
    parse_topic,
)
from ingest.readings import infer_kind, parse_compact, parse_omh_body

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_payload_bytes=8192, max_future_skew_s=600, max_age_days=400)
T = "2026-06-01T18:30:00+08:00"
# The parser's reasons, as docs/ingest.md lists them (the ingestor adds device/db ones).
DOCUMENTED = {
    "bad_topic", "unknown_kind", "oversized_payload", "bad_encoding", "malformed_json",
    "bad_structure", "kind_mismatch", "unsupported_schema", "missing_field", "invalid_type",
    "invalid_value", "unknown_unit", "implausible_value", "missing_utc_offset",
    "bad_timestamp", "future_timestamp", "too_old",
}  # fmt: skip
KINDS = ("bp", "glucose", "activity")

COMPACT: dict[str, list[dict[str, Any]]] = {
    "bp": [{"t": T, "sys": 128, "dia": 82, "pulse": 71}, {"t": T, "sys": 180, "dia": 95}],
    "glucose": [
        {"t": T, "v": 5.4, "u": "mmol/L", "m": "cgm"},
        {"t": T, "v": 97, "u": "mg/dL", "m": "smbg", "meal": "fasting"},
        {"t": T, "v": "LO", "u": "mg/dL", "m": "cgm"},
    ],
    "activity": [
        {"t": T, "dur": 900, "steps": 1500, "active_min": 12, "vig_min": 3, "hr": 104},
        {"t": T, "dur": 3600, "steps": 0, "active_min": 0, "vig_min": 0, "hr": 70},
    ],
}


def valid_items(kind: str) -> list[dict[str, Any]]:
    items = list(COMPACT[kind])
    omh = [compact_to_omh(kind, it, "dev-1") for it in items if it.get("v") != "LO"]  # type: ignore[arg-type]
    return items + omh + [p["body"] for p in omh]  # bare Open mHealth bodies too


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.just("mg/dL\x00"),
    st.sampled_from(["", "LO", "HI", "mmHg", "mg/dL", "mmol/L", "steps", "sec", "min", T,
                     "2026-06-01T18:30:00", "2026-13-01T00:00:00Z", "1e400", "NaN"]),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(doc: Any, prefix: str = "") -> list[str]:
    """JSON pointers of every node in ``doc`` (keys escaped as RFC 6901 says: ~0, ~1)."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, f"{prefix}/{_escape(k)}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, f"{prefix}/{i}")
    return out


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _set(doc: Any, pointer: str, value: Any, *, delete: bool = False) -> Any:
    if pointer == "":
        return value
    *parents, last = (_unescape(p) for p in pointer.split("/")[1:])
    node = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    key: Any = int(last) if isinstance(node, list) else last
    if delete:
        del node[key]
    else:
        node[key] = value
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    """A valid reading or batch, then one to three mutations."""
    kind = draw(st.sampled_from(KINDS))
    items = valid_items(kind)
    n = draw(st.integers(1, 3))
    picked = [json.loads(json.dumps(draw(st.sampled_from(items)))) for _ in range(n)]
    doc: Any = picked[0] if n == 1 and draw(st.booleans()) else {"readings": picked}
    if draw(st.booleans()) and isinstance(doc, dict) and "readings" in doc:
        doc = doc["readings"]  # a bare array is a batch too
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        target = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "wrap", "numeric"]))
        if action == "delete" and target:
            doc = _set(doc, target, None, delete=True)
        elif action == "wrap":
            doc = _set(doc, target, {"value": 1, "nested": [None]})
        elif action == "numeric":
            value = draw(st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e9, 1e9)))
            doc = _set(doc, target, value)
        else:
            doc = _set(doc, target, draw(json_values))
    return kind, doc


def _resolves(doc: Any, pointer: str) -> str:
    """The longest prefix of ``pointer`` that names a node of ``doc``."""
    node, reached = doc, ""
    for part in pointer.split("/")[1:]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
        reached += "/" + part
    return reached


def check(kind: str, doc: Any, raw: bytes) -> None:
    out = parse_message(f"wearables/dev-1/{kind}", raw, NOW, "wearables", LIMITS)
    for r in out.rejections:
        assert r.reason in DOCUMENTED, r
        assert r.detail, r
        # detail and field go to text columns of dead_letters: PostgreSQL refuses NUL there.
        assert "\x00" not in r.detail + (r.field or ""), r
        if r.index is not None:  # one reading of the message was refused: say where
            assert r.field is not None, r
            base = "" if not isinstance(doc, list | dict) else None
            if isinstance(doc, dict) and "readings" not in doc:
                base = ""
            elif isinstance(doc, dict):
                base = f"/readings/{r.index}"
            elif isinstance(doc, list):
                base = f"/{r.index}"
            assert base is not None
            assert r.field.startswith(base), (r, base)
            assert len(_resolves(doc, r.field)) >= len(base), (r, doc)
    for reading in out.readings:
        assert reading.device_id == "dev-1"
        assert NOW - LIMITS.max_age <= reading.measured_at <= NOW + LIMITS.skew
        if isinstance(reading, BPReading):
            assert 50 <= reading.systolic <= 300 and 20 <= reading.diastolic <= 200
            assert reading.systolic > reading.diastolic
        elif isinstance(reading, GlucoseReading):
            assert (reading.value is None) == (reading.censored is not None)
            if reading.value is not None:
                lo, hi = (1.1, 33.3) if reading.unit == "mmol/L" else (20, 600)
                assert lo <= reading.value <= hi
        else:
            assert isinstance(reading, ActivityReading)
            assert 1 <= reading.duration_s <= 86400
            assert 0 <= reading.steps <= 300 * reading.duration_s / 60
            assert reading.measured_at + timedelta(seconds=reading.duration_s) <= NOW + LIMITS.skew


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_valid_payloads_are_accepted_or_rejected_with_a_reason_and_field(
    case: tuple[str, Any],
) -> None:
    kind, doc = case
    check(kind, doc, json.dumps(doc).encode())


@settings(max_examples=200, deadline=None)
@given(case=mutated(), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                      min_size=1, max_size=4))  # fmt: skip
def test_corrupted_bytes_of_valid_payloads_never_raise(
    case: tuple[str, Any], flips: list[tuple[int, int]]
) -> None:
    kind, doc = case
    raw = bytearray(json.dumps(doc, ensure_ascii=False).encode())
    for pos, byte in flips:
        raw[pos % len(raw)] = byte
    out = parse_message(f"wearables/dev-1/{kind}", bytes(raw), NOW, "wearables", LIMITS)
    assert out.readings or out.rejections
    assert all(r.reason in DOCUMENTED and r.detail for r in out.rejections)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), item=json_values, seed=st.sampled_from(range(8)))
def test_lower_entry_points_raise_only_reject(kind: str, item: Any, seed: int) -> None:
    """``parse_compact``/``parse_omh_body`` on any dict: a Reading or a documented Reject."""
    items = valid_items(kind)
    base = json.loads(json.dumps(items[seed % len(items)]))
    base = base.get("body", base)
    if isinstance(item, dict):
        base.update(item)  # valid keys overwritten or joined by arbitrary ones
    found = infer_kind(base)
    for fn in (parse_compact, parse_omh_body):
        try:
            fn(base, "/x", "dev-1", kind, NOW, LIMITS)  # type: ignore[arg-type]
        except Reject as rej:
            assert rej.reason in DOCUMENTED and rej.detail
            assert rej.field is None or rej.field.startswith("/x"), rej.field
    assert found is None or found[1] in KINDS


@settings(max_examples=300, deadline=None)
@given(topic=st.one_of(st.text(max_size=40),
                       st.builds(lambda a, b: f"wearables/{a}/{b}", st.text(max_size=10),
                                 st.text(max_size=10))))  # fmt: skip
def test_parse_topic_accepts_exactly_prefix_device_kind(topic: str) -> None:
    parts = topic.split("/")
    well_formed = len(parts) == 3 and parts[0] == "wearables" and parts[1] and parts[2] in KINDS
    try:
        device_id, kind = parse_topic(topic, "wearables")
    except Reject as rej:
        assert not well_formed
        assert rej.reason in {"bad_topic", "unknown_kind"} and rej.detail
    else:
        assert well_formed and (device_id, kind) == (parts[1], parts[2])


def test_an_object_as_schema_name_is_a_rejection_not_a_crash() -> None:
    """Found by the mutation fuzzer: ``name not in OMH_SCHEMAS`` raised TypeError on a dict."""
    point = compact_to_omh("bp", COMPACT["bp"][0], "dev-1")
    for name in ({"value": 1}, ["blood-pressure"]):
        point["header"]["schema_id"]["name"] = name
        out = parse_message("wearables/dev-1/bp", json.dumps(point).encode(), NOW, "wearables",
                            LIMITS)  # fmt: skip
        assert [(r.reason, r.field) for r in out.rejections] == [
            ("unsupported_schema", "/header/schema_id/name")
        ]
