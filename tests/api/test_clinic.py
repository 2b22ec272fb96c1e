"""Clinic views: filters and paging, one patient's trends, alerts, FHIR R4 and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World


def _ids(client: TestClient, world: World, query: str) -> list[str]:
    resp = client.get(f"/clinic/patients{query}", headers=world.auth("clinic"))
    assert resp.status_code == 200, resp.text
    return [p["member_id"] for p in resp.json()["items"]]


def test_filters_uncontrolled_no_data_and_new_alerts(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    rows = {
        p["member_id"]: p
        for p in client.get("/clinic/patients", headers=world.auth("clinic")).json()["items"]
    }
    assert rows["m1"]["control_status"] == "uncontrolled"  # bp.controlled false, TIR 62 %
    assert rows["m3"]["control_status"] == "insufficient"  # no score at all
    assert rows["m1"]["open_alerts"] == 1 and rows["m3"]["open_alerts"] == 0
    assert _ids(client, world, "?status=uncontrolled") == ["m1"]
    assert _ids(client, world, "?status=no_data_7d") == ["m3"]
    assert _ids(client, world, "?status=new_alerts") == ["m1"]
    # m1's readings are all older than 7 days: it joins the no-data list. Replace them with
    # old ones rather than UPDATE the times: on TimescaleDB a row cannot move to another chunk.
    for table in ("bp_readings", "glucose_readings", "activity_readings"):
        conn.execute(f"DELETE FROM {table} WHERE member_id = 'm1'")
    old = world.now - timedelta(days=8, hours=2)
    conn.execute(
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
        " systolic, diastolic, pulse, validated) VALUES ('cuff-m1', %s, 'm1', 480, 130, 82, 70,"
        " true)",
        (old,),
    )
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, censored, method) VALUES ('cgm-m1', %s, 'm1', 480, 110, 'mg/dL', NULL,"
        " 'cgm')",
        (old,),
    )
    conn.execute(
        "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
        " utc_offset_min, steps, active_minutes) VALUES ('band-m1', %s, 3600, 'm1', 480, 3000,"
        " 20)",
        (old,),
    )
    assert _ids(client, world, "?status=no_data_7d") == ["m1", "m3"]


def test_a_controlled_score_is_controlled(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        "UPDATE scores SET indicators = jsonb_set(jsonb_set(indicators, '{bp,controlled}',"
        " 'true'), '{cgm,tir}', '75') WHERE member_id = 'm1'"
    )
    assert _ids(client, world, "?status=uncontrolled") == []


def test_keyset_paging(client: TestClient, world: World) -> None:
    first = client.get("/clinic/patients?limit=1", headers=world.auth("clinic")).json()
    assert [p["member_id"] for p in first["items"]] == ["m1"]
    assert first["next_cursor"] == "m1"
    second = client.get(
        f"/clinic/patients?limit=1&after={first['next_cursor']}", headers=world.auth("clinic")
    ).json()
    assert [p["member_id"] for p in second["items"]] == ["m3"]
    third = client.get("/clinic/patients?limit=1&after=m3", headers=world.auth("clinic")).json()
    assert third == {"items": [], "next_cursor": None}


def test_patient_indicators_and_trends(client: TestClient, world: World) -> None:
    body = client.get("/clinic/patients/m1?days=7", headers=world.auth("clinic")).json()
    assert body["patient"]["display_name"] == "Patient m1"
    assert body["score"]["indicators"]["cgm"]["tir"] == 62.0
    assert [a["kind"] for a in body["alerts"]] == ["bp_grade3"]
    bp = body["trends"]["bp"]
    assert len(bp) == 3
    assert sorted(d["mean_sys"] for d in bp) == [130.0, 131.0, 132.0]
    assert sorted(d["steps"] for d in body["trends"]["steps"]) == [3000.0, 3001.0, 3002.0]
    assert len(body["recent_glucose"]) == 4
    assert body["recent_glucose"][0]["censored"] == "LO"  # newest first


def test_acknowledging_an_alert_closes_it_once(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    url = f"/clinic/alerts/{world.alerts['m1']}/acknowledge"
    first = client.post(url, headers=world.auth("clinic")).json()
    assert first["acknowledged_by"] == "clinic-a" and first["acknowledged_at"]
    again = client.post(url, headers=world.auth("clinic")).json()
    assert again["acknowledged_at"] == first["acknowledged_at"]
    assert _ids(client, world, "?status=new_alerts") == []
    assert (
        client.post("/clinic/alerts/999999/acknowledge", headers=world.auth("clinic")).status_code
        == 404
    )


UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


def _loinc(resource: dict[str, Any]) -> str:
    codings = resource["code"]["coding"]
    assert codings[0]["system"] == LOINC
    return str(codings[0]["code"])


def test_fhir_export_is_a_valid_r4_bundle_of_observations(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    resp = client.get("/clinic/patients/m1/observations.fhir", headers=world.auth("clinic"))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/fhir+json")
    bundle = resp.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert "total" not in bundle  # bdl-1: only searchset/history Bundles carry a total
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert len(by_url) == len(bundle["entry"])
    resources = [e["resource"] for e in bundle["entry"]]
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    n_db = sum(
        conn.execute(f"SELECT count(*) FROM {t} WHERE member_id = 'm1'").fetchone()[0]  # type: ignore[index]
        for t in ("bp_readings", "glucose_readings", "activity_readings")
    )
    assert len(observations) == n_db
    (pat,) = [r for r in resources if r["resourceType"] == "Patient"]
    assert pat["identifier"] == [{"system": "urn:wellrate:member", "value": "m1"}]
    assert "name" not in pat
    by_code: dict[str, list[dict[str, Any]]] = {}
    for r in observations:
        assert r["status"] == "final"
        assert by_url[r["subject"]["reference"]] is pat
        assert by_url[r["device"]["reference"]]["resourceType"] == "Device"
        by_code.setdefault(_loinc(r), []).append(r)
    assert set(by_code) == {"85354-9", "99504-3", "105272-9", "55423-8"}
    for bp in by_code["85354-9"]:
        assert bp["category"][0]["coding"][0]["code"] == "vital-signs"
        comps = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in bp["component"]}
        assert set(comps) == {"8480-6", "8462-4"}
        for q in comps.values():
            assert q["system"] == UCUM and q["code"] == "mm[Hg]"
        assert comps["8462-4"]["value"] == 82
        assert bp["effectiveDateTime"].endswith("+08:00")  # the device's offset, kept
    for g in by_code["99504-3"]:
        q = g["valueQuantity"]
        assert (q["code"], q["unit"], q["system"]) == ("mg/dL", "mg/dl", UCUM)
    (lo,) = by_code["105272-9"]
    assert "valueQuantity" not in lo
    assert lo["dataAbsentReason"]["coding"][0]["code"] == "negative-infinity"
    for s in by_code["55423-8"]:
        assert s["valueQuantity"]["code"] == "{steps}"
        assert s["effectivePeriod"]["end"] > s["effectivePeriod"]["start"]
        assert s["effectivePeriod"]["start"].endswith("+08:00")


def test_csv_export_has_one_row_per_reading(client: TestClient, world: World) -> None:
    resp = client.get("/clinic/patients/m1/observations.csv", headers=world.auth("clinic"))
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    kinds = [r["kind"] for r in rows]
    assert kinds.count("bp") == 3 and kinds.count("glucose") == 4 and kinds.count("steps") == 3
    assert {r["unit"] for r in rows if r["kind"] == "bp"} == {"mmHg"}


@pytest.mark.parametrize(
    "query",
    [
        "?start=2026-01-01T00:00:00Z&end=2026-12-31T00:00:00Z",
        "?start=2026-02-01T00:00:00Z&end=2026-01-01T00:00:00Z",
    ],
)
def test_export_window_is_bounded(client: TestClient, world: World, query: str) -> None:
    resp = client.get(f"/clinic/patients/m1/observations.csv{query}", headers=world.auth("clinic"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "query.end"


def test_a_clinic_uploads_lab_results_and_fills_for_its_own_patient(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """The no-device path: HbA1c and LDL-C results and medication fills, stored once
    however often the same upload is repeated, audited, refused with the field when wrong."""
    at = "2026-10-01T09:00:00+08:00"
    labs = {"results": [
        {"loinc": "4548-4", "value": 6.6, "unit": "%", "taken_at": at},
        {"loinc": "13457-7", "value": 2.3, "unit": "mmol/L", "taken_at": at},
        # The follow-up form's exercise, minutes a week (0 is an answer too).
        {"loinc": "82290-8", "value": 0, "unit": "min/wk", "taken_at": at},
    ]}  # fmt: skip
    auth = world.auth("clinic")
    first = client.post("/clinic/patients/m1/labs", json=labs, headers=auth)
    assert first.status_code == 201 and first.json() == {"received": 3, "stored": 3}
    again = client.post("/clinic/patients/m1/labs", json=labs, headers=auth)
    assert again.json() == {"received": 3, "stored": 0}
    for wrong in ({"unit": "%"}, {"value": 0, "loinc": "4548-4", "unit": "%"}):
        bad_ex = {"results": [{**labs["results"][2], **wrong}]}
        assert client.post("/clinic/patients/m1/labs", json=bad_ex, headers=auth).status_code == 422
    fills = {"records": [{"drug_class": "statin", "dispensed_on": "2026-09-01", "days_supply": 90}]}
    assert client.post("/clinic/patients/m1/dispensings", json=fills, headers=auth).json() == {
        "received": 1, "stored": 1,
    }  # fmt: skip
    bad = {"results": [{**labs["results"][0], "unit": "mmol/L"}]}  # HbA1c is in %
    resp = client.post("/clinic/patients/m1/labs", json=bad, headers=auth)
    assert resp.status_code == 422 and resp.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert "results" in resp.text
    rows = conn.execute(
        "SELECT action, count(*) FROM audit_log WHERE action LIKE 'clinic.%%.upload'"
        " AND outcome = 'allowed' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("clinic.dispensings.upload", 1), ("clinic.labs.upload", 2)]
