"""``/admin``: principals (tokens are shown once), clinics and member records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api.admin import service
from api.auth.service import Principal
from api.deps import SettingsDep, TxDep, require

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Principal, Depends(require("admin"))]
Condition = Literal["hypertension", "diabetes", "ckd", "hyperlipidaemia"]


class PrincipalIn(BaseModel):
    role: Literal["insurer", "clinic", "member", "admin"]
    tenant_id: str | None = Field(default=None, min_length=1, max_length=128)
    name: str = Field(min_length=3, max_length=128, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str | None = Field(default=None, min_length=12, max_length=256)


class PrincipalOut(BaseModel):
    name: str
    role: str
    tenant_id: str | None
    token: str = Field(description="Shown once; only its hash is stored.")
    expires_at: datetime


class TokenOut(BaseModel):
    name: str
    token: str = Field(description="Shown once; only its hash is stored.")
    expires_at: datetime


class ClinicIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    name_zh: str | None = Field(default=None, max_length=200)


class MemberIn(BaseModel):
    clinic_id: str | None = Field(default=None, max_length=128)
    birth_date: date
    sex: Literal["F", "M"]
    conditions: list[Condition] = Field(default_factory=list, max_length=4)
    display_name: str | None = Field(default=None, max_length=200)


Id = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Name = Annotated[str, Path(min_length=3, max_length=128, pattern=r"^[A-Za-z0-9._@-]+$")]


@router.post("/principals", response_model=PrincipalOut, status_code=201)
def create_principal(
    body: PrincipalIn, tx: TxDep, admin: Admin, settings: SettingsDep
) -> PrincipalOut:
    issued = service.create_principal(
        tx,
        admin,
        role=body.role,
        tenant_id=body.tenant_id,
        name=body.name,
        password=body.password,
        token_ttl_s=settings.api_token_ttl_s,
    )
    return PrincipalOut(
        name=body.name,
        role=body.role,
        tenant_id=body.tenant_id,
        token=issued.token,
        expires_at=issued.expires_at,
    )


@router.post("/principals/{name}/token", response_model=TokenOut, status_code=201)
def rotate_token(name: Name, tx: TxDep, admin: Admin, settings: SettingsDep) -> TokenOut:
    """Rotate a principal's API token: every token it holds is revoked, a new one issued."""
    issued = service.rotate_token(tx, admin, name, settings.api_token_ttl_s)
    return TokenOut(name=name, token=issued.token, expires_at=issued.expires_at)


@router.delete("/principals/{name}/credentials", status_code=204)
def revoke_credentials(name: Name, tx: TxDep, admin: Admin) -> None:
    """Revoke every API token and end every session of a principal (a lost laptop, a
    leaver); it signs in again, or an admin rotates its token."""
    service.revoke_credentials(tx, admin, name)


@router.put("/insurers/{insurer_id}/products/{product_id}", status_code=204)
def put_insurer_product(insurer_id: Id, product_id: Id, tx: TxDep, admin: Admin) -> None:
    """Assign a product to the insurer that runs it (409 if another insurer does)."""
    service.assign_product(tx, admin, insurer_id, product_id)


@router.put("/clinics/{clinic_id}", status_code=204)
def put_clinic(clinic_id: Id, body: ClinicIn, tx: TxDep, admin: Admin) -> None:
    service.upsert_clinic(tx, admin, clinic_id, body.name, body.name_zh)


@router.put("/members/{member_id}", status_code=204)
def put_member(member_id: Id, body: MemberIn, tx: TxDep, admin: Admin) -> None:
    service.upsert_member(
        tx,
        admin,
        member_id,
        clinic_id=body.clinic_id,
        birth_date=body.birth_date,
        sex=body.sex,
        conditions=list(body.conditions),
        display_name=body.display_name,
    )
