"""Table-driven tests of the pure parser: every bad-input case and both formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.parsing import (
    ActivityReading,
    BPReading,
    GlucoseReading,
    Limits,
    ParsedMessage,
    parse_message,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_payload_bytes=4096, max_future_skew_s=600, max_age_days=400)
T = "2026-06-01T18:30:00+08:00"  # 10:30 UTC, before NOW


def parse(
    kind: str, payload: Any, *, raw: bytes | None = None, topic: str | None = None
) -> ParsedMessage:
    body = raw if raw is not None else json.dumps(payload).encode()
    return parse_message(topic or f"wearables/dev-1/{kind}", body, NOW, "wearables", LIMITS)


def omh(name: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "header": {
            "id": "0b5e-1",
            "creation_date_time": T,
            "schema_id": {"namespace": "omh", "name": name, "version": version},
        },
        "body": body,
    }


BP_OMH = {
    "systolic_blood_pressure": {"value": 142, "unit": "mmHg"},
    "diastolic_blood_pressure": {"value": 91, "unit": "mmHg"},
    "effective_time_frame": {"date_time": T},
}
GLU_OMH = {
    "blood_glucose": {"value": 6.2, "unit": "mmol/L"},
    "specimen_source": "capillary blood",
    "temporal_relationship_to_meal": "before breakfast",
    "effective_time_frame": {"date_time": T},
}
STEPS_OMH = {
    "step_count": {"value": 1200, "unit": "steps"},
    "effective_time_frame": {
        "time_interval": {"start_date_time": T, "duration": {"value": 15, "unit": "min"}}
    },
}


# --- accepted: both formats into the same dataclasses ------------------------------------
ACCEPTED = [
    ("bp compact", "bp", {"t": T, "sys": 128, "dia": 82, "pulse": 71},
     BPReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 128, 82, 71)),
    ("bp omh", "bp", omh("blood-pressure", "4.0", BP_OMH),
     BPReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 142, 91, None)),
    ("bp omh bare body", "bp", BP_OMH,
     BPReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 142, 91, None)),
    ("glucose compact mmol", "glucose", {"t": T, "v": 5.4, "u": "mmol/l", "m": "cgm"},
     GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 5.4, "mmol/L",
                    None, "cgm", None)),
    ("glucose compact mgdl meal", "glucose",
     {"t": "2026-06-01T10:30:00Z", "v": 97, "u": "mg/dl", "m": "smbg", "meal": "fasting"},
     GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 0, 97.0, "mg/dL",
                    None, "smbg", "fasting")),
    ("glucose censored LO", "glucose", {"t": T, "v": "LO", "u": "mg/dL", "m": "smbg"},
     GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, None, "mg/dL",
                    "LO", "smbg", None)),
    ("glucose censored HI", "glucose", {"t": T, "v": "HI", "u": "mmol/L", "m": "cgm"},
     GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, None, "mmol/L",
                    "HI", "cgm", None)),
    ("glucose omh", "glucose", omh("blood-glucose", "4.0", GLU_OMH),
     GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 6.2, "mmol/L",
                    None, "smbg", "before_breakfast")),
    ("activity compact", "activity",
     {"t": T, "dur": 900, "steps": 1500, "active_min": 12, "vig_min": 3, "hr": 104},
     ActivityReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 900, 1500, 12, 3,
                     104)),
    ("activity omh duration", "activity", omh("step-count", "3.0", STEPS_OMH),
     ActivityReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 900, 1200, 0, 0,
                     None)),
    ("activity omh end time", "activity",
     {"step_count": {"value": 600, "unit": "steps"}, "effective_time_frame": {"time_interval": {
         "start_date_time": T, "end_date_time": "2026-06-01T18:40:00+08:00"}}},
     ActivityReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 600, 600, 0, 0,
                     None)),
    # IEEE 1752.1 time-interval: an end time plus a duration, in any duration-unit-value unit.
    ("activity omh end time plus duration in us", "activity",
     {**STEPS_OMH, "effective_time_frame": {"time_interval": {
         "end_date_time": "2026-06-01T18:40:00+08:00",
         "duration": {"value": 600_000_000, "unit": "us"}}}},
     ActivityReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 600, 1200, 0, 0,
                     None)),
    ("activity omh duration in ns", "activity",
     {**STEPS_OMH, "effective_time_frame": {"time_interval": {
         "start_date_time": T, "duration": {"value": 6e11, "unit": "ns"}}}},
     ActivityReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 600, 1200, 0, 0,
                     None)),
    *[(f"glucose omh meal {m}", "glucose",
       {**GLU_OMH, "temporal_relationship_to_meal": m},
       GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 6.2, "mmol/L",
                      None, "smbg", m.replace(" ", "_")))
      for m in ("2 hours postprandial", "with meal", "with food")],
    ("glucose omh before sleeping", "glucose",
     {**{k: v for k, v in GLU_OMH.items() if k != "temporal_relationship_to_meal"},
      "temporal_relationship_to_sleep": "before sleeping"},
     GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 6.2, "mmol/L",
                    None, "smbg", "before_sleep")),
    ("glucose omh censored at the meter's limit", "glucose",
     {**GLU_OMH, "blood_glucose": {"value": 1.1, "unit": "mmol/L"}, "censored": "LO",
      "specimen_source": "interstitial fluid"},
     GlucoseReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, None, "mmol/L",
                    "LO", "cgm", "before_breakfast")),
    ("bp omh posture, location, activity", "bp",
     {**BP_OMH, "body_posture": "semi-recumbent", "measurement_location": "left wrist",
      "temporal_relationship_to_physical_activity": "at rest"},
     BPReading("dev-1", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), 480, 142, 91, None)),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "payload", "expected"), [c[1:] for c in ACCEPTED],
                         ids=[c[0] for c in ACCEPTED])  # fmt: skip
def test_accepted(kind: str, payload: Any, expected: Any) -> None:
    out = parse(kind, payload)
    assert out.rejections == []
    assert out.readings == [expected]
    assert out.device_id == "dev-1" and out.kind == kind


def test_batch_forms_and_per_reading_rejection() -> None:
    good = {"t": T, "sys": 120, "dia": 80}
    bad = {"t": T, "sys": 80, "dia": 90}
    later = {"t": "2026-06-01T18:31:00+08:00", "sys": 121, "dia": 79}
    for payload, base in (
        ([good, bad, later], ""),
        ({"readings": [good, bad, later]}, "/readings"),
    ):
        out = parse("bp", payload)
        assert [r.systolic for r in out.readings if isinstance(r, BPReading)] == [120, 121]
        assert len(out.readings) == 2
        assert [out.path(k) for k in range(2)] == [f"{base}/0", f"{base}/2"]
        assert [(r.reason, r.field, r.index) for r in out.rejections] == [
            ("implausible_value", f"{base}/1/dia", 1)
        ]


# --- rejected: (id, topic kind, payload or raw bytes, reason, field) -----------------------
FUTURE = (NOW + timedelta(hours=1)).isoformat()
OLD = (NOW - timedelta(days=401)).isoformat()
REJECTED: list[tuple[str, str, Any, str, str | None]] = [
    ("malformed json", "bp", b'{"t": "x", "sys": 12', "malformed_json", None),
    ("NaN is not JSON", "bp", b'{"t": "2026-06-01T10:00:00Z", "sys": NaN, "dia": 80}',
     "malformed_json", None),
    ("bad utf-8", "bp", b'{"t": "\xff\xfe"}', "bad_encoding", None),
    ("utf-8 byte order mark", "bp", b'\xef\xbb\xbf{"t": "2026-06-01T18:30:00+08:00"}',
     "malformed_json", None),
    ("oversized", "bp", b"[" + b" " * 5000 + b"]", "oversized_payload", None),
    ("not an object", "bp", 42, "bad_structure", ""),
    ("empty batch", "bp", {"readings": []}, "bad_structure", "/readings"),
    ("reading not an object", "bp", [1], "bad_structure", "/0"),
    ("unrecognisable reading", "bp", {"t": T, "foo": 1}, "bad_structure", ""),
    ("glucose body on bp topic", "bp", {"t": T, "v": 5.5, "u": "mmol/L", "m": "cgm"},
     "kind_mismatch", ""),
    ("omh glucose on bp topic", "bp", omh("blood-glucose", "4.0", GLU_OMH), "kind_mismatch",
     "/header/schema_id/name"),
    ("omh steps bare on glucose topic", "glucose", STEPS_OMH, "kind_mismatch", ""),
    ("unsupported omh schema", "bp", omh("heart-rate", "2.0", {}), "unsupported_schema",
     "/header/schema_id/name"),
    ("unsupported omh version", "bp", omh("blood-pressure", "1.0", BP_OMH), "unsupported_schema",
     "/header/schema_id/version"),
    ("missing field", "bp", {"t": T, "sys": 120}, "missing_field", "/dia"),
    ("string systolic", "bp", {"t": T, "sys": "120", "dia": 80}, "invalid_type", "/sys"),
    ("boolean is not a number", "bp", {"t": T, "sys": True, "dia": 80}, "invalid_type", "/sys"),
    ("fractional systolic", "bp", {"t": T, "sys": 120.5, "dia": 80}, "invalid_type", "/sys"),
    ("systolic <= diastolic", "bp", {"t": T, "sys": 90, "dia": 90}, "implausible_value", "/dia"),
    ("systolic above 300", "bp", {"t": T, "sys": 301, "dia": 90}, "implausible_value", "/sys"),
    ("systolic below 50", "bp", {"t": T, "sys": 49, "dia": 30}, "implausible_value", "/sys"),
    ("diastolic below range", "bp", {"t": T, "sys": 100, "dia": 10}, "implausible_value", "/dia"),
    ("pulse out of range", "bp", {"t": T, "sys": 120, "dia": 80, "pulse": 400},
     "implausible_value", "/pulse"),
    ("omh bp unit", "bp", {**BP_OMH, "systolic_blood_pressure": {"value": 16, "unit": "kPa"}},
     "unknown_unit", "/systolic_blood_pressure/unit"),
    ("unknown glucose unit", "glucose", {"t": T, "v": 5.5, "u": "g/L", "m": "cgm"},
     "unknown_unit", "/u"),
    ("omh glucose unit", "glucose",
     {**GLU_OMH, "blood_glucose": {"value": 5, "unit": "mmol/dL"}}, "unknown_unit",
     "/blood_glucose/unit"),
    ("glucose mmol above 33.3", "glucose", {"t": T, "v": 33.4, "u": "mmol/L", "m": "cgm"},
     "implausible_value", "/v"),
    ("glucose mmol below 1.1", "glucose", {"t": T, "v": 1.0, "u": "mmol/L", "m": "cgm"},
     "implausible_value", "/v"),
    # 100 is plausible in mg/dL but not in mmol/L: compared in the unit reported.
    ("glucose mg/dL value sent as mmol/L", "glucose", {"t": T, "v": 100, "u": "mmol/L", "m": "cgm"},
     "implausible_value", "/v"),
    ("glucose mg/dL above 600", "glucose", {"t": T, "v": 601, "u": "mg/dL", "m": "smbg"},
     "implausible_value", "/v"),
    ("glucose mg/dL below 20", "glucose", {"t": T, "v": 19, "u": "mg/dL", "m": "smbg"},
     "implausible_value", "/v"),
    ("glucose unknown censor string", "glucose", {"t": T, "v": "LOW!", "u": "mg/dL", "m": "smbg"},
     "invalid_type", "/v"),
    ("glucose method", "glucose", {"t": T, "v": 5.5, "u": "mmol/L", "m": "lab"},
     "invalid_value", "/m"),
    ("glucose meal context", "glucose",
     {"t": T, "v": 5.5, "u": "mmol/L", "m": "cgm", "meal": "brunch"}, "invalid_value", "/meal"),
    ("over 300 steps per minute", "activity", {"t": T, "dur": 60, "steps": 301},
     "implausible_value", "/steps"),
    ("omh steps over 300 per minute", "activity",
     {**STEPS_OMH, "step_count": {"value": 4501, "unit": "steps"}}, "implausible_value", "/steps"),
    ("omh steps need an interval", "activity",
     {"step_count": {"value": 10, "unit": "steps"}, "effective_time_frame": {"date_time": T}},
     "missing_field", "/effective_time_frame/time_interval"),
    ("omh steps as a bare number", "activity", {**STEPS_OMH, "step_count": 600},
     "invalid_type", "/step_count"),
    ("omh steps unit", "activity", {**STEPS_OMH, "step_count": {"value": 6, "unit": "step"}},
     "unknown_unit", "/step_count/unit"),
    ("omh steps average", "activity",
     {**STEPS_OMH, "descriptive_statistic": "average", "descriptive_statistic_denominator": "d"},
     "aggregate_not_stored", "/descriptive_statistic"),
    ("omh steps date and part of day", "activity",
     {**STEPS_OMH, "effective_time_frame": {"time_interval": {
         "date": "2026-06-01", "part_of_day": "morning"}}},
     "imprecise_time", "/effective_time_frame/time_interval"),
    ("omh steps start only", "activity",
     {**STEPS_OMH, "effective_time_frame": {"time_interval": {"start_date_time": T}}},
     "bad_structure", "/effective_time_frame/time_interval"),
    ("omh steps duration unit", "activity",
     {**STEPS_OMH, "effective_time_frame": {"time_interval": {
         "start_date_time": T, "duration": {"value": 1, "unit": "fortnight"}}}},
     "unknown_unit", "/effective_time_frame/time_interval/duration/unit"),
    ("omh steps end plus an absurd duration", "activity",
     {**STEPS_OMH, "effective_time_frame": {"time_interval": {
         "end_date_time": T, "duration": {"value": 1e300, "unit": "yr"}}}},
     "implausible_value", "/effective_time_frame/time_interval/duration"),
    ("omh glucose specimen not in the schema", "glucose", {**GLU_OMH, "specimen_source": "fluid"},
     "invalid_value", "/specimen_source"),
    *[(f"omh glucose in {s}", "glucose", {**GLU_OMH, "specimen_source": s},
       "unsupported_specimen", "/specimen_source")
      for s in ("breath", "saliva", "sweat", "tears", "urine")],
    ("omh glucose sleep typo", "glucose",
     {**GLU_OMH, "temporal_relationship_to_sleep": "bfore sleeping"}, "invalid_value",
     "/temporal_relationship_to_sleep"),
    ("omh glucose meal typo", "glucose", {**GLU_OMH, "temporal_relationship_to_meal": "fsting"},
     "invalid_value", "/temporal_relationship_to_meal"),
    ("omh glucose statistic typo", "glucose", {**GLU_OMH, "descriptive_statistic": "minmum"},
     "invalid_value", "/descriptive_statistic"),
    ("omh glucose maximum", "glucose", {**GLU_OMH, "descriptive_statistic": "maximum"},
     "aggregate_not_stored", "/descriptive_statistic"),
    ("omh glucose LO as a string", "glucose",
     {**GLU_OMH, "blood_glucose": {"value": "LO", "unit": "mmol/L"}}, "invalid_type",
     "/blood_glucose/value"),
    ("omh glucose censored flag", "glucose", {**GLU_OMH, "censored": "LOW"}, "invalid_value",
     "/censored"),
    ("omh glucose two time frames", "glucose",
     {**GLU_OMH, "effective_time_frame": {"date_time": T, "time_interval": {}}},
     "bad_structure", "/effective_time_frame"),
    ("omh bp activity relationship", "bp",
     {**BP_OMH, "temporal_relationship_to_physical_activity": "rest"}, "invalid_value",
     "/temporal_relationship_to_physical_activity"),
    ("omh bp posture", "bp", {**BP_OMH, "body_posture": "crouching"}, "invalid_value",
     "/body_posture"),
    ("omh bp location", "bp", {**BP_OMH, "measurement_location": "left ear"}, "invalid_value",
     "/measurement_location"),
    ("omh bp average", "bp", {**BP_OMH, "descriptive_statistic": "average"},
     "aggregate_not_stored", "/descriptive_statistic"),
    ("omh header without creation time", "bp",
     {"header": {"id": "x", "schema_id": {"namespace": "omh", "name": "blood-pressure",
                                          "version": "4.0"}}, "body": BP_OMH},
     "missing_field", "/header/creation_date_time"),
    ("omh header without id", "bp",
     {"header": {"creation_date_time": T, "schema_id": {
         "namespace": "omh", "name": "blood-pressure", "version": "4.0"}}, "body": BP_OMH},
     "missing_field", "/header/id"),
    ("omh header namespace", "bp",
     {"header": {"id": "x", "creation_date_time": T, "schema_id": {
         "namespace": "ieee", "name": "blood-pressure", "version": "4.0"}}, "body": BP_OMH},
     "unsupported_schema", "/header/schema_id/namespace"),
    ("active minutes exceed interval", "activity",
     {"t": T, "dur": 600, "steps": 100, "active_min": 11}, "implausible_value", "/active_min"),
    ("zero duration", "activity", {"t": T, "dur": 0, "steps": 0}, "implausible_value", "/dur"),
    ("no utc offset", "bp", {"t": "2026-06-01T10:30:00", "sys": 120, "dia": 80},
     "missing_utc_offset", "/t"),
    ("date only", "bp", {"t": "2026-06-01", "sys": 120, "dia": 80}, "missing_utc_offset", "/t"),
    ("not a timestamp", "bp", {"t": "yesterday", "sys": 120, "dia": 80}, "bad_timestamp", "/t"),
    ("timestamp is a number", "bp", {"t": 1780000000, "sys": 120, "dia": 80}, "invalid_type",
     "/t"),
    ("beyond future skew", "bp", {"t": FUTURE, "sys": 120, "dia": 80}, "future_timestamp", "/t"),
    ("older than horizon", "bp", {"t": OLD, "sys": 120, "dia": 80}, "too_old", "/t"),
    ("omh bp future", "bp",
     {**BP_OMH, "effective_time_frame": {"date_time": FUTURE}}, "future_timestamp",
     "/effective_time_frame/date_time"),
    ("activity interval ends in the future", "activity",
     {"t": (NOW - timedelta(minutes=5)).isoformat(), "dur": 3600, "steps": 10},
     "future_timestamp", "/dur"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "payload", "reason", "field"), [c[1:] for c in REJECTED],
                         ids=[c[0] for c in REJECTED])  # fmt: skip
def test_rejected(kind: str, payload: Any, reason: str, field: str | None) -> None:
    raw = payload if isinstance(payload, bytes) else None
    out = parse(kind, payload, raw=raw)
    assert out.readings == []
    assert len(out.rejections) == 1
    rej = out.rejections[0]
    assert (rej.reason, rej.field) == (reason, field), rej.detail
    assert rej.detail


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("wearables/dev-1/weight", "unknown_kind"),
        ("wearables/dev-1", "bad_topic"),
        ("wearables//bp", "bad_topic"),
        ("other/dev-1/bp", "bad_topic"),
        ("wearables/a/b/bp", "bad_topic"),
    ],
)
def test_bad_topics(topic: str, reason: str) -> None:
    out = parse("bp", {"t": T, "sys": 120, "dia": 80}, topic=topic)
    assert out.readings == []
    assert [r.reason for r in out.rejections] == [reason]


# --- never raises on input -----------------------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=5),
    max_leaves=20,
)  # fmt: skip
reading_like = st.fixed_dictionaries(
    {},
    optional={
        "t": st.sampled_from([T, "2026-06-01T10:00:00", "x", 5]),
        "sys": json_values, "dia": json_values, "pulse": json_values, "v": json_values,
        "u": st.sampled_from(["mg/dL", "mmol/l", "g/L", 3]), "m": json_values,
        "meal": json_values, "dur": json_values, "steps": json_values, "hr": json_values,
        "header": json_values, "body": json_values, "step_count": json_values,
        "blood_glucose": json_values, "systolic_blood_pressure": json_values,
        "effective_time_frame": json_values,
    },
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(["bp", "glucose", "activity"]), raw=st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(kind: str, raw: bytes) -> None:
    out = parse(kind, None, raw=raw)
    assert len(out.readings) + len(out.rejections) >= 1


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["bp", "glucose", "activity"]),
       doc=st.one_of(json_values, reading_like, st.lists(reading_like, max_size=3)))  # fmt: skip
def test_arbitrary_json_never_raises_and_accounts_for_every_reading(kind: str, doc: Any) -> None:
    out = parse(kind, doc)
    whole = [r for r in out.rejections if r.index is None]  # the message as a whole
    if whole:
        assert out.readings == [] and len(out.rejections) == 1
    elif isinstance(doc, list):
        assert len(out.readings) + len(out.rejections) == len(doc)
    else:
        assert len(out.readings) + len(out.rejections) == 1
    assert all(r.reason and r.detail for r in out.rejections)
