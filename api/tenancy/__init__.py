"""The one gate to a member's personal data: role, tenant, and the audit row.

Every endpoint that returns or changes one member's data calls :func:`access_member`
first. A clinic sees only members whose ``clinic_id`` is its tenant, a member only
themself, an insurer only members enrolled in one of its products, an admin any member (an
insurer's endpoints never return raw readings; that is enforced by which endpoints it may
call, see ``api.app``). :func:`require_product` is the insurer's gate to a product. A refused
access answers 404, not 403, so a caller cannot probe which member ids exist elsewhere,
and it is still audited. The 404 reads exactly like the one for an id that does not
exist: one wording per resource (``not_found``: a quote, an alert, a batch job reached
through a member or a product answers as that resource, never naming the member or the
product behind it).
"""

from __future__ import annotations

from typing import Any

from api.audit import repository as audit_repo
from api.audit import service as audit
from api.auth.service import Principal
from api.deps import Tx
from api.tenancy import repository as repo
from core.db import Pending
from core.errors import NotFound

NO_MEMBER = "no such member"
NO_PRODUCT = "no such product"


def access_member(
    tx: Tx,
    principal: Principal,
    member_id: str,
    action: str,
    detail: dict[str, Any] | None = None,
    *,
    not_found: NotFound | None = None,
) -> None:
    """Allow and audit, or audit and raise 404 (the check and the log are one statement)."""
    outcome, _ = _send_member(tx, principal, member_id, action, detail).result()
    _check_member(tx, principal, member_id, action, outcome, not_found)


def require_product_and_member(
    tx: Tx,
    principal: Principal,
    product_id: str,
    member_id: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """:func:`require_product` then :func:`access_member`, in one statement for an insurer.

    The member check (and its audit row) runs whatever the product's answer; if the product
    is refused, the request rolls back and only the product refusal is audited, exactly as
    when the two ran one after the other.
    """
    product = product_id if principal.role == "insurer" else None
    outcome, owner = _send_member(tx, principal, member_id, action, detail, product).result()
    if product is not None:
        _check_owner(tx, principal, product_id, action, owner)
    _check_member(tx, principal, member_id, action, outcome)


def require_product(
    tx: Tx, principal: Principal, product_id: str, action: str, *, not_found: NotFound | None = None
) -> None:
    """An insurer acts only on its own products; others' (and unknown ones) answer 404.

    404, not 403, for the same reason as members: a caller cannot probe another insurer's
    products. Admins pass (they operate the platform); the refusal is audited.
    """
    if principal.role == "insurer":
        owner = repo.product_owner(tx.conn, product_id)
        _check_owner(tx, principal, product_id, action, owner, not_found)


def _send_member(
    tx: Tx,
    principal: Principal,
    member_id: str,
    action: str,
    detail: dict[str, Any] | None,
    product_id: str | None = None,
) -> Pending[tuple[str, str | None]]:
    return audit_repo.send_member_access(
        tx.conn,
        principal_id=principal.principal_id,
        role=principal.role,
        tenant_id=principal.tenant_id,
        action=action,
        member_id=member_id,
        detail=detail or {},
        product_id=product_id,
    )


def _check_member(
    tx: Tx,
    principal: Principal,
    member_id: str,
    action: str,
    allowed: str,
    not_found: NotFound | None = None,
) -> None:
    if allowed != "allowed":
        # The row just written rolls back with the request; refuse() writes it again after.
        error = not_found or NotFound(NO_MEMBER)
        audit.refuse(tx, principal, action, member_id, error, outcome=allowed)


def _check_owner(
    tx: Tx,
    principal: Principal,
    product_id: str,
    action: str,
    owner: str | None,
    not_found: NotFound | None = None,
) -> None:
    if owner != principal.tenant_id:
        error = not_found or NotFound(NO_PRODUCT)
        detail_outcome = "not_found" if owner is None else "denied"
        audit.refuse(tx, principal, action, None, error, outcome=detail_outcome)
