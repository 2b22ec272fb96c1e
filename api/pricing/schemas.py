"""The response models of a quote's versions and benefits, shared by the insurer's quote
and the member's standing (both show every version the member may choose)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class BenefitsOut(BaseModel):
    """A version's benefits for this member next year (amounts are yuan strings)."""

    deductible_fen: int
    deductible_yuan: str = Field(description="after the continuous-enrollment cut")
    deductible_before_cut_yuan: str
    continuous_years: int
    rates: dict[str, str] = Field(description="reimbursement rates in percent, by category")
    cap_yuan: str
    reason_en: str
    reason_zh: str


class VersionQuoteOut(BaseModel):
    """One version the member may choose: its premium next year and its benefits."""

    version_id: str
    name_en: str
    name_zh: str
    held: bool = Field(description="the version the member held in the experience year")
    base_premium_fen: int
    base_premium: str
    premium_fen: int
    premium: str
    unsmoothed_fen: int
    smoothing_applied: bool
    benefits: BenefitsOut | None = Field(description="None for a product without benefits")
