"""The FHIR export against the official FHIR R4 (4.0.1) JSON Schema (vendored subset,
tests/conformance/vendor/fhir-r4) and the FHIRPath invariants a validator applies to it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from hypothesis import given, settings

from api.clinic import fhir
from api.devices import repository as devices
from tests.api.conftest import World
from tests.api.test_fhir import CGM_FULL, _cgm_score, _exports
from tests.conformance.schemas import fhir_validator

# FHIR R4 dateTime (http://hl7.org/fhir/R4/datatypes.html#dateTime) with a time: seconds and
# an offset are required.
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NOW = datetime(2026, 3, 2, tzinfo=UTC)
XHTML_DIV = re.compile(r'<div xmlns="http://www.w3.org/1999/xhtml">.*\S.*</div>', re.S)


def _errors(bundle: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in
            fhir_validator().iter_errors(bundle)]  # fmt: skip


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) of a JSON document."""
    out = [(path, node)]
    if isinstance(node, dict):
        out += [p for k, v in node.items() for p in _walk(v, f"{path}/{k}")]
    elif isinstance(node, list):
        out += [p for i, v in enumerate(node) for p in _walk(v, f"{path}/{i}")]
    return out


def _invariants(b: dict[str, Any]) -> None:
    """bdl-1, bdl-5, bdl-7, ele-1, per-1, qty-3, txt-1/txt-2, obs-6, obs-7, vs-2/vs-3 (the
    invariants that apply to what the export contains)."""
    assert b["type"] == "collection" and "total" not in b  # bdl-1
    urls = [e["fullUrl"] for e in b["entry"]]
    assert len(urls) == len(set(urls))  # bdl-7
    for path, value in _walk(b):
        # ele-1: every element has a value or children (no null, "", [] or {})
        assert value not in (None, "", [], {}), path
        if isinstance(value, dict) and {"start", "end"} <= value.keys():
            start, end = value["start"], value["end"]
            if len(start) > 10 and len(end) > 10:  # instants: compare as instants
                assert datetime.fromisoformat(start) <= datetime.fromisoformat(end), path
            else:
                assert start[:10] <= end[:10], path  # per-1
        if isinstance(value, dict) and "code" in value and "value" in value:
            assert "system" in value, path  # qty-3
    for e in b["entry"]:
        assert "resource" in e  # bdl-5
        r = e["resource"]
        assert XHTML_DIV.fullmatch(r["text"]["div"])  # txt-1, txt-2
        if r["resourceType"] != "Observation":
            continue
        # obs-6: dataAbsentReason only when there is no value
        assert not ("dataAbsentReason" in r and "valueQuantity" in r)
        # obs-7: a component with the Observation's own code carries no value of its own
        own = {c["code"] for c in r["code"]["coding"]}
        for comp in r.get("component", []):
            if {c["code"] for c in comp["code"]["coding"]} & own:
                assert "valueQuantity" not in r
        if "effectiveDateTime" in r:
            assert DATETIME.fullmatch(r["effectiveDateTime"]), r["effectiveDateTime"]
        else:
            for t in r["effectivePeriod"].values():
                assert DATETIME.fullmatch(t) or DATE.fullmatch(t), t
        # vs-2 (vital signs): a subject and an effective time; vs-3: a value, a component or
        # a data-absent reason.
        assert "subject" in r
        assert (
            "valueQuantity" in r
            or "component" in r
            or "dataAbsentReason" in r
            or ("hasMember" in r)
        )


def test_a_full_export_validates_against_the_r4_schema_and_invariants(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """Every kind of resource the export can hold: cuff and cuffless BP, CGM and fingerstick
    glucose in both units, censored values, clinic-entered readings, steps, a CGM summary."""
    devices.register_device(conn, "watch:1", "bp_cuffless", validated=False, clinic_id="c1")
    devices.register_device(conn, "meter_1", "glucometer", model="Accu 1", clinic_id="c1")
    t = world.now - timedelta(hours=6)
    for d in ("watch:1", "meter_1"):
        devices.bind_device(conn, d, "m1", t - timedelta(days=1))
    conn.execute(
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
        " diastolic, validated, source) VALUES ('watch:1', %s, 'm1', -300, 150, 95, false,"
        " 'device'), ('clinic-bp', %s, 'm1', 480, 138, 86, true, 'clinic')",
        (t, t),
    )
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, censored, method, meal_context) VALUES"
        " ('meter_1', %s, 'm1', 480, 6.1, 'mmol/L', NULL, 'smbg', 'fasting'),"
        " ('meter_1', %s, 'm1', 480, NULL, 'mg/dL', 'HI', 'smbg', NULL)",
        (t, t + timedelta(minutes=1)),
    )
    today = world.now.date()
    _cgm_score(conn, today - timedelta(days=13), today + timedelta(days=1),
               {**CGM_FULL, "hypo_l1_events": 2})  # fmt: skip
    for lang in ("en", "zh"):
        b = client.get(
            f"/clinic/patients/m1/observations.fhir?lang={lang}", headers=world.auth("clinic")
        ).json()
        assert _errors(b) == []
        _invariants(b)
        kinds = {e["resource"]["resourceType"] for e in b["entry"]}
        assert kinds == {"Patient", "Device", "Observation", "DiagnosticReport"}
    # The schema is not a rubber stamp: a Bundle.total of the wrong type, an unknown element
    # and an id outside [A-Za-z0-9-.]{1,64} are reported.
    bad = {**b, "total": "many", "entries": []}
    bad["entry"] = [{**b["entry"][0], "resource": {**b["entry"][0]["resource"], "id": "a_b"}}]
    assert len(_errors(bad)) >= 3


@settings(max_examples=40, deadline=None)
@given(_exports())
def test_any_accepted_ids_give_a_schema_valid_bundle(
    export: tuple[str, dict[str, list[dict[str, Any]]]],
) -> None:
    member, readings = export
    info = {"device_type": "bp_cuff", "model": "M_1:x", "validated": False}
    ids = {r["device_id"] for rows in readings.values() for r in rows}
    b = fhir.bundle(member, readings, NOW, devices={d: info for d in ids})
    assert _errors(b) == []
    _invariants(b)
