"""``/devices``: register a device, bind it to a member, transfer it to another clinic.

Admins, or a clinic for its own devices and patients (``api.devices.service``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AwareDatetime, BaseModel, Field

from api.auth.service import Principal
from api.deps import TxDep, require
from api.devices import service

router = APIRouter(prefix="/devices", tags=["devices"])
Manager = Annotated[Principal, Depends(require("admin", "clinic"))]
Clinic = Annotated[Principal, Depends(require("clinic"))]
DeviceId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


class DeviceIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    device_type: Literal["bp_cuff", "bp_cuffless", "cgm", "glucometer", "activity_tracker"]
    model: str | None = Field(default=None, max_length=200)
    validated: bool = True
    clinic_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="The owning clinic: a clinic's own (the default for a clinic caller);"
        " an admin may name any clinic or none.",
    )


class DeviceOut(BaseModel):
    device_id: str
    device_type: str
    model: str | None
    validated: bool
    registered_at: datetime
    clinic_id: str | None


class TransferIn(BaseModel):
    to_clinic_id: str = Field(min_length=1, max_length=128)


class TransferOut(BaseModel):
    transfer_id: int
    device_id: str
    from_clinic: str | None
    to_clinic: str
    offered_at: datetime
    accepted_at: datetime | None


class BindingIn(BaseModel):
    member_id: str = Field(min_length=1, max_length=128)
    valid_from: AwareDatetime


class BindingOut(BaseModel):
    binding_id: int
    device_id: str
    member_id: str
    valid_from: datetime


@router.post(
    "",
    response_model=DeviceOut,
    status_code=201,
    responses={200: {"description": "your own device, registered again with the same fields"}},
)
def register_device(body: DeviceIn, response: Response, tx: TxDep, who: Manager) -> DeviceOut:
    """Register a device (201). Registering an id that exists never changes the device: the
    same fields from its owner answer 200, anything else 409."""
    dev, created = service.register(
        tx,
        who,
        body.device_id,
        body.device_type,
        model=body.model,
        validated=body.validated,
        clinic_id=body.clinic_id,
    )
    if not created:
        response.status_code = 200
    return DeviceOut.model_validate(dev)


@router.post("/{device_id}/bindings", response_model=BindingOut, status_code=201)
def bind_device(device_id: DeviceId, body: BindingIn, tx: TxDep, who: Manager) -> BindingOut:
    return BindingOut.model_validate(
        service.bind(tx, who, device_id, body.member_id, body.valid_from)
    )


@router.post("/{device_id}/transfer", response_model=TransferOut, status_code=201)
def offer_transfer(device_id: DeviceId, body: TransferIn, tx: TxDep, who: Manager) -> TransferOut:
    """Offer the device to another clinic (its owner, or an admin); it moves on acceptance."""
    return TransferOut.model_validate(service.offer_transfer(tx, who, device_id, body.to_clinic_id))


@router.post("/{device_id}/transfer/accept", response_model=TransferOut)
def accept_transfer(device_id: DeviceId, tx: TxDep, who: Clinic) -> TransferOut:
    """Accept a device offered to your clinic: you own it from now on, bound to nobody."""
    return TransferOut.model_validate(service.accept_transfer(tx, who, device_id))
