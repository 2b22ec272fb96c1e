"""Tenants never see each other's members; insurers never see raw readings; all is audited."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import World, audit_rows
from tests.api.test_matrix import ENDPOINTS, ENDS_OWN_CREDENTIAL


def test_each_clinic_lists_only_its_own_patients(client: TestClient, world: World) -> None:
    a = client.get("/clinic/patients", headers=world.auth("clinic")).json()
    b = client.get("/clinic/patients", headers=world.auth("clinic_b")).json()
    assert {p["member_id"] for p in a["items"]} == {"m1", "m3"}
    assert {p["member_id"] for p in b["items"]} == {"m2"}


def test_clinic_a_never_reaches_clinic_b_patient(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("clinic")
    calls = [
        ("GET", "/clinic/patients/m2", None),
        ("GET", "/clinic/patients/m2/observations.fhir", None),
        ("GET", "/clinic/patients/m2/observations.csv", None),
        ("POST", f"/clinic/alerts/{world.alerts['m2']}/acknowledge", None),
        (
            "POST",
            "/devices/cuff-m2/bindings",
            {"member_id": "m2", "valid_from": "2030-01-01T00:00:00Z"},
        ),
    ]
    for method, path, body in calls:
        resp = client.request(method, path, json=body, headers=h)
        assert resp.status_code == 404, (path, resp.text)
        assert "m2" not in resp.json()["detail"]
    # Nothing changed for m2, and every refusal is in the audit log.
    ack = conn.execute(
        "SELECT acknowledged_at FROM alerts WHERE alert_id = %s", (world.alerts["m2"],)
    ).fetchone()
    assert ack == (None,)
    denied = audit_rows(conn, member_id="m2", outcome="denied")
    # The binding is refused on the device (c2's), before the member is even looked at.
    assert len(denied) == len(calls) - 1
    assert [r["detail"]["status"] for r in audit_rows(conn, action="device.bind")] == [404]
    assert {r["tenant_id"] for r in denied} == {"c1"}
    # ... while clinic B sees its own patient.
    assert client.get("/clinic/patients/m2", headers=world.auth("clinic_b")).status_code == 200


def test_a_member_sees_only_themself(client: TestClient, world: World) -> None:
    mine = client.get("/member/me/score", headers=world.auth("member")).json()
    theirs = client.get("/member/me/score", headers=world.auth("member_m2")).json()
    assert mine["member_id"] == "m1" and theirs["member_id"] == "m2"
    assert "m2" not in json.dumps(mine)
    # No member-addressed endpoint is open to members.
    for path in ("/clinic/patients/m2", "/insurer/members/m2/score"):
        assert client.get(path, headers=world.auth("member")).status_code == 403


# Anything that would betray a raw reading: its fields, its device, its exact times.
RAW_KEYS = {
    "systolic",
    "diastolic",
    "measured_at",
    "start_at",
    "recent_glucose",
    "trends",
    "device_id",
    "entry",
    "readings",
}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_insurer_never_gets_raw_readings_from_any_endpoint(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    devices = [r[0] for r in conn.execute("SELECT device_id FROM devices")]
    times = [r[0].isoformat()[:19] for r in conn.execute("SELECT measured_at FROM bp_readings")]
    checked = 0
    for method, _tpl, path, body, _allowed in ENDPOINTS:
        if (method, _tpl) in ENDS_OWN_CREDENTIAL:
            continue
        resp = client.request(method, path, json=body, headers=world.auth("insurer"))
        text = resp.text
        for marker in devices + times:
            assert marker not in text, (path, marker)
        if resp.headers.get("content-type", "").startswith("application/json"):
            assert not (_keys(resp.json()) & RAW_KEYS), (path, _keys(resp.json()) & RAW_KEYS)
        checked += resp.status_code < 300
    # The insurer's own score endpoint answered, so the scan covered real data.
    score = client.get("/insurer/members/m1/score", headers=world.auth("insurer"))
    assert score.status_code == 200 and score.json()["composite"] == 70.0
    assert checked >= 2


def test_access_to_personal_data_is_audited_in_the_same_transaction(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    client.get("/clinic/patients/m1", headers=world.auth("clinic"))
    client.get("/clinic/patients/m1/observations.fhir", headers=world.auth("clinic"))
    client.get("/insurer/members/m1/score", headers=world.auth("insurer"))
    client.get("/member/me/score", headers=world.auth("member"))
    rows = audit_rows(conn, member_id="m1", outcome="allowed")
    assert [(r["role"], r["action"]) for r in rows] == [
        ("clinic", "clinic.patient.read"),
        ("clinic", "clinic.export.fhir"),
        ("insurer", "insurer.score.read"),
        ("member", "member.score.read"),
    ]
    assert all(r["principal_id"] is not None and r["at"] is not None for r in rows)
    # A list view audits every patient it showed, and only those.
    client.get("/clinic/patients?status=new_alerts", headers=world.auth("clinic"))
    listed = audit_rows(conn, action="clinic.patients.list")
    assert [(r["member_id"], r["tenant_id"]) for r in listed] == [("m1", "c1")]
    # A request that fails after the access check rolls its audit row back with it:
    # binding before the device's current binding began is a conflict.
    resp = client.post(
        "/devices/cuff-m1/bindings",
        json={"member_id": "m3", "valid_from": "2000-01-01T00:00:00Z"},
        headers=world.auth("clinic"),
    )
    assert resp.status_code == 409
    assert audit_rows(conn, member_id="m3", action="device.bind") == []


def test_audit_log_never_holds_tokens(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    for who in world.tokens:
        client.get("/clinic/patients/m1", headers=world.auth(who))
        client.get("/member/me/score", headers=world.auth(who))
    dump = json.dumps(audit_rows(conn), default=str)
    assert len(audit_rows(conn)) >= 3
    for token in world.tokens.values():
        assert token.split("_", 2)[2] not in dump
