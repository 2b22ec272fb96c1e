"""``/devices``: register a device; bind it to a member (admin, or a clinic for its patients)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import AwareDatetime, BaseModel, Field

from api.auth.service import Principal
from api.deps import TxDep, require
from api.devices import service

router = APIRouter(prefix="/devices", tags=["devices"])
Manager = Annotated[Principal, Depends(require("admin", "clinic"))]
DeviceId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


class DeviceIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    device_type: Literal["bp_cuff", "bp_cuffless", "cgm", "glucometer", "activity_tracker"]
    model: str | None = Field(default=None, max_length=200)
    validated: bool = True


class DeviceOut(BaseModel):
    device_id: str
    device_type: str
    model: str | None
    validated: bool
    registered_at: datetime


class BindingIn(BaseModel):
    member_id: str = Field(min_length=1, max_length=128)
    valid_from: AwareDatetime


class BindingOut(BaseModel):
    binding_id: int
    device_id: str
    member_id: str
    valid_from: datetime


@router.post("", response_model=DeviceOut, status_code=201)
def register_device(body: DeviceIn, tx: TxDep, _: Manager) -> DeviceOut:
    dev = service.register(
        tx, body.device_id, body.device_type, model=body.model, validated=body.validated
    )
    return DeviceOut.model_validate(dev)


@router.post("/{device_id}/bindings", response_model=BindingOut, status_code=201)
def bind_device(device_id: DeviceId, body: BindingIn, tx: TxDep, who: Manager) -> BindingOut:
    return BindingOut.model_validate(
        service.bind(tx, who, device_id, body.member_id, body.valid_from)
    )
