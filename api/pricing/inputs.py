"""Everything a quote is computed from, as plain frozen data that round-trips through JSON.

A stored quote keeps its :class:`QuoteInputs` verbatim (``quotes.inputs``); recomputing
from them with the same rulebook gives the same premium to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ScoreRow:
    """One ``scores`` row as used (its window and algorithm version say which definition)."""

    window_start: str  # ISO date, inclusive
    window_end: str  # ISO date, exclusive
    algorithm_version: str
    composite: float | None
    improvement: float | None
    indicators: dict[str, Any]


@dataclass(frozen=True)
class QuoteInputs:
    member_id: str
    product_id: str
    plan_year: int
    age: int  # on 1 January of the plan year
    conditions: tuple[str, ...]
    scores: tuple[ScoreRow, ...]  # experience year, ended before any consent withdrawal
    consent_withdrawn_on: str | None = None
    windows_excluded_after_consent: int = 0
    enrolled_years: tuple[int, ...] = ()
    claim_years: tuple[int, ...] = ()
    claims_count: int = 0
    last_premium_fen: int | None = None
    clinic_months: int = 0  # months of the experience year with a clinic-taken reading
    # Data-integrity flags (scoring.integrity): open ones HOLD the data-dependent components
    # for review; windows overlapping an upheld one are left out (counted here).
    integrity_holds: tuple[dict[str, Any], ...] = ()
    windows_excluded_by_review: int = 0
    what_if: dict[str, Any] | None = field(default=None)
    # The version the member held in the experience year (None: the default version).
    held_version: str | None = None
    # The smoothing fund's balance closed for this plan year and what it charges or returns
    # through the base: {"closed_year", "balance_fen", "bp", "spread_years"}, None when open.
    fund_recovery: dict[str, Any] | None = None
    # The member's arm in the plan year's randomised holdout ("control", "incentive"), None
    # when no holdout was drawn or the member joined after the draw.
    holdout_arm: str | None = None
    # The plan year's discount budget (``api.pricing.budget_scale``): every performance-
    # linked discount times scale_ppm / 1e6; {"scale_ppm", "basis", "budget_fen"} or None.
    budget: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Like ``dataclasses.asdict`` without deep-copying indicators (a batch hot path)."""
        d = dict(self.__dict__)
        d["conditions"] = list(self.conditions)
        d["scores"] = [dict(s.__dict__) for s in self.scores]
        d["enrolled_years"] = list(self.enrolled_years)
        d["claim_years"] = list(self.claim_years)
        d["integrity_holds"] = [dict(h) for h in self.integrity_holds]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> QuoteInputs:
        return cls(
            member_id=d["member_id"],
            product_id=d["product_id"],
            plan_year=int(d["plan_year"]),
            age=int(d["age"]),
            conditions=tuple(d["conditions"]),
            scores=tuple(ScoreRow(**s) for s in d["scores"]),
            consent_withdrawn_on=d.get("consent_withdrawn_on"),
            windows_excluded_after_consent=int(d.get("windows_excluded_after_consent", 0)),
            enrolled_years=tuple(d.get("enrolled_years", ())),
            claim_years=tuple(d.get("claim_years", ())),
            claims_count=int(d.get("claims_count", 0)),
            last_premium_fen=d.get("last_premium_fen"),
            clinic_months=int(d.get("clinic_months", 0)),
            integrity_holds=tuple(d.get("integrity_holds", ())),
            windows_excluded_by_review=int(d.get("windows_excluded_by_review", 0)),
            what_if=d.get("what_if"),
            held_version=d.get("held_version"),
            fund_recovery=d.get("fund_recovery"),
            holdout_arm=d.get("holdout_arm"),
            budget=d.get("budget"),
        )
