"""A city product over several years: does the incentive design avoid the death spiral,
and where does it lose money?

Why: Huimin Bao is voluntary. When the premium rises, the healthy leave first, the pool gets
older and sicker, claims per member rise, the premium rises again: the death spiral the
seeds describe. This model runs one synthetic city book year by year with the insurer's
repricing rule, renewal by health status, price change, the "sense of gain" of a claim,
age and motivation, and, in the incentive scenarios, discounts computed by the REAL pricing
engine (passed in as ``price``: this package does not import ``api``;
``wellrate/portfolio.py`` wires it). Who engages is self-selected (motivation, health), so
discounts flow to people who would have been healthy anyway (the deadweight). Claims come
from the ground-truth outcome model (``device_sim.outcomes``) in payout terms.

Every parameter is in ``portfolio.toml`` beside this file, each with its source or marked
as an assumption; the baseline (uniform price, no incentive) is calibrated to spiral as the
seeds describe. Everything is synthetic: it checks the mechanism, not a city's numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from device_sim.outcomes import Population, hospitalisation_probability, population
from device_sim.portfolio_params import (
    _claims,
    _with_conditions,
    expected_payout_per_admission,
    load_params,
    sources,
)

__all__ = ["load_params", "sources"]


P = load_params()


@dataclass(frozen=True)
class MemberState:
    """What the pricing callable needs to price one member for one plan year."""

    age: int
    conditions: tuple[str, ...]
    sbp: float
    baseline_sbp: float
    tir: float | None
    baseline_tir: float | None
    steps: float
    baseline_steps: float
    enrolled_years: int
    claim_free_years: int
    engaged: bool


# price(state) -> (premium factor relative to the band base, discount share granted by
# data-dependent components); the factor includes loading, caps and floors, no smoothing.
PriceFn = Callable[[MemberState], tuple[float, float]]
# A band base premium in yuan by age.
BaseFn = Callable[[int], float]


@dataclass
class YearRow:
    scenario: str
    year: int
    pool: int
    mean_premium: float
    loss_ratio: float
    renewal_rate: float
    share_60_plus: float
    share_with_conditions: float
    fund_balance: float
    discounts_yuan: float
    premium_index: float
    renewal_healthy: float = float("nan")
    renewal_conditions: float = float("nan")
    claims_yuan: float = 0.0
    premiums_yuan: float = 0.0
    savings_yuan: float = 0.0  # expected payout avoided by the members' improvement
    deadweight_share: float = 0.0  # discounts to members whose expected claims did not fall
    margin_per_member: float = 0.0  # (premiums - claims) / members


@dataclass
class Scenario:
    incentive: bool
    smoothing: bool
    name: str = ""
    effect: float = 1.0  # the physiological improvement's share of the estimate (0: none)

    def __post_init__(self) -> None:
        if not self.name:
            inc = "incentive" if self.incentive else "no incentive"
            self.name = f"{inc}, {'smoothing' if self.smoothing else 'no smoothing'}"


@dataclass
class _Book:
    pop: Population
    enrolled: npt.NDArray[np.bool_]
    engaged: npt.NDArray[np.bool_]
    motivation: npt.NDArray[np.float64]
    years_in: npt.NDArray[np.int64]
    claim_free: npt.NDArray[np.int64]
    claimed: npt.NDArray[np.bool_]
    last_paid: npt.NDArray[np.float64]
    base_sbp: npt.NDArray[np.float64]
    base_tir: npt.NDArray[np.float64]
    base_steps: npt.NDArray[np.float64]
    base_prob: npt.NDArray[np.float64]
    ledger: list[float] = field(default_factory=list)


def _concat(a: Population, b: Population) -> Population:
    return Population(
        *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__)
    )


def _engages(
    p: Population, motivation: npt.NDArray[np.float64], rng: np.random.Generator
) -> npt.NDArray[np.bool_]:
    """Self-selection: the motivated and the healthy engage more (``[engagement]``)."""
    e = P["engagement"]
    logit = (
        np.log(e["base"] / (1 - e["base"]))
        + e["motivation"] * motivation
        + e["healthy"] * ~_with_conditions(p)
    )
    out: npt.NDArray[np.bool_] = rng.random(p.size) < 1.0 / (1.0 + np.exp(-logit))
    return out


def _new_book(pop: Population, rng: np.random.Generator) -> _Book:
    """Everyone enrolled, none priced yet; motivation and who engages are drawn now."""
    n = pop.size
    motivation = rng.standard_normal(n)
    return _Book(
        pop=pop,
        enrolled=np.ones(n, dtype=np.bool_),
        engaged=_engages(pop, motivation, rng),
        motivation=motivation,
        years_in=np.zeros(n, dtype=np.int64),
        claim_free=np.zeros(n, dtype=np.int64),
        claimed=np.zeros(n, dtype=np.bool_),
        last_paid=np.full(n, np.nan),
        base_sbp=pop.sbp.copy(),
        base_tir=pop.tir.copy(),
        base_steps=pop.steps.copy(),
        base_prob=hospitalisation_probability(pop),
    )


def _improve(book: _Book, effect: float) -> None:
    """Engaged, enrolled members reach ``effect`` x the estimated improvement."""
    p, e, fx = book.pop, book.engaged & book.enrolled, P["effect"]
    book.pop = replace(
        p,
        sbp=np.where(e, np.minimum(p.sbp, book.base_sbp + effect * fx["sbp_mmhg"]), p.sbp),
        tir=np.where(
            e & p.diabetes,
            np.minimum(100, np.maximum(p.tir, book.base_tir + effect * fx["tir_points"])),
            p.tir,
        ),
        steps=np.where(e, np.maximum(p.steps, book.base_steps + effect * fx["steps"]), p.steps),
    )


def _member_state(book: _Book, i: int) -> MemberState:
    p = book.pop
    return MemberState(
        age=int(p.age[i]),
        conditions=tuple(
            c
            for c, on in (
                ("hypertension", p.hypertension[i]),
                ("diabetes", p.diabetes[i]),
                ("ckd", p.ckd[i]),
            )
            if on
        ),
        sbp=float(p.sbp[i]),
        baseline_sbp=float(book.base_sbp[i]),
        tir=None if np.isnan(p.tir[i]) else float(p.tir[i]),
        baseline_tir=None if np.isnan(book.base_tir[i]) else float(book.base_tir[i]),
        steps=float(p.steps[i]),
        baseline_steps=float(book.base_steps[i]),
        enrolled_years=int(book.years_in[i]),
        claim_free_years=int(book.claim_free[i]),
        engaged=bool(book.engaged[i]),
    )


def _premiums(
    book: _Book,
    idx: npt.NDArray[np.intp],
    incentive: bool,
    price: PriceFn,
    band: BaseFn,
    index: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each enrolled member's premium before smoothing, and the discount in it."""
    unsmoothed = np.zeros(idx.size)
    discount = np.zeros(idx.size)
    for j, i in enumerate(idx):
        base = band(int(book.pop.age[i])) * index
        factor, disc = price(_member_state(book, i)) if incentive else (1.0, 0.0)
        unsmoothed[j] = base * factor
        discount[j] = base * disc
    return unsmoothed, discount


