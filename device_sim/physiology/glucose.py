"""Glucose: a 5-minute physiological trace, read by a CGM or by a fingerstick meter.

The trace (mg/dL internally, converted per device) of a person with type 2 diabetes is::

    G = fasting + dawn(h) + sum(meal responses) + slow wander, then hypoglycaemia dips

* meals: breakfast, lunch, dinner and sometimes an afternoon snack; each response rises
  to a peak ~1 h after eating and returns over ~3-4 h (``A·(t/τ)·e^(1−t/τ)``), slower and
  larger than in people without diabetes;
* dawn phenomenon: a pre-breakfast rise of ~20 mg/dL peaking around 07:00 (Monnier et al.,
  Diabetes Care 2013: ~0.8-1.1 mmol/L in non-insulin-treated type 2 diabetes);
* hypoglycaemia: occasional dips below 70 mg/dL (mostly nocturnal), far more often in
  members on insulin or sulfonylureas;
* drift by trajectory: excursions above 80 mg/dL shrink or grow a little each month.

The CGM samples the trace every 5 minutes with sensor error (MARD ~9-10 % for current
sensors) and gaps (warm-up after the 14-day sensor change, signal loss, days off). It
reports "LO" below 40 and "HI" above 400 mg/dL (2.2 / 22.2 mmol/L), the display range of
common sensors. A meter samples the same trace at chosen moments with ISO 15197 error
(95 % within ±15 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np

from core.units import MG_DL, MGDL_PER_MMOLL, GlucoseUnit
from device_sim.clock import DAY_S, local_midnight
from device_sim.cohort import SimMember

STEP_S: Final = 300  # CGM sampling interval (Battelino 2019 consensus assumes 5-15 min)
PER_DAY: Final = DAY_S // STEP_S
CGM_LO_MGDL: Final = 40.0
CGM_HI_MGDL: Final = 400.0
# ASSUMED distributions for members with type 2 diabetes (home values, mg/dL).
FASTING_MGDL: Final = (135.0, 25.0)  # CDS fasting target 4.4-7.0 mmol/L = 79-126 mg/dL
MEAL_PEAK_MGDL: Final = (75.0, 20.0)
DAWN_MGDL: Final = (18.0, 8.0)  # Monnier 2013
HYPO_PER_DAY: Final = {"over_treated": 1.0, "prone": 0.2, "other": 0.02}  # ASSUMED rates
OVER_TREATED_NADIR_MGDL: Final = (38.0, 55.0)  # ASSUMED: their lows reach level 2
DRIFT_PER_30D: Final = {"improving": -0.02, "stable": 0.0, "worsening": 0.015}
SENSOR_DAYS: Final = 14
MEALS: Final = (
    ("breakfast", 7.25, 0.5, 1.1),
    ("lunch", 12.0, 0.5, 1.0),
    ("dinner", 18.5, 0.6, 1.0),
)


@dataclass(frozen=True)
class GlucoseSeries:
    t: np.ndarray  # epoch seconds
    mgdl: np.ndarray  # float; NaN never appears (gaps are absent rows)
    meal: list[str | None]


@dataclass(frozen=True)
class DayTrace:
    """The true glucose on a 5-minute grid: ``mgdl[day, slot]``, plus meal times (hours)."""

    day0: int
    mgdl: np.ndarray
    meal_hours: np.ndarray  # (days, 3): breakfast, lunch, dinner


def trace(member: SimMember, start: date, days: int) -> DayTrace:
    rng = np.random.default_rng([member.seed, 3])
    diabetic = "diabetes" in member.conditions
    fasting = float(np.clip(rng.normal(*FASTING_MGDL), 95, 230)) if diabetic else 92.0
    peak = float(np.clip(rng.normal(*MEAL_PEAK_MGDL), 25, 130)) if diabetic else 35.0
    tau_h = float(rng.uniform(0.9, 1.25)) if diabetic else 0.75
    dawn = float(np.clip(rng.normal(*DAWN_MGDL), 0, 40)) if diabetic else 5.0
    hour = np.arange(PER_DAY) * STEP_S / 3600.0
    g = np.full((days, PER_DAY), fasting)
    g += dawn * np.exp(-0.5 * ((hour - 7.0) / 1.6) ** 2)[None, :]
    meal_hours = np.empty((days, 3))
    for k, (_, centre, sd, scale) in enumerate(MEALS):
        at = centre + rng.normal(0, sd, days)
        amp = peak * scale * rng.lognormal(0, 0.35, days)
        meal_hours[:, k] = at
        g += _response(hour, at, amp, tau_h)
    snack = rng.random(days) < 0.3
    g += _response(hour, np.full(days, 15.5), np.where(snack, 0.35 * peak, 0.0), tau_h)
    # Slow physiological wander: AR(1) over 5-minute steps, stationary SD 16 mg/dL.
    phi, wander_sd = 0.97, 16.0
    flat = np.empty(days * PER_DAY)
    shocks = rng.normal(0, wander_sd * np.sqrt(1 - phi**2), flat.size)
    flat[0] = rng.normal(0, wander_sd)
    for i in range(1, flat.size):  # a recurrence; ~35k steps per 120 days, cheap enough
        flat[i] = phi * flat[i - 1] + shocks[i]
    g += flat.reshape(days, PER_DAY)
    drift = 1 + DRIFT_PER_30D[member.trajectory] / 30 * np.arange(days)
    g = 80 + (g - 80) * drift[:, None]
    _hypos(
        g, rng, "over_treated" if member.over_treated else "prone" if member.hypo_prone else "other"
    )
    return DayTrace(day0=local_midnight(start), mgdl=np.clip(g, 30, 500), meal_hours=meal_hours)


def _response(hour: np.ndarray, at: np.ndarray, amp: np.ndarray, tau_h: float) -> np.ndarray:
    dt = np.clip(hour[None, :] - at[:, None], 0, None) / tau_h
    out: np.ndarray = amp[:, None] * dt * np.exp(1 - dt)
    return out


def _hypos(g: np.ndarray, rng: np.random.Generator, group: str) -> None:
    days = g.shape[0]
    rate = HYPO_PER_DAY[group]
    for d in np.flatnonzero(np.asarray(rng.random(days) < rate)).tolist():
        nocturnal = rng.random() < 0.6
        centre_h = rng.uniform(1.0, 4.0) if nocturnal else rng.uniform(16.0, 17.5)
        c = int(centre_h * 3600 // STEP_S)
        nadir = (
            rng.uniform(*OVER_TREATED_NADIR_MGDL)
            if group == "over_treated"
            else rng.uniform(45, 66)
        )
        # slots (20-35 min SD): ~40-70 min below 70 mg/dL; over-treated lows last longer
        width = rng.uniform(6, 9) if group == "over_treated" else rng.uniform(4, 7)
        slots = np.arange(PER_DAY)
        depth = max(0.0, float(g[d, c]) - nadir)
        g[d] -= depth * np.exp(-0.5 * ((slots - c) / width) ** 2)


def cgm_readings(member: SimMember, tr: DayTrace, *, stream: int = 0) -> GlucoseSeries:
    """Every 5 minutes while the sensor is worn and working."""
    rng = np.random.default_rng([member.seed, 4, stream])
    days = tr.mgdl.shape[0]
    ok = np.ones((days, PER_DAY), dtype=bool)
    ok[rng.random(days) < 0.1 * (1 - member.adherence) + 0.01] = False  # days off
    first_change = int(rng.integers(0, SENSOR_DAYS))
    for d in range(first_change, days, SENSOR_DAYS):  # 1-hour warm-up after a change
        start_slot = int(rng.integers(PER_DAY // 3, PER_DAY * 5 // 6))
        ok[d, start_slot : start_slot + 12] = False
    for day in np.flatnonzero(np.asarray(rng.random(days) < 0.15)).tolist():  # signal loss
        s = int(rng.integers(0, PER_DAY))
        ok[day, s : s + int(rng.integers(4, 30))] = False
    sensor_bias = rng.normal(0, 0.05, days // SENSOR_DAYS + 2)[
        (np.arange(days) + SENSOR_DAYS - first_change) // SENSOR_DAYS
    ]
    true = tr.mgdl * (1 + sensor_bias[:, None])
    measured = true * (1 + rng.normal(0, 0.04, true.shape)) + rng.normal(0, 4, true.shape)
    slot_t = (
        tr.day0
        + np.arange(days)[:, None] * DAY_S
        + np.arange(PER_DAY)[None, :] * STEP_S
        + int(rng.integers(0, STEP_S))
    )
    return GlucoseSeries(t=slot_t[ok], mgdl=measured[ok], meal=[])


def meter_readings(member: SimMember, tr: DayTrace, *, stream: int = 0) -> GlucoseSeries:
    """Fingersticks: fasting before breakfast, two hours after a meal, before dinner."""
    rng = np.random.default_rng([member.seed, 5, stream])
    days = tr.mgdl.shape[0]
    a = member.adherence
    rows: list[tuple[int, str]] = []
    for d in range(days):
        base = tr.day0 + d * DAY_S
        bfast, _, dinner = tr.meal_hours[d]
        if rng.random() < 0.75 * a:
            rows.append((base + int((bfast - rng.uniform(0.2, 0.6)) * 3600), "fasting"))
        if rng.random() < 0.4 * a:
            k = int(rng.integers(0, 3))
            label = ("after_breakfast", "after_lunch", "after_dinner")[k]
            rows.append((base + int((tr.meal_hours[d, k] + 2.0) * 3600), label))
        if rng.random() < 0.12 * a:
            rows.append((base + int((dinner - rng.uniform(0.2, 0.5)) * 3600), "before_dinner"))
    t = np.array([r[0] for r in rows], dtype=np.int64)
    slot = np.clip((t - tr.day0) // STEP_S, 0, tr.mgdl.size - 1)
    true = tr.mgdl.ravel()[slot]
    # ISO 15197:2013: 95 % within ±15 % (±15 mg/dL below 100): SD ~7.5 % / 7.5 mg/dL.
    err = np.where(true < 100, rng.normal(0, 7.5, t.size), true * rng.normal(0, 0.075, t.size))
    order = np.argsort(t, kind="stable")
    return GlucoseSeries(
        t=t[order], mgdl=(true + err)[order], meal=[rows[i][1] for i in order.tolist()]
    )


def render(mgdl: np.ndarray, unit: GlucoseUnit) -> list[float | str]:
    """Device display values: LO/HI outside the range, mg/dL whole, mmol/L one decimal."""
    out: list[float | str] = []
    if unit == MG_DL:
        vals = np.rint(mgdl)
        scale = 1.0
    else:
        vals = np.round(mgdl / MGDL_PER_MMOLL, 1)
        scale = MGDL_PER_MMOLL
    lo, hi = CGM_LO_MGDL / scale, CGM_HI_MGDL / scale
    for v in vals.tolist():
        out.append("LO" if v < lo else "HI" if v > hi else (int(v) if scale == 1.0 else v))
    return out
