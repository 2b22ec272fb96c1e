"""Record who touched whose personal data, in the request's own transaction.

``record`` writes alongside the access, so the row commits exactly when the access does.
``refuse`` is for a denied access: the request will roll back, so the row is queued on
``Tx.on_failure`` and written right after the rollback (see ``api.deps.get_tx``), and the
error is raised. Never pass tokens or free-form request bodies in ``detail``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from api.audit import repository as repo
from api.auth.service import Principal
from core.errors import DomainError

if TYPE_CHECKING:
    from api.deps import Conn, Tx


def record(
    conn: Conn,
    principal: Principal,
    action: str,
    member_id: str | None,
    *,
    outcome: str = "allowed",
    detail: dict[str, Any] | None = None,
) -> None:
    repo.insert(
        conn,
        principal_id=principal.principal_id,
        role=principal.role,
        tenant_id=principal.tenant_id,
        action=action,
        member_id=member_id,
        outcome=outcome,
        detail=detail or {},
    )


def record_many(
    conn: Conn,
    principal: Principal,
    action: str,
    member_ids: list[str],
    *,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit a list view: one row per member whose data it returned."""
    if member_ids:
        repo.insert_many(
            conn,
            principal_id=principal.principal_id,
            role=principal.role,
            tenant_id=principal.tenant_id,
            action=action,
            member_ids=member_ids,
            detail=detail or {},
        )


def refuse(
    tx: Tx,
    principal: Principal,
    action: str,
    member_id: str | None,
    error: DomainError,
    *,
    outcome: str = "denied",
) -> NoReturn:
    """Log the refused access (after the rollback) and raise ``error``."""

    def write(conn: Conn) -> None:
        record(conn, principal, action, member_id, outcome=outcome, detail={"status": error.status})

    tx.on_failure.append(write)
    raise error
