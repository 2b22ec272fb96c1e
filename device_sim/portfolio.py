"""A city product over several years: does the incentive design avoid the death spiral?

Why: Huimin Bao is voluntary. When the premium rises, the healthy leave first, the pool gets
older and sicker, claims per member rise, the premium rises again: the death spiral the
seeds describe. This simulation runs one synthetic city book year by year with the
insurer's repricing rule, price-sensitive renewal and entry, claims from the ground-truth
outcome model (``device_sim.outcomes``), and, in the incentive scenarios, health-management
discounts computed by the REAL pricing engine (passed in as ``price``: this package does not
import ``api``; ``wellrate/portfolio.py`` wires them). Everything is synthetic: it checks
the mechanism, not a real city's numbers.

Assumptions (each a stated decision, cited where a source exists):
- Claims: an admission's cost is lognormal (outcomes.py); Huimin Bao pays above a
  deductible at a coinsurance rate (typical 2023 city terms: ~20,000 yuan deductible after
  basic insurance, 70-80 % reimbursed; ASSUMPTION here: 15,000 and 70 %).
- Repricing: next year's premium index = this year's x (loss ratio / target), moved a
  third of the way and by at most +-30 % a year (ASSUMPTION: insurers smooth their own
  rate changes); target loss ratio 85 % (regulators ask Huimin Bao for ~85-90 %).
- Renewal: logistic in the member's premium change; healthier members are more
  price-sensitive (ASSUMPTION; the adverse-selection mechanism): base renewal 85 %
  (city reports: ~70-90 %), -6 per unit relative increase for low-risk, -2 for high-risk.
- Entrants: 12 % of the first pool each year, fewer when the average premium rose.
- Incentive: engaged members (55 %, ASSUMPTION) improve in the first year: home systolic
  -4 mmHg (self-monitoring with support: Tucker et al., PLoS Med 2017, about -3 to -5 at
  12 months), CGM time in range +5 points (ASSUMPTION), +800 steps/day (step-count
  interventions: Chaudhry et al., npj Digit Med 2020, roughly +1,000/day); they keep it.
- Ageing: a year older each year, systolic +0.5 mmHg a year (ASSUMPTION).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from device_sim.outcomes import Population, hospitalisation_probability, population

DEDUCTIBLE_YUAN = 15_000.0
COINSURANCE = 0.70
TARGET_LOSS_RATIO = 0.85
REPRICE_SPEED = 1.0 / 3.0
REPRICE_MAX = 0.30
BASE_RENEWAL_LOGIT = float(np.log(0.85 / 0.15))
SENSITIVITY_LOW_RISK = 6.0
SENSITIVITY_HIGH_RISK = 2.0
ENTRY_SHARE = 0.12
ENGAGED_SHARE = 0.55
EFFECT_SBP = -4.0
EFFECT_TIR = 5.0
EFFECT_STEPS = 800.0
SBP_AGEING = 0.5


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


@dataclass
class Scenario:
    incentive: bool
    smoothing: bool
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            inc = "incentive" if self.incentive else "no incentive"
            self.name = f"{inc}, {'smoothing' if self.smoothing else 'no smoothing'}"


@dataclass
class _Book:
    pop: Population
    enrolled: npt.NDArray[np.bool_]
    engaged: npt.NDArray[np.bool_]
    years_in: npt.NDArray[np.int64]
    claim_free: npt.NDArray[np.int64]
    last_paid: npt.NDArray[np.float64]
    base_sbp: npt.NDArray[np.float64]
    base_tir: npt.NDArray[np.float64]
    base_steps: npt.NDArray[np.float64]
    ledger: list[float] = field(default_factory=list)


def _concat(a: Population, b: Population) -> Population:
    return Population(
        *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__)
    )


def _risk_group(p: Population) -> npt.NDArray[np.bool_]:
    """High risk: the upper third of true admission probability (used for sensitivity)."""
    prob = hospitalisation_probability(p)
    out: npt.NDArray[np.bool_] = prob >= np.quantile(prob, 2 / 3)
    return out


def _payout(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = np.maximum(cost - DEDUCTIBLE_YUAN, 0.0) * COINSURANCE
    return out


def expected_payout_per_admission(draws: int = 400_000) -> float:
    """E[max(cost - deductible, 0)] x coinsurance, by a fixed-seed Monte Carlo."""
    from device_sim.outcomes import COST_MEAN_YUAN, COST_SIGMA

    rng = np.random.default_rng(12345)
    mu = np.log(COST_MEAN_YUAN) - COST_SIGMA**2 / 2
    return float(_payout(rng.lognormal(mu, COST_SIGMA, draws)).mean())


def _claims(p: Population, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    from device_sim.outcomes import COST_MEAN_YUAN, COST_SIGMA

    hosp = rng.random(p.size) < hospitalisation_probability(p)
    mu = np.log(COST_MEAN_YUAN) - COST_SIGMA**2 / 2
    cost = np.where(hosp, rng.lognormal(mu, COST_SIGMA, p.size), 0.0)
    return _payout(cost)


def _new_book(pop: Population, rng: np.random.Generator) -> _Book:
    """Everyone enrolled, none priced yet; who engages with the incentive is drawn now."""
    n = pop.size
    return _Book(
        pop=pop,
        enrolled=np.ones(n, dtype=np.bool_),
        engaged=rng.random(n) < ENGAGED_SHARE,
        years_in=np.zeros(n, dtype=np.int64),
        claim_free=np.zeros(n, dtype=np.int64),
        last_paid=np.full(n, np.nan),
        base_sbp=pop.sbp.copy(),
        base_tir=pop.tir.copy(),
        base_steps=pop.steps.copy(),
    )


def _improve(book: _Book) -> None:
    """Engaged, enrolled members reach the incentive's effect on BP, TIR and steps."""
    p = book.pop
    e = book.engaged & book.enrolled
    book.pop = replace(
        p,
        sbp=np.where(e, np.minimum(p.sbp, book.base_sbp + EFFECT_SBP), p.sbp),
        tir=np.where(
            e & p.diabetes,
            np.minimum(100, np.maximum(p.tir, book.base_tir + EFFECT_TIR)),
            p.tir,
        ),
        steps=np.where(e, np.maximum(p.steps, book.base_steps + EFFECT_STEPS), p.steps),
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


def _renewals(
    book: _Book,
    idx: npt.NDArray[np.intp],
    charged: npt.NDArray[np.float64],
    last: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.bool_], float]:
    """The year's claims and who renews (drawn in that order); updates the book's history.

    Returns who renews and the loss ratio.
    """
    p = book.pop
    payout = _claims(p, rng)[idx]
    premium_total = float(charged.sum())
    lr = float(payout.sum() / premium_total) if premium_total > 0 else float("nan")
    rel = np.where(np.isnan(last), 0.0, charged / np.where(np.isnan(last), 1.0, last) - 1.0)
    high = _risk_group(p)[idx]
    sens = np.where(high, SENSITIVITY_HIGH_RISK, SENSITIVITY_LOW_RISK)
    renew_p = 1.0 / (1.0 + np.exp(-(BASE_RENEWAL_LOGIT - sens * rel)))
    renew = rng.random(idx.size) < renew_p
    book.claim_free[idx] = np.where(payout > 0, 0, book.claim_free[idx] + 1)
    book.years_in[idx] += 1
    book.last_paid[idx] = charged
    return renew, lr


