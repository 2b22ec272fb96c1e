"""``/member/me``: the calling member's own score and premium standing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth.service import Principal
from api.deps import SettingsDep, TxDep, require
from api.member import service
from api.member.schemas import ConsentIn, ConsentOut, MyScoreOut, SimulationIn, StandingOut

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


@router.post("/me/simulate", response_model=StandingOut, response_model_exclude_unset=True)
def simulate(body: SimulationIn, tx: TxDep, who: Member, settings: SettingsDep) -> dict[str, Any]:
    """Your premium simulator: move home BP control, time in range, steps or medicine
    adherence and see next year's premium and deductible on every version, computed by the
    same engine as real quotes. Nothing is stored."""
    return service.simulate(
        tx,
        who,
        body.product_id or settings.api_default_product,
        body.plan_year or settings.api_default_plan_year,
        body.what_if(),
    )


@router.get("/me/consents", response_model=list[ConsentOut])
def my_consents(tx: TxDep, who: Member) -> list[dict[str, Any]]:
    """Every consent you gave, in force or withdrawn (PIPL: you can see and change them)."""
    return service.my_consents(tx, who)


@router.post(
    "/me/consents",
    response_model=ConsentOut,
    status_code=201,
    responses={200: {"description": "the same consent is already in force"}},
)
def give_consent(body: ConsentIn, response: Response, tx: TxDep, who: Member) -> dict[str, Any]:
    """Give a consent now: clinic care, insurer pricing for one product, or research."""
    row, created = service.give_consent(tx, who, body.purpose, body.product_id, body.notice_version)
    if not created:
        response.status_code = 200
    return row


@router.post("/me/consents/{consent_id}/withdraw", response_model=ConsentOut)
def withdraw_consent(
    consent_id: Annotated[int, Path(ge=1)], tx: TxDep, who: Member
) -> dict[str, Any]:
    """Withdraw a consent now. Data taken from now on is not served or used for its
    purpose; what was taken while it was in force stays usable (not retroactive)."""
    return service.withdraw_consent(tx, who, consent_id)
