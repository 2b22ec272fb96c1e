"""A product's rulebook for one plan year: a TOML file the insurer edits, validated on load.

Validation collects every problem and names each by its field path
(``components.control.weight: must be between 0 and 1``), so an actuary fixes the file in
one pass. The result is frozen dataclasses holding integers only: money in fen, percentages
in basis points (1 % = 100 bp), so the engine never touches a float for money.
"""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from api.pricing.exceptions import RulebookInvalid
from api.pricing.rulebook_fields import Fields
from api.pricing.versions import AgeBand, Version, parse_versions

ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
CONDITIONS = ("hypertension", "diabetes", "ckd", "hyperlipidaemia")  # members.conditions CHECK


@dataclass(frozen=True)
class Component:
    weight: Decimal
    max_bp: int  # weight x discount budget


@dataclass(frozen=True)
class Rulebook:
    product_id: str
    plan_year: int
    version: str
    sha256: str
    name_en: str
    name_zh: str
    product_version: str
    rating: str  # "community" (one price for all) or "age" (declared age bands)
    bands: tuple[AgeBand, ...]
    budget_bp: int
    max_discount_bp: int
    engagement: Component
    engagement_full_days: int
    engagement_clinic_months_full: int
    control: Component
    activity: Component
    adherence: Component
    activity_from_steps: int
    activity_full_steps: int
    improvement: Component
    improvement_full_points: Decimal
    improvement_maintain_at: Decimal
    ladder_bp: tuple[int, ...]
    ladder_claim_resets: bool
    loading_max_bp: int
    loading_earn_back_share: Decimal
    loading_bp: dict[str, int]
    floor_bp_of_base: int
    floor_fen: int
    ceiling_bp_of_base: int
    max_yoy_bp: int
    spread_years: int
    fund_capital_fen: int = 0  # the smoothing fund's starting capital
    fund_floor_fen: int = 0  # below this balance the product must reprice
    # The versions a member may choose, the first being the default; ``product_version``
    # and ``bands`` above are the default version's.
    versions: tuple[Version, ...] = ()
    # The randomised holdout's share of the book (bp; 0: no holdout), ``api.pricing.holdout``.
    holdout_share_bp: int = 0
    # The effect's prior and the discount budget (``api.pricing.effect``, ``budget_scale``):
    # a published effect in yuan of payout saved per member-year and its uncertainty, the
    # margin kept from credible savings, and the start-up budget of a year with no effect.
    effect_prior_fen: int = 0
    effect_prior_sd_fen: int = 3000
    budget_margin_bp: int = 2000
    startup_budget_fen: int | None = None

    def version_named(self, version_id: str | None) -> Version:
        """The version of that id; the default one for None or an id no longer sold."""
        return self._by_id.get(version_id, self.versions[0])

    @cached_property
    def _by_id(self) -> dict[str | None, Version]:
        """Versions by id (a quote looks its versions up a few times; a book, millions)."""
        return {x.id: x for x in self.versions}

    def band_for(self, age: int) -> AgeBand:
        for b in self.bands:
            if b.min_age <= age <= b.max_age:
                return b
        raise RulebookInvalid(
            f"no age band covers age {age}",
            errors=[{"field": "base.bands", "message": f"no band covers age {age}"}],
        )


def _component(v: Fields, name: str, budget_bp: int) -> Component:
    path = f"components.{name}.weight"
    # Activity and adherence are optional (weight 0 without their table); others required.
    if name in ("activity", "adherence") and f"components.{name}" not in _tables(v):
        return Component(weight=Decimal(0), max_bp=0)
    w = v.number(path, Decimal(0), Decimal(1))
    return Component(weight=w, max_bp=int((w * budget_bp).to_integral_value()))


# The age bands a report discloses when the product has one price for all ages (seed: a
# Huimin Bao product discloses its experience by age and disease).
DISCLOSURE_BANDS = ((0, 49), (50, 59), (60, 69), (70, 79), (80, 130))


def report_band(rb: Rulebook, age: int) -> str:
    """The age band a report puts a member in: the priced bands of an age-rated product,
    else the fixed disclosure bands."""
    spans = [(b.min_age, b.max_age) for b in rb.bands] if len(rb.bands) > 1 else DISCLOSURE_BANDS
    return next((f"{lo}-{hi}" for lo, hi in spans if lo <= age <= hi), "other")


def _tables(v: Fields) -> set[str]:
    comps = v.data.get("components")
    return {f"components.{k}" for k in comps} if isinstance(comps, dict) else set()


def rating_steps(bands: tuple[AgeBand, ...]) -> list[tuple[int, int]]:
    """(age at which a member enters the band, step in basis points from the band below)."""
    return [
        (b.min_age, int((Decimal(b.base_fen) / a.base_fen - 1) * 10_000))
        for a, b in itertools.pairwise(bands)
        if a.base_fen > 0
    ]


