"""The insurer endpoints' models at the HTTP edge: upload rows and responses."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from api.pricing.schemas import BenefitsOut, VersionQuoteOut


class EnrollmentUpload(BaseModel):
    """One member's enrollment in a product for a plan year."""

    member_id: str = Field(min_length=1, max_length=128)
    product_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    plan_year: int = Field(ge=2000, le=2100)
    enrolled_on: date
    product_version: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
        description="the version held that year (普惠款, 优选款, ...); none: the default",
    )


# --- responses ---------------------------------------------------------------------------
# What the insurer endpoints send. The services return plain dicts; these models document
# them in the OpenAPI document and check them on the way out. Routes set
# ``response_model_exclude_unset=True``: a key the service did not send is not added.


class QuoteComponentOut(BaseModel):
    """One priced component of a quote, with the reason for it in English and Chinese."""

    code: str = Field(description="engagement, control, improvement, ladder, risk_loading, ...")
    pct: Decimal = Field(description="percent of the base premium; negative is a discount")
    yuan: Decimal = Field(description="the amount in yuan; negative is a discount")
    reason_en: str
    reason_zh: str
    data_dependent: bool = Field(description="earned with health data (held under review)")


class SmoothingOut(BaseModel):
    """The year-on-year smoothing cap: whether it applied, the bound, and why (en/zh)."""

    applied: bool
    last_premium_fen: int | None
    bound_pct: float | None = None
    spread_years: int | None = None
    reason_en: str | None = None
    reason_zh: str | None = None


class IntegrityHoldOut(BaseModel):
    """An open data-integrity flag holding the data-dependent components for review."""

    flag_id: int
    kind: str
    start: str
    end: str


class QuoteOut(BaseModel):
    """Next year's premium for one member: base, components with reasons, smoothing."""

    quote_id: str | None = Field(description="None for a what-if (never stored)")
    member_id: str
    product_id: str
    plan_year: int
    rulebook_version: str
    rulebook_sha256: str
    base_premium: float
    unsmoothed_premium: float
    premium: float
    base_premium_fen: int
    premium_fen: int = Field(description="the exact premium in fen (1/100 yuan)")
    components: list[QuoteComponentOut]
    smoothing: SmoothingOut
    created_at: datetime | None
    stored: bool
    model_version: str | None = Field(description="the risk model in force when quoted")
    integrity_holds: list[IntegrityHoldOut]
    version_id: str | None = Field(
        default=None, description="the version priced above: held last year, else the default"
    )
    benefits: BenefitsOut | None = Field(default=None, description="that version's benefits")
    versions: list[VersionQuoteOut] = Field(
        default_factory=list, description="every version the member may choose"
    )


class MemberScoreOut(BaseModel):
    """A member's latest score: composite, components and indicator summaries, no readings."""

    member_id: str
    window_start: date
    window_end: date
    algorithm_version: str
    computed_at: datetime
    composite: float | None
    improvement: float | None
    components: dict[str, Any]
    indicators: dict[str, Any]


class BatchStatusOut(BaseModel):
    job_id: str
    product_id: str
    plan_year: int
    status: str = Field(description="queued, running, done or failed")
    total: int
    done: int
    failed: int
    progress: float = Field(description="share of members processed, 0..1")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BudgetCohortOut(BaseModel):
    age_band: str
    conditions: str
    members: int
    discounts_yuan: float
    expected_savings_yuan: float
    savings_to_discounts: float | None
    passes: bool


class BudgetTotalOut(BaseModel):
    members: int
    discounts_yuan: float | int = Field(description="0 (an integer) when nothing was quoted")
    expected_savings_yuan: float | int
    passes: bool


class BudgetCheckOut(BaseModel):
    """By cohort: do the risk model's expected claim savings cover the discounts granted?"""

    product_id: str
    plan_year: int
    model_version: str
    margin_pct: float
    cohorts: list[BudgetCohortOut]
    total: BudgetTotalOut


class DisclosureQuarterOut(BaseModel):
    quarter: int
    scored: int
    mean_composite: float | None
    bp_controlled_share: float | None
    mean_tir: float | None
    claims_paid_yuan: float
    loss_ratio: float | None


class DisclosureCellOut(BaseModel):
    """One cell; a suppressed (small) cell carries only its label."""

    cell: str
    members: int | None
    suppressed: bool
    premium_yuan: float | None = None
    discount_yuan: float | None = None
    quarters: list[DisclosureQuarterOut] | None = None


class DisclosureOut(BaseModel):
    product_id: str
    plan_year: int
    members: int
    min_cell_size: int
    total: DisclosureCellOut
    by_age_band: list[DisclosureCellOut]
    by_condition: list[DisclosureCellOut]


class PortfolioCellOut(BaseModel):
    """One cell (yuan amounts as strings); a suppressed (small) cell carries only its label."""

    cell: str
    members: int | None
    suppressed: bool
    base_premium_total: str | None = None
    discount_total: str | None = None
    premium_total: str | None = None
    mean_discount: str | None = None


class SmoothingFundOut(BaseModel):
    balance: str
    credits_this_year: str
    debits_this_year: str
    spread_years: int
    annual_recovery: str
    starting_capital: str = Field(description="the rulebook's starting capital (yuan)")
    solvency_floor: str = Field(description="the lowest balance the fund may reach (yuan)")
    must_reprice: bool = Field(description="the balance is below the solvency floor")


class PortfolioOut(BaseModel):
    product_id: str
    plan_year: int
    rulebook_version: str
    members_quoted: int
    base_premium_total: str
    discount_total: str
    premium_total: str
    smoothing_fund: SmoothingFundOut
    min_cell_size: int
    by_age_band: list[PortfolioCellOut]
    by_condition: list[PortfolioCellOut]
