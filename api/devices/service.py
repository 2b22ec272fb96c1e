"""Register devices and bind them to members, with the clinic-tenancy rule."""

from __future__ import annotations

from datetime import datetime

import psycopg

from api.auth.service import Principal
from api.deps import Tx
from api.devices import repository as repo
from api.tenancy import access_member
from core.errors import Conflict, NotFound


def register(
    tx: Tx, device_id: str, device_type: str, *, model: str | None, validated: bool
) -> dict[str, object]:
    repo.register_device(tx.conn, device_id, device_type, model=model, validated=validated)
    dev = repo.get_device(tx.conn, device_id)
    assert dev is not None
    return dev


def bind(
    tx: Tx, principal: Principal, device_id: str, member_id: str, valid_from: datetime
) -> dict[str, object]:
    """Bind a device to a member: admins any member, clinics only their own patients."""
    access_member(tx, principal, member_id, "device.bind", {"device_id": device_id})
    if repo.get_device(tx.conn, device_id) is None:
        raise NotFound(f"device {device_id!r} is not registered")
    current = repo.open_binding(tx.conn, device_id)
    if current and current["member_id"] == member_id:
        return {
            "binding_id": current["binding_id"],
            "device_id": device_id,
            "member_id": member_id,
            "valid_from": current["valid_from"],
        }
    try:
        binding_id = repo.bind_device(tx.conn, device_id, member_id, valid_from)
    except (psycopg.errors.CheckViolation, psycopg.errors.ExclusionViolation) as exc:
        raise Conflict(
            "valid_from must be after the device's current binding began and must not"
            " overlap a later binding",
            errors=[{"field": "valid_from", "message": "overlaps an existing binding"}],
        ) from exc
    return {
        "binding_id": binding_id,
        "device_id": device_id,
        "member_id": member_id,
        "valid_from": valid_from,
    }
