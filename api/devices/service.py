"""Register devices, bind them to members and move them between clinics, with ownership.

A device belongs to one clinic (``devices.clinic_id``, or for a device registered without
one the clinic of its current patient; docs/threat-model.md, finding 1). Only that clinic
(or an admin) binds it, and only to its own patients; registering an id again never
changes the device; a move to another clinic is a transfer the owner offers and the
receiving clinic accepts. Another clinic's device answers exactly like a device that does
not exist, and every step is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from api.audit import service as audit
from api.auth.service import Principal
from api.deps import Tx
from api.devices import repository as repo
from api.tenancy import access_member
from core.errors import Conflict, InvalidInput, NotFound

NO_DEVICE = "no such device"
NO_TRANSFER = "no transfer of this device is offered to you"


def _public(dev: dict[str, Any]) -> dict[str, Any]:
    keys = ("device_id", "device_type", "model", "validated", "registered_at", "clinic_id")
    return {k: dev[k] for k in keys}


def _manages(who: Principal, dev: dict[str, Any] | None) -> bool:
    """Admins manage every device; a clinic only its own, and only while its current patient
    (if any) is that clinic's patient too."""
    if dev is None:
        return False
    if who.role == "admin":
        return True
    return dev["owner"] == who.tenant_id and dev["bound_clinic"] in (None, who.tenant_id)


def register(
    tx: Tx,
    who: Principal,
    device_id: str,
    device_type: str,
    *,
    model: str | None,
    validated: bool,
    clinic_id: str | None,
) -> tuple[dict[str, Any], bool]:
    """Register a device; (the device, True) when created, (it, False) when the caller's
    own device was registered again with the same fields. Anything else is refused."""
    if who.role == "clinic":
        if clinic_id not in (None, who.tenant_id):
            raise InvalidInput(
                "a clinic registers devices for itself",
                errors=[{"field": "clinic_id", "message": "omit it, or give your own clinic"}],
            )
        clinic_id = who.tenant_id
    elif clinic_id is not None and not repo.clinic_exists(tx.conn, clinic_id):
        raise InvalidInput(
            "no such clinic", errors=[{"field": "clinic_id", "message": "no such clinic"}]
        )
    created = repo.register_device(
        tx.conn, device_id, device_type, model=model, validated=validated, clinic_id=clinic_id
    )
    dev = repo.get_device(tx.conn, device_id)
    assert dev is not None
    detail = {"device_id": device_id, "device_type": device_type, "validated": validated}
    if created:
        audit.record(tx.conn, who, "device.register", None, detail=detail)
        return _public(dev), True
    same = (
        dev["device_type"] == device_type
        and dev["validated"] == validated
        and model in (None, dev["model"])
        and (clinic_id is None or dev["owner"] == clinic_id)
    )
    if not (same and _manages(who, dev)):
        # One answer whoever owns it: the attacker learns only that the id is taken.
        audit.refuse(
            tx,
            who,
            "device.register",
            None,
            Conflict(
                "device id already registered; registering again never changes a device",
                errors=[{"field": "device_id", "message": "already registered"}],
            ),
        )
    audit.record(tx.conn, who, "device.register", None, detail={**detail, "again": True})
    return _public(dev), False


def _managed_device(tx: Tx, who: Principal, device_id: str, action: str) -> dict[str, Any]:
    dev = repo.get_device(tx.conn, device_id)
    if not _manages(who, dev):
        outcome = "not_found" if dev is None else "denied"
        audit.refuse(tx, who, action, None, NotFound(NO_DEVICE), outcome=outcome)
    assert dev is not None
    return dev


def bind(
    tx: Tx, principal: Principal, device_id: str, member_id: str, valid_from: datetime
) -> dict[str, object]:
    """Bind a device to a member: admins any member, clinics only their own patients, and
    only their own devices."""
    dev = _managed_device(tx, principal, device_id, "device.bind")
    access_member(tx, principal, member_id, "device.bind", {"device_id": device_id})
    _, member_clinic = repo.member_clinic(tx.conn, member_id)
    if dev["owner"] is not None and member_clinic != dev["owner"]:
        # Only an admin gets here: a device moves between clinics by a transfer, never by
        # binding it to another clinic's patient.
        raise Conflict(
            "the device belongs to another clinic than the member's; transfer it first",
            errors=[{"field": "member_id", "message": "another clinic's patient"}],
        )
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
    if dev["clinic_id"] is None and member_clinic is not None:
        repo.set_owner(tx.conn, device_id, member_clinic)  # an admin's device finds its clinic
    return {
        "binding_id": binding_id,
        "device_id": device_id,
        "member_id": member_id,
        "valid_from": valid_from,
    }


def offer_transfer(tx: Tx, who: Principal, device_id: str, to_clinic: str) -> dict[str, Any]:
    """The owning clinic (or an admin) offers the device to another clinic."""
    dev = _managed_device(tx, who, device_id, "device.transfer.offer")
    if not repo.clinic_exists(tx.conn, to_clinic) or to_clinic == dev["owner"]:
        raise InvalidInput(
            "the device can move only to another existing clinic",
            errors=[{"field": "to_clinic_id", "message": "no such other clinic"}],
        )
    offer = repo.offer_transfer(tx.conn, device_id, dev["owner"], to_clinic, who.principal_id)
    audit.record(
        tx.conn,
        who,
        "device.transfer.offer",
        None,
        detail={"device_id": device_id, "from_clinic": dev["owner"], "to_clinic": to_clinic},
    )
    return offer


def accept_transfer(tx: Tx, who: Principal, device_id: str) -> dict[str, Any]:
    """The receiving clinic accepts: it owns the device from now on, unbound."""
    offer = repo.pending_transfer(tx.conn, device_id)
    if offer is None or offer["to_clinic"] != who.tenant_id:
        audit.refuse(
            tx, who, "device.transfer.accept", None, NotFound(NO_TRANSFER),
            outcome="not_found" if offer is None else "denied",
        )  # fmt: skip
    assert offer is not None
    done = repo.accept_transfer(tx.conn, int(offer["transfer_id"]), who.principal_id)
    audit.record(
        tx.conn,
        who,
        "device.transfer.accept",
        None,
        detail={
            "device_id": device_id,
            "from_clinic": done["from_clinic"],
            "to_clinic": who.tenant_id,
        },
    )
    return done
