"""A member sees only themself: their principal's tenant is their member id."""

from __future__ import annotations

from typing import Any

from api.auth.service import Principal
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
