"""Ground-truth outcomes for simulated members: who is hospitalised next year, at what cost.

Why: the risk model (``scoring.models``) and the portfolio simulation need outcomes whose
causes are KNOWN, so that a pipeline can be shown to recover them. Effect sizes come from
the literature cited next to each constant; where a paper measured a different endpoint
(events, mortality) we borrow its size for all-cause hospitalisation and say so. This checks
the pipeline, not clinical validity: nothing here was fitted to real claims.

The model is a logistic regression on the member's TRUE state (the latent values the
simulator draws readings around), one year at a time:

    logit p = logit(BASE_P) + AGE * (age - 60) / 10 + HT * hypertension + DM * diabetes
              + CKD * ckd + SBP * (sbp - 130) / 10 + TIR * (70 - tir) / 10 [diabetes]
              + STEPS * (7000 - steps) / 1000 [capped]

Claim cost per admission: lognormal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from device_sim.cohort import (
    AGE_BAND_SHARE,
    AGE_BANDS,
    DIABETES_BY_BAND,
    HYPERTENSION_BY_BAND,
    SHARE_FEMALE,
    SimMember,
)

# Baseline: a 60-year-old without the modelled conditions, SBP 130, 7,000 steps. China's
# inpatient admission rate was ~19 per 100 residents a year in 2019 (China Health Statistics
# Yearbook 2020: 266 million admissions), concentrated in the old and chronically ill;
# ASSUMPTION: 8 % for this reference member, which reproduces ~15-20 % on the enrolee mix.
BASE_P: Final = 0.08
# ASSUMPTION from age gradients of admission rates (Yearbook): odds x1.5 per decade.
OR_AGE_PER_10Y: Final = 1.5
# ASSUMPTION: rate ratios of admissions with vs without the condition, adjusted for age.
OR_HYPERTENSION: Final = 1.3
OR_DIABETES: Final = 1.6
OR_CKD: Final = 2.0
# Ettehad et al., Lancet 2016 (meta-analysis of 123 trials): each 10 mmHg lower systolic BP,
# RR 0.80 for major cardiovascular events; borrowed for all-cause admissions: odds x1.25
# per 10 mmHg higher.
OR_SBP_PER_10: Final = 1.25
# Beck et al., Diabetes Care 2019: each 10 percentage points lower TIR, hazard of
# retinopathy progression +64 % and microalbuminuria +40 %. ASSUMPTION (admissions are a
# broader endpoint): odds x1.15 per 10 points lower TIR.
OR_TIR_PER_10_LOWER: Final = 1.15
# Saint-Maurice et al., JAMA 2020: 8,000 vs 4,000 steps/day, mortality HR 0.49; Paluch et
# al., Lancet Public Health 2022. ASSUMPTION for admissions: odds x1.07 per 1,000 fewer steps,
# below 7,000 only down to 2,000 (the dose-response flattens above 7-8k).
OR_STEPS_PER_1000_FEWER: Final = 1.07
STEPS_REF: Final = 7000.0
STEPS_FLOOR: Final = 2000.0
# Average inpatient expenditure in Chinese public hospitals ~10,000 yuan (Yearbook 2021);
# lognormal with sigma 0.8 (ASSUMPTION), mean COST_MEAN_YUAN.
COST_MEAN_YUAN: Final = 10_000.0
COST_SIGMA: Final = 0.8

# The effects in the units the risk model's features use, for tests and docs.
TRUE_LOG_ODDS: Final = {
    "sbp_per_10": float(np.log(OR_SBP_PER_10)),
    "tir_per_10_lower": float(np.log(OR_TIR_PER_10_LOWER)),
    "steps_per_1000_fewer": float(np.log(OR_STEPS_PER_1000_FEWER)),
    "age_per_10": float(np.log(OR_AGE_PER_10Y)),
}


@dataclass(frozen=True)
class Population:
    """Members as arrays (one element per member): demographics and TRUE latent state."""

    member_id: npt.NDArray[np.str_]
    age: npt.NDArray[np.int64]
    female: npt.NDArray[np.bool_]
    hypertension: npt.NDArray[np.bool_]
    diabetes: npt.NDArray[np.bool_]
    ckd: npt.NDArray[np.bool_]
    sbp: npt.NDArray[np.float64]  # true home systolic mean, mmHg
    dbp: npt.NDArray[np.float64]
    tir: npt.NDArray[np.float64]  # true CGM time in range, % (diabetics; NaN otherwise)
    steps: npt.NDArray[np.float64]  # true median daily steps

    @property
    def size(self) -> int:
        return int(self.age.size)


def population(n: int, seed: int) -> Population:
    """A synthetic book with the cohort's age mix and condition prevalence (vectorised)."""
    rng = np.random.default_rng([seed, 71])
    band = rng.choice(len(AGE_BANDS), size=n, p=np.asarray(AGE_BAND_SHARE))
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    hi = np.array([b[1] for b in AGE_BANDS])[band]
    age = rng.integers(lo, hi)
    female = rng.random(n) < SHARE_FEMALE
    ht = rng.random(n) < np.asarray(HYPERTENSION_BY_BAND)[band]
    dm = rng.random(n) < np.asarray(DIABETES_BY_BAND)[band]
    # ASSUMPTION: CKD in ~10 % of diabetics and ~5 % of hypertensives (China CKD survey,
    # Zhang L et al., Lancet 2012: 10.8 % overall, higher with diabetes/hypertension).
    ckd = rng.random(n) < np.where(dm, 0.10, np.where(ht, 0.05, 0.01))
    # Home SBP: hypertensives ~N(142, 12) (China: ~1 in 4 treated are controlled, Wang 2018),
    # others ~N(122, 10) rising 3 mmHg per decade (ASSUMPTION).
    sbp = np.where(ht, rng.normal(142, 12, n), rng.normal(116 + 0.3 * age, 10, n))
    dbp = 0.55 * sbp + rng.normal(8, 5, n)
    tir = np.where(dm, np.clip(rng.normal(62, 16, n), 5, 100), np.nan)
    steps = np.clip(rng.lognormal(np.log(6500) - 0.004 * (age - 50), 0.45, n), 300, 30_000)
    ids = np.array([f"sim-{seed}-{i:07d}" for i in range(n)])
    return Population(ids, age, female, ht, dm, ckd, sbp, dbp, tir, steps)


