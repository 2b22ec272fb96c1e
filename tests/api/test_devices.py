"""Registering and binding devices; the repository functions other parts call."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.devices import repository as devices
from tests.api.conftest import World


def _bindings(conn: psycopg.Connection[Any], device_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT member_id, valid_from, valid_to FROM device_bindings WHERE device_id = %s"
        " ORDER BY valid_from",
        (device_id,),
    ).fetchall()


def test_clinic_registers_and_binds_for_its_own_patient(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("clinic")
    resp = client.post(
        "/devices", json={"device_id": "cgm-9", "device_type": "cgm", "model": "Libre 3"}, headers=h
    )
    assert resp.status_code == 201 and resp.json()["validated"] is True
    t1, t2 = "2026-03-01T00:00:00+08:00", "2026-06-01T00:00:00Z"
    first = client.post(
        "/devices/cgm-9/bindings", json={"member_id": "m3", "valid_from": t1}, headers=h
    )
    assert first.status_code == 201, first.text
    # Re-binding to another patient closes the open interval at the new start.
    second = client.post(
        "/devices/cgm-9/bindings", json={"member_id": "m1", "valid_from": t2}, headers=h
    )
    assert second.status_code == 201
    rows = _bindings(conn, "cgm-9")
    assert [r[0] for r in rows] == ["m3", "m1"]
    assert rows[0][2] == rows[1][1] == datetime(2026, 6, 1, tzinfo=UTC)
    assert rows[1][2] is None
    # Binding again to the current member is a no-op returning the open binding.
    same = client.post(
        "/devices/cgm-9/bindings",
        json={"member_id": "m1", "valid_from": "2026-07-01T00:00:00Z"},
        headers=h,
    )
    assert same.json()["binding_id"] == second.json()["binding_id"]
    assert len(_bindings(conn, "cgm-9")) == 2


def test_binding_errors(client: TestClient, world: World) -> None:
    h = world.auth("clinic")
    body = {"member_id": "m1", "valid_from": "2026-01-01T00:00:00Z"}
    assert client.post("/devices/ghost/bindings", json=body, headers=h).status_code == 404
    assert (
        client.post(
            "/devices/cuff-m1/bindings", json={**body, "member_id": "nobody"}, headers=h
        ).status_code
        == 404
    )
    # Admins may bind any member; another clinic's member is invisible to a clinic.
    body2 = {"member_id": "m2", "valid_from": "2031-01-01T00:00:00Z"}
    assert client.post("/devices/cuff-m1/bindings", json=body2, headers=h).status_code == 404
    assert (
        client.post(
            "/devices/cuff-m1/bindings", json=body2, headers=world.auth("admin")
        ).status_code
        == 201
    )


def test_repository_upserts_are_idempotent(conn: psycopg.Connection[Any]) -> None:
    devices.upsert_clinic(conn, "cx", "Clinic X")
    devices.upsert_clinic(conn, "cx", "Clinic X renamed", "X 中心")
    devices.upsert_member(
        conn, "mx", clinic_id="cx", birth_date=date(1950, 1, 1), sex="M", conditions=["diabetes"]
    )
    devices.upsert_member(
        conn,
        "mx",
        clinic_id="cx",
        birth_date=date(1950, 1, 1),
        sex="M",
        conditions=["diabetes", "ckd"],
        display_name="X",
    )
    devices.register_device(conn, "dx", "glucometer")
    devices.register_device(conn, "dx", "glucometer", model="Accu-Chek", validated=False)
    assert conn.execute("SELECT name, name_zh FROM clinics WHERE clinic_id = 'cx'").fetchone() == (
        "Clinic X renamed",
        "X 中心",
    )
    assert conn.execute("SELECT conditions, display_name FROM members").fetchone() == (
        ["diabetes", "ckd"],
        "X",
    )
    assert conn.execute("SELECT model, validated FROM devices").fetchone() == ("Accu-Chek", False)
    b1 = devices.bind_device(conn, "dx", "mx", datetime(2026, 1, 1, tzinfo=UTC))
    b2 = devices.bind_device(conn, "dx", "mx", datetime(2026, 2, 1, tzinfo=UTC))
    assert b2 > b1
    assert devices.open_binding(conn, "dx")["binding_id"] == b2  # type: ignore[index]