def _next_year(book: _Book, k: int, seed: int, year: int, rng: np.random.Generator) -> None:
    """Everyone ages; ``k`` entrants arrive (drawn from their own seed), engaged or not."""
    new = population(k, seed * 1000 + year) if k else None
    book.pop = replace(book.pop, age=book.pop.age + 1, sbp=book.pop.sbp + SBP_AGEING)
    if new is None:
        return
    book.pop = _concat(book.pop, new)
    book.enrolled = np.concatenate([book.enrolled, np.ones(k, dtype=np.bool_)])
    book.engaged = np.concatenate([book.engaged, rng.random(k) < ENGAGED_SHARE])
    book.years_in = np.concatenate([book.years_in, np.zeros(k, dtype=np.int64)])
    book.claim_free = np.concatenate([book.claim_free, np.zeros(k, dtype=np.int64)])
    book.last_paid = np.concatenate([book.last_paid, np.full(k, np.nan)])
    book.base_sbp = np.concatenate([book.base_sbp, new.sbp])
    book.base_tir = np.concatenate([book.base_tir, new.tir])
    book.base_steps = np.concatenate([book.base_steps, new.steps])


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
    # Year 1 is priced right: the index makes the first pool's EXPECTED loss ratio the
    # target (the seeds' starting point); what follows is the dynamics, not a bad start.
    expected = float((hospitalisation_probability(pop) * expected_payout_per_admission()).sum())
    bases = float(sum(base(int(a)) for a in pop.age))
    index, fund, rows = expected / (TARGET_LOSS_RATIO * bases), 0.0, []
    last_mean = None
    for year in range(1, years + 1):
        if scenario.incentive and year >= 2:  # improvement shows from the second year
            _improve(book)
        p = book.pop
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
        renew, lr = _renewals(book, idx, charged, last, rng)
        rows.append(
            YearRow(
                scenario.name, year, int(idx.size), float(charged.mean()), lr,
                float(renew.mean()), float((p.age[idx] >= 60).mean()),
                float((p.hypertension[idx] | p.diabetes[idx] | p.ckd[idx]).mean()),
                fund, float(discount.sum()), index,
            )
        )  # fmt: skip
        # Next year: leavers leave, everyone ages, entrants arrive, the insurer reprices.
        book.enrolled[idx[~renew]] = False
        mean = float(charged.mean())
        change = 0.0 if last_mean is None else mean / last_mean - 1.0
        last_mean = mean
        _next_year(book, round(members * ENTRY_SHARE * max(0.0, 1.0 - 2.0 * max(change, 0.0))),
                   seed, year, rng)  # fmt: skip
        move = REPRICE_SPEED * (lr / TARGET_LOSS_RATIO - 1.0)
        index *= 1.0 + float(np.clip(move, -REPRICE_MAX, REPRICE_MAX))
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