def rating_spread(bands: tuple[AgeBand, ...]) -> Decimal:
    """Highest base divided by lowest (1 for a community-rated product)."""
    fen = [b.base_fen for b in bands if b.base_fen > 0]
    return (Decimal(max(fen)) / Decimal(min(fen))).quantize(Decimal("0.01")) if fen else Decimal(1)


def _check_rating(
    v: Fields, rating: str, bands: tuple[AgeBand, ...], max_yoy_bp: int, path: str = "base.bands"
) -> None:
    """Huimin Bao is community-rated unless the rulebook declares age rating (seed: "no age
    limit, insurance with disease"; cities that priced by age met doubts about fairness),
    and ageing into the next band must never move a member more than the year-on-year cap:
    a cliff the cap then holds back is paid by the smoothing fund every year."""
    if rating == "community" and len({b.base_fen for b in bands}) > 1:
        v.fail(
            "base.rating", 'is "community": one price for all ages; declare "age" to rate by age'
        )
    for age, step in rating_steps(bands):
        if abs(step) > max_yoy_bp:
            v.fail(
                path,
                f"ageing into the band from age {age} moves the base {step / 100:+.1f}% in one"
                f" year, beyond smoothing.max_yoy_change_pct ({max_yoy_bp / 100:.0f}%)",
            )


def _ladder(v: Fields) -> tuple[int, ...]:
    """The claim-free ladder: a discount (bp) per continuous claim-free year, never falling."""
    raw = v.get("ladder.pct_by_years")
    ladder: list[int] = []
    if raw is not None and (not isinstance(raw, list) or not raw):
        v.fail("ladder.pct_by_years", "must be a non-empty list of percentages")
    elif isinstance(raw, list):
        for i, x in enumerate(raw):
            ladder.append(v.pct_bp(f"ladder.pct_by_years[{i}]", 0, 50, x))
        if any(b < a for a, b in itertools.pairwise(ladder)):
            v.fail("ladder.pct_by_years", "must not decrease with more claim-free years")
    return tuple(ladder)


def _loading(v: Fields) -> dict[str, int]:
    """The loading (bp) per known pre-existing condition."""
    raw = v.get("loading.conditions")
    loading: dict[str, int] = {}
    if isinstance(raw, dict):
        for k, x in raw.items():
            if k not in CONDITIONS:
                v.fail(f"loading.conditions.{k}", f"unknown condition (one of {CONDITIONS})")
                continue
            loading[k] = v.pct_bp(f"loading.conditions.{k}", 0, 100, x)
    elif raw is not None:
        v.fail("loading.conditions", "must be a table of condition = percent")
    return loading


def _optional_yuan(v: Fields, table: str, key: str) -> int:
    """An optional amount of yuan in fen, 0 when the table does not give it."""
    section = v.data.get(table)
    if not isinstance(section, dict) or key not in section:
        return 0
    return v.yuan_fen(f"{table}.{key}")


def _rating(v: Fields) -> tuple[str, tuple[Version, ...], int]:
    """The declared rating, the versions, the year-on-year cap; checked together."""
    rating = v.get("base.rating") or "community"
    if rating not in ("community", "age"):
        v.fail("base.rating", 'must be "community" or "age"')
    versions = parse_versions(v, str(rating))
    max_yoy = v.pct_bp("smoothing.max_yoy_change_pct", 1, 100)
    legacy = "versions" not in v.data
    for i, ver in enumerate(versions):
        path = "base.bands" if legacy else f"versions[{i}].bands"
        _check_rating(v, str(rating), ver.bands, max_yoy, path)
    return str(rating), versions, max_yoy


def _activity_steps(v: Fields) -> tuple[int, int]:
    """Daily steps credited from (0) and to (full); 3,000 and 7,000 when not given."""
    act = v.get("components.activity") or {}
    lo = v.integer("components.activity.from_steps", 0, 20_000, act.get("from_steps", 3000))
    hi = v.integer("components.activity.full_steps", 1, 30_000, act.get("full_steps", 7000))
    if hi <= lo:
        v.fail("components.activity.full_steps", "must be above from_steps")
    return lo, hi


def _holdout(v: Fields) -> int:
    """``[holdout]``: ``enabled`` (default true) and ``share_pct`` (default 10, at most 50);
    no table, no holdout."""
    table = v.data.get("holdout")
    if table is None:
        return 0
    if not isinstance(table, dict):
        v.fail("holdout", "must be a table {enabled, share_pct}")
        return 0
    if "enabled" in table and not v.boolean("holdout.enabled"):
        return 0
    return v.pct_bp("holdout.share_pct", 0, 50, table.get("share_pct", 10))


