"""A member sees only themself: their principal's tenant is their member id."""

from __future__ import annotations

from typing import Any

from api.audit import service as audit
from api.auth.service import Principal
from api.consent import service as consent
from api.deps import Tx
from api.pricing import service as pricing
from api.tenancy import access_member
from scoring import repository as scores


def _self(who: Principal) -> str:
    assert who.tenant_id is not None
    return who.tenant_id


def my_score(tx: Tx, who: Principal) -> dict[str, Any]:
    """The latest score with each component's plain-language reason (en/zh)."""
    member_id = _self(who)
    access_member(tx, who, member_id, "member.score.read")
    row = scores.latest_score(tx.conn, member_id)
    if row is None:
        return {"member_id": member_id, "score": None, "components": {}}
    return {
        "member_id": member_id,
        "window_start": row["window_start"],
        "window_end": row["window_end"],
        "algorithm_version": row["algorithm_version"],
        "score": row["composite"],
        "improvement": row["improvement"],
        "components": row["components"],
    }


def my_standing(tx: Tx, who: Principal, product_id: str, plan_year: int) -> dict[str, Any]:
    """Premium standing from the pricing engine: reasons and what would change it."""
    member_id = _self(who)
    access_member(
        tx,
        who,
        member_id,
        "member.standing.read",
        {"product_id": product_id, "plan_year": plan_year},
    )
    return pricing.member_standing(tx.conn, member_id, product_id, plan_year)


def simulate(
    tx: Tx, who: Principal, product_id: str, plan_year: int, what_if: dict[str, Any]
) -> dict[str, Any]:
    """The member's premium simulator: the standing for simulated indicators, priced by the
    same engine as real quotes and never stored; the access is logged like a standing."""
    member_id = _self(who)
    access_member(
        tx, who, member_id, "member.standing.simulate",
        {"product_id": product_id, "plan_year": plan_year, "what_if": what_if},
    )  # fmt: skip
    return pricing.member_standing(tx.conn, member_id, product_id, plan_year, what_if or None)


def my_consents(tx: Tx, who: Principal) -> list[dict[str, Any]]:
    member_id = _self(who)
    access_member(tx, who, member_id, "member.consent.read")
    return consent.history(tx.conn, member_id)


def give_consent(
    tx: Tx, who: Principal, purpose: str, product_id: str | None, notice_version: str
) -> tuple[dict[str, Any], bool]:
    member_id = _self(who)
    access_member(tx, who, member_id, "member.consent.read")
    row, created = consent.give(
        tx.conn, member_id, purpose, product_id, notice_version, recorded_by=who.principal_id
    )
    if created:
        audit.record(
            tx.conn,
            who,
            "consent.give",
            member_id,
            detail={"consent_id": row["consent_id"], "purpose": purpose,
                    "product_id": product_id, "notice_version": notice_version},
        )  # fmt: skip
    return row, created


def withdraw_consent(tx: Tx, who: Principal, consent_id: int) -> dict[str, Any]:
    member_id = _self(who)
    access_member(tx, who, member_id, "member.consent.read")
    row = consent.withdraw(tx.conn, member_id, consent_id)
    audit.record(
        tx.conn,
        who,
        "consent.withdraw",
        member_id,
        detail={"consent_id": consent_id, "purpose": row["purpose"],
                "product_id": row["product_id"]},
    )  # fmt: skip
    return row