def _renew_probability(
    book: _Book, idx: npt.NDArray[np.intp], rel: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``[renewal]``: by health status, price change, last year's claim, age, motivation."""
    r, p = P["renewal"], book.pop
    sick = _with_conditions(p)[idx]
    base = np.where(sick, r["with_conditions"], r["healthy"])
    sens = np.where(sick, r["price_sensitivity_conditions"], r["price_sensitivity_healthy"])
    logit = (
        np.log(base / (1 - base))
        - sens * rel
        + r["claimed_last_year"] * book.claimed[idx]
        + r["per_decade_over_60"] * np.maximum(p.age[idx] - 60, 0) / 10
        + r["motivation"] * book.motivation[idx]
    )
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logit))
    return out


def _renewals(
    book: _Book,
    idx: npt.NDArray[np.intp],
    charged: npt.NDArray[np.float64],
    last: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """The year's claims, then who renews (in that order); updates the book's history.

    Returns who renews and the claims paid (payout terms) per enrolled member.
    """
    payout = _claims(book.pop, rng)[idx]
    rel = np.where(np.isnan(last), 0.0, charged / np.where(np.isnan(last), 1.0, last) - 1.0)
    book.claimed[idx] = payout > 0
    renew = rng.random(idx.size) < _renew_probability(book, idx, rel)
    book.claim_free[idx] = np.where(payout > 0, 0, book.claim_free[idx] + 1)
    book.years_in[idx] += 1
    book.last_paid[idx] = charged
    return renew, payout


def _entrants(k: int, seed: int, year: int) -> Population:
    """``k`` entrants, mostly healthy (``[entry] healthy_share``): drawn from a larger
    sample of the city's population, keeping that share without a chronic condition."""
    cand = population(4 * k + 50, seed * 1000 + year)
    sick = _with_conditions(cand)
    n_healthy = min(round(k * P["entry"]["healthy_share"]), int((~sick).sum()))
    pick = np.concatenate(
        [np.flatnonzero(~sick)[:n_healthy], np.flatnonzero(sick)[: k - n_healthy]]
    )
    return Population(*(getattr(cand, f)[pick] for f in cand.__dataclass_fields__))


def _next_year(book: _Book, k: int, seed: int, year: int, rng: np.random.Generator) -> None:
    """Everyone ages; ``k`` entrants arrive (drawn from their own seed), engaged or not."""
    book.pop = replace(
        book.pop, age=book.pop.age + 1, sbp=book.pop.sbp + P["ageing"]["sbp_per_year"]
    )
    if not k:
        return
    new = _entrants(k, seed, year)
    k = new.size
    motivation = rng.standard_normal(k)
    book.pop = _concat(book.pop, new)
    book.enrolled = np.concatenate([book.enrolled, np.ones(k, dtype=np.bool_)])
    book.engaged = np.concatenate([book.engaged, _engages(new, motivation, rng)])
    book.motivation = np.concatenate([book.motivation, motivation])
    book.years_in = np.concatenate([book.years_in, np.zeros(k, dtype=np.int64)])
    book.claim_free = np.concatenate([book.claim_free, np.zeros(k, dtype=np.int64)])
    book.claimed = np.concatenate([book.claimed, np.zeros(k, dtype=np.bool_)])
    book.last_paid = np.concatenate([book.last_paid, np.full(k, np.nan)])
    book.base_sbp = np.concatenate([book.base_sbp, new.sbp])
    book.base_tir = np.concatenate([book.base_tir, new.tir])
    book.base_steps = np.concatenate([book.base_steps, new.steps])
    book.base_prob = np.concatenate([book.base_prob, hospitalisation_probability(new)])


def _row(
    sc: Scenario, year: int, book: _Book, idx: npt.NDArray[np.intp], charged: Any,
    discount: Any, renew: Any, payout: Any, fund: float, index: float,
) -> YearRow:  # fmt: skip
    """The year's figures, savings and deadweight against each member's own baseline."""
    p = book.pop
    sick = _with_conditions(p)[idx]
    avoided = (book.base_prob[idx] - hospitalisation_probability(p)[idx]) * (
        expected_payout_per_admission()
    )
    disc_total = float(discount.sum())
    dead = float(discount[avoided <= 1e-9].sum())
    return YearRow(
        sc.name, year, int(idx.size), float(charged.mean()),
        float(payout.sum() / charged.sum()) if charged.sum() > 0 else float("nan"),
        float(renew.mean()), float((p.age[idx] >= 60).mean()), float(sick.mean()),
        fund, disc_total, index,
        float(renew[~sick].mean()) if (~sick).any() else float("nan"),
        float(renew[sick].mean()) if sick.any() else float("nan"),
        float(payout.sum()), float(charged.sum()), float(np.maximum(avoided, 0).sum()),
        dead / disc_total if disc_total > 0 else 0.0,
        float((charged.sum() - payout.sum()) / idx.size),
    )  # fmt: skip


def simulate(
    scenario: Scenario,
    *,
    price: PriceFn,
    base: BaseFn,
    members: int = 20_000,
    years: int = 5,
    seed: int = 0,
    max_yoy: float = 0.15,
    trace: list[dict[str, Any]] | None = None,
) -> list[YearRow]:
    """Run one scenario; deterministic under ``seed`` (the same seed draws the same city)."""
    rng = np.random.default_rng([seed, 90])
    pop = population(members, seed)
    book = _new_book(pop, rng)
    rp = P["repricing"]
    # Year 1 is priced right: the index makes the first pool's EXPECTED loss ratio the
    # target (the seeds' starting point); what follows is the dynamics, not a bad start.
    expected = float((hospitalisation_probability(pop) * expected_payout_per_admission()).sum())
    bases = float(sum(base(int(a)) for a in pop.age))
    index, fund, rows = expected / (rp["target_loss_ratio"] * bases), 0.0, []
    last_mean = None
    for year in range(1, years + 1):
        if scenario.incentive and year >= 2:  # improvement shows from the second year
            _improve(book, scenario.effect)
        idx = np.flatnonzero(book.enrolled)
        unsmoothed, discount = _premiums(book, idx, scenario.incentive, price, base, index)
        charged = unsmoothed.copy()
        last = book.last_paid[idx]
        if scenario.smoothing:
            has = ~np.isnan(last)
            lo, hi = last * (1 - max_yoy), last * (1 + max_yoy)
            charged[has] = np.clip(unsmoothed[has], lo[has], hi[has])
            book.ledger.extend((charged - unsmoothed).tolist())
            fund += float((charged - unsmoothed).sum())
        if trace is not None:
            trace.append(
                {"year": year, "members": idx.copy(), "last": last.copy(),
                 "unsmoothed": unsmoothed.copy(), "charged": charged.copy()}
            )  # fmt: skip
        renew, payout = _renewals(book, idx, charged, last, rng)
        row = _row(scenario, year, book, idx, charged, discount, renew, payout, fund, index)
        rows.append(row)
        # Next year: leavers leave, everyone ages, entrants arrive, the insurer reprices.
        book.enrolled[idx[~renew]] = False
        mean = float(charged.mean())
        change = 0.0 if last_mean is None else mean / last_mean - 1.0
        last_mean = mean
        e = P["entry"]
        k = round(members * e["share"] * max(0.0, 1.0 - e["price_elasticity"] * max(change, 0.0)))
        _next_year(book, k, seed, year, rng)
        move = rp["speed"] * (row.loss_ratio / rp["target_loss_ratio"] - 1.0)
        index *= 1.0 + float(np.clip(move, -rp["max_move"], rp["max_move"]))
    return rows


def verdict(rows: list[YearRow], baseline: list[YearRow]) -> str:
    """One line: did the premium and the pool hold up, against the no-incentive baseline?"""
    first, last = rows[0], rows[-1]
    growth = (last.mean_premium / first.mean_premium) ** (1 / max(1, len(rows) - 1)) - 1
    shrink = last.pool / first.pool - 1
    b_growth = (baseline[-1].mean_premium / baseline[0].mean_premium) ** (
        1 / max(1, len(baseline) - 1)
    ) - 1
    spiral = growth > 0.05 and shrink < -0.15
    return (
        f"{rows[0].scenario}: premium {growth:+.1%}/yr (baseline {b_growth:+.1%}/yr), pool"
        f" {shrink:+.0%} over {len(rows)} years, age 60+ {first.share_60_plus:.0%} ->"
        f" {last.share_60_plus:.0%}: {'DEATH SPIRAL' if spiral else 'no spiral'}"
    )


def as_table(rows: list[YearRow]) -> list[dict[str, Any]]:
    return [r.__dict__.copy() for r in rows]