def hospitalisation_logit(p: Population) -> npt.NDArray[np.float64]:
    """The true log-odds of at least one admission in a year."""
    fewer = np.clip(STEPS_REF - p.steps, 0.0, STEPS_REF - STEPS_FLOOR) / 1000.0
    tir_gap = np.where(p.diabetes, (70.0 - np.nan_to_num(p.tir, nan=70.0)) / 10.0, 0.0)
    logit: npt.NDArray[np.float64] = (
        np.log(BASE_P / (1 - BASE_P))
        + np.log(OR_AGE_PER_10Y) * (p.age - 60) / 10.0
        + np.log(OR_HYPERTENSION) * p.hypertension
        + np.log(OR_DIABETES) * p.diabetes
        + np.log(OR_CKD) * p.ckd
        + np.log(OR_SBP_PER_10) * (p.sbp - 130.0) / 10.0
        + np.log(OR_TIR_PER_10_LOWER) * tir_gap
        + np.log(OR_STEPS_PER_1000_FEWER) * fewer
    )
    return logit


def hospitalisation_probability(p: Population) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-hospitalisation_logit(p)))
    return out


def simulate_outcomes(
    p: Population, seed: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """(hospitalised this year, claim cost in yuan; 0 when not) for every member."""
    rng = np.random.default_rng([seed, 72])
    hosp = rng.random(p.size) < hospitalisation_probability(p)
    mu = np.log(COST_MEAN_YUAN) - COST_SIGMA**2 / 2
    cost = np.where(hosp, np.round(rng.lognormal(mu, COST_SIGMA, p.size), 2), 0.0)
    return hosp, cost


def cohort_claims(
    members: list[SimMember], year: int, seed: int
) -> list[tuple[str, str, date, date, float, str]]:
    """A year of hospital claims for a simulated cohort, from the outcome model above:
    (claim id, member, admitted, discharged, gross yuan, ICD-10 code). The members' latent
    state is drawn as in :func:`population` (their age and conditions kept), so the demo's
    insurer has a claims feed in the experience year. ICD-10: the member's own condition's
    chapter for half of their admissions (I10 hypertension, E11 diabetes, N18 CKD), else
    an unrelated one (S72, J18, K80), ASSUMPTION."""
    n = len(members)
    rng = np.random.default_rng([seed, year, 73])
    age = np.array([m.age for m in members], dtype=np.int64)
    ht = np.array(["hypertension" in m.conditions for m in members])
    dm = np.array(["diabetes" in m.conditions for m in members])
    ckd = np.array(["ckd" in m.conditions for m in members])
    sbp = np.where(ht, rng.normal(142, 12, n), rng.normal(116 + 0.3 * age, 10, n))
    pop = Population(
        np.array([m.member_id for m in members]), age,
        np.array([m.sex == "F" for m in members]), ht, dm, ckd, sbp,
        0.55 * sbp + rng.normal(8, 5, n),
        np.where(dm, np.clip(rng.normal(62, 16, n), 5, 100), np.nan),
        np.clip(rng.lognormal(np.log(6500) - 0.004 * (age - 50), 0.45, n), 300, 30_000),
    )  # fmt: skip
    hosp, cost = simulate_outcomes(pop, seed * 1000 + year)
    out = []
    for i in np.flatnonzero(hosp):
        m = members[int(i)]
        day = date(year, 1, 1) + timedelta(days=int(rng.integers(0, 358)))
        own = [c for c in ("hypertension", "diabetes", "ckd") if c in m.conditions]
        icd = (
            {"hypertension": "I10", "diabetes": "E11", "ckd": "N18"}[own[0]]
            if own and rng.random() < 0.5
            else str(rng.choice(["S72.0", "J18.9", "K80.2"]))
        )
        stay = timedelta(days=int(rng.integers(3, 15)))
        out.append((f"sim-{year}-{m.member_id}", m.member_id, day, day + stay, float(cost[i]), icd))
    return out
