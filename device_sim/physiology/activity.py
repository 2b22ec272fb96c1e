"""Steps by hour with weekday/weekend rhythms, and active minutes consistent with cadence.

Daily volume: a member's habitual steps fall with age (Tudor-Locke et al., IJBNPA 2011:
healthy older adults 2,000-9,000 steps/day; Chinese urban adults average ~6,000-8,000 on
phone pedometers, Althoff et al., Nature 2017), times a day-to-day log-normal factor.
Shape: working-age members commute (07-09, 17-19) on weekdays and go out late morning and
afternoon at weekends; retired members walk early (06-08, markets and parks) and in the
evening (square dancing, 19-21) every day.

Intensity follows cadence (CADENCE-Adults, Tudor-Locke et al. 2019): a minute at >= 100
steps/min is moderate, >= 130 vigorous. Each hour splits its steps into brisk walking at
the member's brisk cadence and slow pottering; active minutes are the brisk steps divided
by that cadence, so they can never exceed what the step count allows. A few members run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np

from device_sim.clock import DAY_S, local_midnight, weekday
from device_sim.cohort import SimMember

MODERATE_CADENCE: Final = 100  # steps/min, CADENCE-Adults (docs/clinical.md, "Activity")
VIGOROUS_CADENCE: Final = 130
MAX_WALKING_STEPS_PER_HOUR: Final = 7000


def _profile(peaks: list[tuple[float, float, float]], awake: tuple[int, int]) -> np.ndarray:
    h = np.arange(24) + 0.5
    w = np.full(24, 0.02)
    for centre, width, weight in peaks:
        w += weight * np.exp(-0.5 * ((h - centre) / width) ** 2)
    w[(h < awake[0]) | (h > awake[1])] = 0.002
    out: np.ndarray = w / w.sum()
    return out


# Hourly shares of the day's steps (ASSUMED shapes, see module docstring).
WORKER_WEEKDAY: Final = _profile(
    [(7.8, 0.7, 1.0), (12.3, 0.6, 0.6), (17.9, 0.8, 1.0), (20.0, 1.0, 0.4)], (6, 23)
)
WORKER_WEEKEND: Final = _profile([(10.5, 1.5, 0.8), (15.5, 2.0, 0.9), (19.8, 1.0, 0.4)], (7, 24))
RETIREE: Final = _profile(
    [(6.8, 0.9, 1.0), (9.8, 1.0, 0.5), (16.0, 1.2, 0.5), (19.8, 0.8, 0.8)], (5, 22)
)
RETIREMENT_AGE: Final = 60  # Chinese statutory retirement 50-60 (2025 reform raises it slowly)
DRIFT_PER_30D: Final = {"improving": 0.025, "stable": 0.0, "worsening": -0.02}


@dataclass(frozen=True)
class ActivitySeries:
    t: np.ndarray  # hour start, epoch seconds
    steps: np.ndarray
    active_min: np.ndarray
    vig_min: np.ndarray
    hr: np.ndarray


def habitual_steps(member: SimMember, rng: np.random.Generator) -> float:
    base = 7800 * (1 - 0.012 * max(0, member.age - 50))
    if member.conditions:
        base *= 0.9
    return float(base * rng.lognormal(0, 0.35))


def hourly(member: SimMember, start: date, days: int, *, stream: int = 0) -> ActivitySeries:
    """One reading per worn hour (``dur`` 3600 s), vectorised over days x hours."""
    trait = np.random.default_rng([member.seed, 6])
    rng = np.random.default_rng([member.seed, 7, stream])
    daily = habitual_steps(member, trait)
    brisk_share = trait.beta(2, 4)
    retired = member.age >= RETIREMENT_AGE
    cadence = trait.normal(102 if retired else 108, 5)
    runner = (not retired) and trait.random() < 0.06
    rest_hr = trait.normal(72, 7)

    d = np.arange(days)
    weekend = weekday(start, d) >= 5
    if retired:
        shape = np.broadcast_to(RETIREE, (days, 24))
        day_factor = np.ones(days)
    else:
        shape = np.where(weekend[:, None], WORKER_WEEKEND[None, :], WORKER_WEEKDAY[None, :])
        day_factor = np.where(weekend, 0.85, 1.0)
    drift = 1 + DRIFT_PER_30D[member.trajectory] / 30 * d
    mean_day = daily * day_factor * drift * rng.lognormal(0, 0.3, days)
    mean_h = mean_day[:, None] * shape
    # Over-dispersed hourly counts: a gamma-Poisson (negative binomial) with shape 2.
    steps = rng.poisson(rng.gamma(2.0, mean_h / 2.0)).astype(np.int64)
    # An hour of walking is at most ~7,000 steps (60 min at ~117/min); the gamma tail must
    # not invent more (the ingestor rightly rejects > 300 steps/min).
    steps = np.minimum(steps, MAX_WALKING_STEPS_PER_HOUR)

    brisk = steps * np.clip(brisk_share * rng.uniform(0.5, 1.5, steps.shape), 0, 1)
    active = np.where(cadence >= MODERATE_CADENCE, np.floor(brisk / cadence), 0).astype(np.int64)
    vig = np.zeros_like(active)
    if runner:
        run_days = np.nonzero(rng.random(days) < 0.35)[0]
        run_hour = rng.choice([6, 7, 19, 20], size=run_days.size)
        run_min = rng.integers(20, 41, run_days.size)
        run_cad = rng.normal(155, 8, run_days.size).clip(VIGOROUS_CADENCE + 5, 180)
        steps[run_days, run_hour] += (run_min * run_cad).astype(np.int64)
        vig[run_days, run_hour] = run_min
        active[run_days, run_hour] += run_min
    active = np.minimum(active, 60)
    vig = np.minimum(vig, active)

    worn_day = rng.random(days) < 0.6 + 0.35 * member.adherence
    night_wear = trait.random() < 0.3  # some sleep with the band on
    hours = np.arange(24)
    worn_hour = (hours >= 7) & (hours <= 22)
    if night_wear:
        worn_hour = np.ones(24, dtype=bool)
    worn = worn_day[:, None] & worn_hour[None, :]
    hr = rest_hr + 0.6 * active + steps / 400 + rng.normal(0, 3, steps.shape)
    hr = np.where(hours[None, :] < 6, hr - 8, hr)
    t = local_midnight(start) + d[:, None] * DAY_S + hours[None, :] * 3600
    return ActivitySeries(
        t=t[worn].astype(np.int64),
        steps=steps[worn],
        active_min=active[worn],
        vig_min=vig[worn],
        hr=np.clip(np.rint(hr[worn]), 40, 190).astype(np.int64),
    )
