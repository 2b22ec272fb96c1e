"""What the member endpoints send: the member's own score and premium standing.

The services return plain dicts; routes set ``response_model_exclude_unset=True``, so a
key the service did not send is not added.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.pricing.schemas import BenefitsOut, VersionQuoteOut

Purpose = Literal["clinic_care", "insurer_pricing", "research"]


class ConsentIn(BaseModel):
    """A consent the member gives now, to the notice version they were shown."""

    purpose: Purpose
    product_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9-]+$",
        description="The product, for insurer_pricing only (consent is per product).",
    )
    notice_version: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")


class ConsentOut(BaseModel):
    consent_id: int
    member_id: str
    purpose: Purpose
    product_id: str | None
    notice_version: str
    given_at: datetime
    withdrawn_at: datetime | None


class MyScoreOut(BaseModel):
    """The latest score with each component's plain-language reason; before any score,
    only ``member_id``, ``score`` (null) and ``components`` (empty)."""

    member_id: str
    window_start: date | None = None
    window_end: date | None = None
    algorithm_version: str | None = None
    score: float | None
    improvement: float | None = None
    components: dict[str, Any]


class StandingComponentOut(BaseModel):
    code: str
    pct: Decimal = Field(description="percent of the base premium; negative is a discount")
    yuan: Decimal
    reason_en: str
    reason_zh: str
    data_dependent: bool


class SmoothingOut(BaseModel):
    applied: bool
    last_premium_fen: int | None
    bound_pct: float | None = None
    spread_years: int | None = None
    reason_en: str | None = None
    reason_zh: str | None = None


class LowerItOut(BaseModel):
    """A component with discount left to earn, how much, and how (en/zh)."""

    code: str
    up_to_pct: str
    up_to_yuan: str
    how_en: str
    how_zh: str


class StandingOut(BaseModel):
    """Where the member stands for next year's premium, why, and what would lower it."""

    member_id: str
    product_id: str
    plan_year: int
    base_premium: Decimal
    premium: Decimal
    version_id: str | None = None
    benefits: BenefitsOut | None = None
    versions: list[VersionQuoteOut] = Field(
        default_factory=list, description="every version you may choose, premium and benefits"
    )
    components: list[StandingComponentOut]
    smoothing: SmoothingOut
    what_would_lower_it: list[LowerItOut]
    what_if: dict[str, Any] | None = Field(
        default=None, description="the simulated indicators (a simulation is never stored)"
    )


class SimulationIn(BaseModel):
    """What the member's own premium simulator moves: each is optional, and the rest stays
    as the member's latest data says."""

    model_config = {"extra": "forbid"}

    bp_controlled: bool | None = Field(default=None, description="home BP at target")
    tir_pct: float | None = Field(default=None, ge=0, le=100, description="CGM time in range")
    steps: int | None = Field(default=None, ge=0, le=50_000, description="median steps a day")
    adherence_pct: float | None = Field(
        default=None, ge=0, le=100, description="medicines: share of days covered"
    )
    product_id: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9-]+$")
    plan_year: int | None = Field(default=None, ge=2000, le=2100)

    def what_if(self) -> dict[str, Any]:
        """The pricing engine's what-if overrides (``api.pricing.what_if``)."""
        out: dict[str, Any] = {}
        if self.bp_controlled is not None:
            out["bp.controlled"] = self.bp_controlled
        if self.tir_pct is not None:
            out["cgm.tir"] = self.tir_pct
        if self.steps is not None:
            out["activity.median_steps"] = self.steps
        if self.adherence_pct is not None:
            out["adherence.pdc_pct"] = self.adherence_pct
        return out