def _effect(v: Fields) -> dict[str, Any]:
    """``[effect]`` (prior_savings_yuan, prior_sd_yuan) and ``[budget]`` (margin_pct,
    startup_yuan); each optional."""
    out: dict[str, Any] = {}
    eff, bud = v.data.get("effect"), v.data.get("budget")
    if isinstance(eff, dict):
        if "prior_savings_yuan" in eff:
            out["effect_prior_fen"] = v.yuan_fen("effect.prior_savings_yuan")
        if "prior_sd_yuan" in eff:
            out["effect_prior_sd_fen"] = v.yuan_fen("effect.prior_sd_yuan")
    if isinstance(bud, dict):
        if "margin_pct" in bud:
            out["budget_margin_bp"] = v.pct_bp("budget.margin_pct", 0, 90)
        if "startup_yuan" in bud:
            out["startup_budget_fen"] = v.yuan_fen("budget.startup_yuan", hi=100_000_000)
    return out


def _components(v: Fields, budget_bp: int) -> dict[str, Component]:
    names = ("engagement", "control", "activity", "adherence", "improvement")
    comps = {n: _component(v, n, budget_bp) for n in names}
    if sum((c.weight for c in comps.values()), Decimal(0)) > 1:
        v.fail("components", "weights must sum to at most 1")
    return comps


def parse(text: str, *, source: str = "<rulebook>") -> Rulebook:
    """Validate a rulebook's TOML text; raise :class:`RulebookInvalid` naming every field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookInvalid(
            f"{source} is not valid TOML: {exc}", errors=[{"field": "toml", "message": str(exc)}]
        ) from exc
    v = Fields(data)
    budget = v.pct_bp("discounts.budget_pct")
    comps = _components(v, budget)
    rating, versions, max_yoy = _rating(v)
    default = versions[0] if versions else Version("", "", "", (), None)
    from_steps, full_steps = _activity_steps(v)
    rb = Rulebook(
        product_id=v.text("product_id"),
        plan_year=v.integer("plan_year", 2000, 2100),
        version=v.text("version"),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        name_en=v.text("name_en"),
        name_zh=v.text("name_zh"),
        product_version=default.id,
        rating=rating,
        bands=default.bands,
        budget_bp=budget,
        max_discount_bp=v.pct_bp("discounts.max_total_pct"),
        engagement=comps["engagement"],
        engagement_full_days=v.integer("components.engagement.full_at_days", 1, 366),
        engagement_clinic_months_full=v.integer("components.engagement.clinic_months_full", 1, 12),
        control=comps["control"],
        activity=comps["activity"],
        adherence=comps["adherence"],
        activity_from_steps=from_steps,
        activity_full_steps=full_steps,
        improvement=comps["improvement"],
        improvement_full_points=v.number("components.improvement.full_at_points", ONE, HUNDRED),
        improvement_maintain_at=v.number("components.improvement.maintain_at", ZERO, HUNDRED),
        ladder_bp=_ladder(v),
        ladder_claim_resets=v.boolean("ladder.claim_resets"),
        loading_max_bp=v.pct_bp("loading.max_total_pct"),
        loading_earn_back_share=v.number("loading.earn_back_max_share", Decimal(0), Decimal(1)),
        loading_bp=_loading(v),
        floor_bp_of_base=v.pct_bp("limits.floor_pct_of_base", 0, 100),
        floor_fen=v.yuan_fen("limits.floor_yuan"),
        ceiling_bp_of_base=v.pct_bp("limits.ceiling_pct_of_base", 100, 300),
        max_yoy_bp=max_yoy,
        spread_years=v.integer("smoothing.spread_years", 3, 5),
        fund_capital_fen=_optional_yuan(v, "smoothing", "starting_capital_yuan"),
        fund_floor_fen=-_optional_yuan(v, "smoothing", "solvency_floor_deficit_yuan"),
        versions=versions,
        holdout_share_bp=_holdout(v),
        **_effect(v),
    )
    if v.errors:
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in v.errors)
        raise RulebookInvalid(f"{source}: {lines}", errors=v.errors)
    return rb


def packaged_text(product_id: str, plan_year: int) -> str | None:
    """The rulebook shipped in ``api/pricing/rulebooks``, or None."""
    f = resources.files("api.pricing").joinpath("rulebooks", f"{product_id}-{plan_year}.toml")
    return f.read_text(encoding="utf-8") if f.is_file() else None


def dir_text(directory: str | None, product_id: str, plan_year: int) -> str | None:
    """The rulebook in ``Settings.rulebook_dir`` (an insurer's own), or the packaged one."""
    if directory:
        p = Path(directory) / f"{product_id}-{plan_year}.toml"
        if p.is_file():
            return p.read_text(encoding="utf-8")
    return packaged_text(product_id, plan_year)
