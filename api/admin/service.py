"""Create principals (checking their tenant exists) and maintain clinics and members."""

from __future__ import annotations

from datetime import date

from api.audit import service as audit
from api.auth import service as auth_service
from api.auth.service import Issued, Principal
from api.deps import Tx
from api.devices import repository as devices_repo
from api.insurer import repository as insurer_repo
from core.errors import Conflict, InvalidInput, NotFound


def create_principal(
    tx: Tx,
    admin: Principal,
    *,
    role: str,
    tenant_id: str | None,
    name: str,
    password: str | None,
    token_ttl_s: int,
) -> Issued:
    if role == "clinic" and tenant_id and not devices_repo.clinic_exists(tx.conn, tenant_id):
        raise InvalidInput(
            f"clinic {tenant_id!r} does not exist",
            errors=[{"field": "tenant_id", "message": "no such clinic"}],
        )
    if role == "member" and tenant_id and not devices_repo.member_clinic(tx.conn, tenant_id)[0]:
        raise InvalidInput(
            f"member {tenant_id!r} does not exist",
            errors=[{"field": "tenant_id", "message": "no such member"}],
        )
    pid, issued = auth_service.create_principal_issued(
        tx.conn,
        role=role,
        tenant_id=tenant_id,
        name=name,
        password=password,
        token_ttl_s=token_ttl_s,
    )
    audit.record(
        tx.conn,
        admin,
        "admin.principal.create",
        None,
        detail={"principal_id": pid, "role": role, "tenant_id": tenant_id, "name": name,
                "password": password is not None},
    )  # fmt: skip
    return issued


def _principal(tx: Tx, admin: Principal, name: str, action: str) -> Principal:
    found = auth_service.principal_named(tx.conn, name)
    if found is None:
        audit.refuse(tx, admin, action, None, NotFound("no such principal"), outcome="not_found")
    return found


def rotate_token(tx: Tx, admin: Principal, name: str, token_ttl_s: int) -> Issued:
    """Revoke every API token of the principal and issue it a new one."""
    who = _principal(tx, admin, name, "admin.principal.token.rotate")
    revoked, _ = auth_service.revoke_all_tokens(tx.conn, who.principal_id)
    issued = auth_service.issue_token(tx.conn, who.principal_id, token_ttl_s)
    audit.record(
        tx.conn,
        admin,
        "admin.principal.token.rotate",
        None,
        detail={"principal_id": who.principal_id, "revoked_tokens": revoked},
    )
    return issued


def revoke_credentials(tx: Tx, admin: Principal, name: str) -> None:
    who = _principal(tx, admin, name, "admin.principal.credentials.revoke")
    tokens, sessions = auth_service.revoke_all(tx.conn, who.principal_id)
    audit.record(
        tx.conn,
        admin,
        "admin.principal.credentials.revoke",
        None,
        detail={"principal_id": who.principal_id, "tokens": tokens, "sessions": sessions},
    )


def upsert_clinic(tx: Tx, admin: Principal, clinic_id: str, name: str, name_zh: str | None) -> None:
    created = devices_repo.upsert_clinic(tx.conn, clinic_id, name, name_zh)
    audit.record(
        tx.conn,
        admin,
        "admin.clinic.create" if created else "admin.clinic.rename",
        None,
        detail={"clinic_id": clinic_id, "name": name, "name_zh": name_zh},
    )


def upsert_member(
    tx: Tx,
    admin: Principal,
    member_id: str,
    *,
    clinic_id: str | None,
    birth_date: date,
    sex: str,
    conditions: list[str],
    display_name: str | None,
) -> None:
    if clinic_id is not None and not devices_repo.clinic_exists(tx.conn, clinic_id):
        raise InvalidInput(
            f"clinic {clinic_id!r} does not exist",
            errors=[{"field": "clinic_id", "message": "no such clinic"}],
        )
    devices_repo.upsert_member(
        tx.conn,
        member_id,
        clinic_id=clinic_id,
        birth_date=birth_date,
        sex=sex,
        conditions=conditions,
        display_name=display_name,
    )
    audit.record(tx.conn, admin, "admin.member.upsert", member_id)


def assign_product(tx: Tx, admin: Principal, insurer_id: str, product_id: str) -> None:
    if not insurer_repo.assign_product(tx.conn, insurer_id, product_id):
        raise Conflict(
            f"product {product_id!r} is run by another insurer",
            errors=[{"field": "product_id", "message": "already assigned"}],
        )
    audit.record(
        tx.conn,
        admin,
        "admin.insurer_product.assign",
        None,
        detail={"insurer_id": insurer_id, "product_id": product_id},
    )
