"""Explicit integrity rules: each has a threshold, the physiology behind it, and evidence.

The thresholds are deliberately far from ordinary variation; they are measured against
clean simulated members (false-positive rate in docs/models.md) and every hit is held for
review by a person, never acted on automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scoring.integrity.features import ActivityDay, BpWeek

# Step counts of free-living walking vary hour to hour: in CADENCE-Adults (Tudor-Locke et
# al., IJBNPA 2019) free-living cadence bands are wide and hourly totals depend on how long
# one walks. A "phone shaker" (a device on a swinging or motorised cradle) produces nearly
# identical counts hour after hour. Decision: >= 6 active hours with a coefficient of
# variation below 5 %, or half of them exactly equal, on a day of >= 3,000 steps.
MACHINE_CV = 0.05
MACHINE_SAME_SHARE = 0.5
MACHINE_MIN_ACTIVE = 6
MACHINE_MIN_STEPS = 3000.0
# Walking raises heart rate (~+10-30 bpm at moderate cadence); steps with a flat heart rate
# are not the wearer walking. Decision: >= 6 hours with heart rate, >= 5,000 steps, heart-
# rate SD < 1.5 bpm across the day's hours and no positive association (r < 0.1) with steps.
# (2.5 bpm flagged 8 % of clean simulated members: hourly means of a resting heart rate
# alone vary by ~2-3 bpm.)
FLAT_HR_SD = 1.5
FLAT_HR_CORR = 0.1
FLAT_HR_MIN_STEPS = 5000.0
# Home BP varies reading to reading: within-person SD of home systolic readings is typically
# 5-10 mmHg (Stergiou et al., Hypertension 2016, home BP variability; Juhanoja et al. 2017).
# Decision: a week of >= 5 readings with SD < 1 mmHg, or half of them identical to the one
# before (systolic, diastolic and pulse), is a copied series.
COPY_MIN_N = 5
COPY_MAX_SD = 1.0
COPY_IDENTICAL_SHARE = 0.5
# Two people on one cuff: the week's systolic readings split into two groups (each >= 30 %)
# separated by >= 25 mmHg, far beyond one person's day-to-day spread. >= 8 readings.
SPLIT_MIN_N = 8
SPLIT_GAP_MMHG = 25.0
# A validated cuff needs ~1 minute between readings (ESH protocol: 2 readings 1 minute apart,
# twice a day). More than 6 in one clock hour is not a home measurement.
MAX_BP_PER_HOUR = 6


@dataclass(frozen=True)
class Hit:
    kind: str
    first_day: int
    last_day: int
    evidence: dict[str, Any]


def _machine_regular(d: ActivityDay) -> bool:
    """A day of nearly identical hourly step counts (the phone-shaker rule above)."""
    return (
        d.n_active >= MACHINE_MIN_ACTIVE
        and d.total_steps >= MACHINE_MIN_STEPS
        and (d.cadence_cv < MACHINE_CV or d.same_share >= MACHINE_SAME_SHARE)
    )


def _flat_heart_rate(d: ActivityDay) -> bool:
    """A day of many steps with a flat heart rate unrelated to them (the rule above)."""
    return (
        d.n_hr >= MACHINE_MIN_ACTIVE
        and d.total_steps >= FLAT_HR_MIN_STEPS
        and d.hr_sd == d.hr_sd
        and d.hr_sd < FLAT_HR_SD
        and not (d.hr_steps_corr == d.hr_steps_corr and d.hr_steps_corr >= FLAT_HR_CORR)
    )


def _day_hit(
    kind: str, days: list[ActivityDay], example: Callable[[ActivityDay], dict[str, Any]]
) -> Hit:
    """One hit over the days a rule flagged: their span, count and up to five examples."""
    return Hit(
        kind,
        min(d.day for d in days),
        max(d.day for d in days),
        {"days": len(days), "examples": [example(d) for d in days[:5]]},
    )


def activity_hits(days: list[ActivityDay]) -> list[Hit]:
    out: list[Hit] = []
    machine = [d for d in days if _machine_regular(d)]
    if machine:
        out.append(
            _day_hit(
                "machine_regular_steps",
                machine,
                lambda d: {
                    "day": d.day,
                    "steps": d.total_steps,
                    "cadence_cv": round(d.cadence_cv, 4),
                    "same_share": round(d.same_share, 3),
                },
            )
        )
    flat = [d for d in days if _flat_heart_rate(d)]
    if flat:
        out.append(
            _day_hit(
                "steps_without_heart_rate_response",
                flat,
                lambda d: {"day": d.day, "steps": d.total_steps, "hr_sd": round(d.hr_sd, 2)},
            )
        )
    return out


def bp_hits(weeks: list[BpWeek]) -> list[Hit]:
    out: list[Hit] = []
    rules: tuple[tuple[str, Callable[[BpWeek], bool]], ...] = (
        (
            "copied_bp_series",
            lambda w: (
                w.n >= COPY_MIN_N
                and (
                    (w.sd_sys == w.sd_sys and w.sd_sys < COPY_MAX_SD)
                    or w.identical_share >= COPY_IDENTICAL_SHARE
                )
            ),
        ),
        ("two_people_one_cuff", lambda w: w.n >= SPLIT_MIN_N and w.split_gap >= SPLIT_GAP_MMHG),
        ("impossible_reading_rate", lambda w: w.max_per_hour > MAX_BP_PER_HOUR),
    )
    for kind, test in rules:
        hit = [w for w in weeks if test(w)]
        if hit:
            out.append(
                Hit(
                    kind,
                    min(w.week for w in hit) * 7 - 3,
                    max(w.week for w in hit) * 7 + 3,
                    {
                        "weeks": len(hit),
                        "examples": [
                            {
                                "n": w.n,
                                "sd_sys": None if w.sd_sys != w.sd_sys else round(w.sd_sys, 2),
                                "identical_share": round(w.identical_share, 3),
                                "split_gap": w.split_gap,
                                "max_per_hour": w.max_per_hour,
                            }
                            for w in hit[:5]
                        ],
                    },
                )
            )
    return out
