"""``/member/me``: the calling member's own score and premium standing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth.service import Principal
from api.deps import SettingsDep, TxDep, require
from api.member import service
from api.member.schemas import MyScoreOut, StandingOut

router = APIRouter(prefix="/member", tags=["member"])
Member = Annotated[Principal, Depends(require("member"))]


@router.get("/me/score", response_model=MyScoreOut, response_model_exclude_unset=True)
def my_score(tx: TxDep, who: Member) -> dict[str, Any]:
    return service.my_score(tx, who)


@router.get("/me/standing", response_model=StandingOut, response_model_exclude_unset=True)
def my_standing(
    tx: TxDep,
    who: Member,
    settings: SettingsDep,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    plan_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """Your standing for next year's premium, the reasons, and what would change it."""
    return service.my_standing(
        tx,
        who,
        product_id or settings.api_default_product,
        plan_year or settings.api_default_plan_year,
    )
