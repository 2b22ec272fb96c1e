"""Registering and binding devices; the repository functions other parts call."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.devices import repository as devices
from tests.api.conftest import World, audit_rows


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
    # Another clinic's member is invisible to a clinic; admins bind within the device's clinic.
    body2 = {"member_id": "m2", "valid_from": "2031-01-01T00:00:00Z"}
    assert client.post("/devices/cuff-m1/bindings", json=body2, headers=h).status_code == 404
    body3 = {"member_id": "m3", "valid_from": "2031-01-01T00:00:00Z"}
    assert (
        client.post(
            "/devices/cuff-m1/bindings", json=body3, headers=world.auth("admin")
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
    assert devices.register_device(conn, "dx", "glucometer", model="Accu-Chek", validated=False)
    # Registering again never changes the device (docs/threat-model.md, finding 1).
    assert not devices.register_device(conn, "dx", "bp_cuff", model="Other", validated=True)
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


# --- finding 1: a clinic cannot take over another clinic's device ---------------------


def _device(conn: psycopg.Connection[Any], device_id: str) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT device_type, model, validated, clinic_id FROM devices WHERE device_id = %s",
        (device_id,),
    ).fetchone()


def test_another_clinic_cannot_reregister_or_rebind_a_device(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """The attack: clinic c2 registers c1's patient's cuff as unvalidated (the upsert used to
    rewrite it), then binds it to its own patient so m1's readings land in c2's record."""
    before = _device(conn, "cuff-m1")
    assert before is not None and before[3] == "c1"  # owned by the clinic of its patient
    attacker = world.auth("clinic_b")
    takeover = client.post(
        "/devices", json={"device_id": "cuff-m1", "device_type": "bp_cuff", "validated": False},
        headers=attacker,
    )  # fmt: skip
    assert takeover.status_code == 409, takeover.text
    assert _device(conn, "cuff-m1") == before
    bind = client.post(
        "/devices/cuff-m1/bindings",
        json={"member_id": "m2", "valid_from": "2031-01-01T00:00:00Z"},
        headers=attacker,
    )
    ghost = client.post(
        "/devices/no-such-cuff/bindings",
        json={"member_id": "m2", "valid_from": "2031-01-01T00:00:00Z"},
        headers=attacker,
    )
    assert bind.status_code == ghost.status_code == 404
    assert bind.json() == ghost.json()  # "not yours" reads exactly as "does not exist"
    assert [r[0] for r in _bindings(conn, "cuff-m1")] == ["m1"]
    rows = audit_rows(conn, action="device.bind", tenant_id="c2")
    assert [r["outcome"] for r in rows] == ["denied", "not_found"]
    assert [r["outcome"] for r in audit_rows(conn, action="device.register")] == ["denied"]


def test_the_owner_registering_again_changes_nothing(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    h = world.auth("clinic")
    body = {"device_id": "cuff-9", "device_type": "bp_cuff", "model": "HEM-7600"}
    assert client.post("/devices", json=body, headers=h).status_code == 201
    again = client.post("/devices", json=body, headers=h)
    assert again.status_code == 200 and again.json()["clinic_id"] == "c1"
    changed = client.post("/devices", json={**body, "validated": False}, headers=h)
    assert changed.status_code == 409
    assert _device(conn, "cuff-9") == ("bp_cuff", "HEM-7600", True, "c1")
    # A clinic registers only for itself.
    other = client.post("/devices", json={**body, "device_id": "x", "clinic_id": "c2"}, headers=h)
    assert other.status_code == 422


def test_a_transfer_needs_the_offer_and_the_acceptance(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    a, b = world.auth("clinic"), world.auth("clinic_b")
    # The receiving clinic cannot take it unasked, nor can it offer itself the device.
    assert client.post("/devices/cuff-m1/transfer/accept", headers=b).status_code == 404
    grab = client.post("/devices/cuff-m1/transfer", json={"to_clinic_id": "c2"}, headers=b)
    assert grab.status_code == 404
    offer = client.post("/devices/cuff-m1/transfer", json={"to_clinic_id": "c2"}, headers=a)
    assert offer.status_code == 201, offer.text
    assert offer.json()["from_clinic"] == "c1" and offer.json()["accepted_at"] is None
    # Only the clinic it is offered to accepts; until then c1 still owns it.
    assert client.post("/devices/cuff-m1/transfer/accept", headers=a).status_code == 404
    assert _device(conn, "cuff-m1")[3] == "c1"  # type: ignore[index]
    accepted = client.post("/devices/cuff-m1/transfer/accept", headers=b)
    assert accepted.status_code == 200, accepted.text
    assert _device(conn, "cuff-m1")[3] == "c2"  # type: ignore[index]
    # The device left m1: its binding is closed, and c2 now binds it to its own patient.
    assert all(r[2] is not None for r in _bindings(conn, "cuff-m1"))
    rebind = client.post(
        "/devices/cuff-m1/bindings",
        json={"member_id": "m2", "valid_from": "2031-01-01T00:00:00Z"},
        headers=b,
    )
    assert rebind.status_code == 201, rebind.text
    # c1 no longer manages it.
    assert (
        client.post(
            "/devices/cuff-m1/bindings",
            json={"member_id": "m1", "valid_from": "2032-01-01T00:00:00Z"},
            headers=a,
        ).status_code
        == 404
    )
    actions = [(r["action"], r["tenant_id"]) for r in audit_rows(conn, outcome="allowed")
               if r["action"].startswith("device.transfer")]  # fmt: skip
    assert actions == [("device.transfer.offer", "c1"), ("device.transfer.accept", "c2")]


def test_an_admin_moves_a_device_only_by_transfer(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    admin = world.auth("admin")
    cross = client.post(
        "/devices/cuff-m1/bindings",
        json={"member_id": "m2", "valid_from": "2031-01-01T00:00:00Z"},
        headers=admin,
    )
    assert cross.status_code == 409
    # An admin's device without a clinic belongs to the clinic of its first patient.
    made = client.post(
        "/devices", json={"device_id": "band-x", "device_type": "cgm"}, headers=admin
    )
    assert made.status_code == 201 and made.json()["clinic_id"] is None
    bound = client.post(
        "/devices/band-x/bindings",
        json={"member_id": "m2", "valid_from": "2031-01-01T00:00:00Z"},
        headers=admin,
    )
    assert bound.status_code == 201
    assert _device(conn, "band-x")[3] == "c2"  # type: ignore[index]
