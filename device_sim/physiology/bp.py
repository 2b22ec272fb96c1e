"""Home blood pressure: circadian rhythm, medication, drift, noise and the home protocol.

The model of one member's systolic pressure at local hour ``h`` on day ``d``::

    SBP = base - med(h) + drift(d) + day_effect(d) + surge(h) - dip(h) + reading_noise

* ``base``: the member's untreated awake home level.
* ``med(h)``: antihypertensive effect, weaker at the morning trough (before the dose).
* ``surge(h)``: the morning rise around waking (peak ~07:30), the reason guidelines ask
  for a morning reading before medication.
* ``dip(h)``: the nocturnal fall (only visible to devices that measure at night: the
  cuffless watch; home cuffs measure morning and evening).
* ``day_effect``: day-to-day variability; ``reading_noise``: within-session variability,
  with the first of two readings a little higher (the alerting reaction).

Home protocol (ESH 2021; Chinese home BP monitoring guideline 2019; docs/clinical.md,
"Blood pressure"): seated, morning before medication and breakfast and evening before
dinner, two readings one minute apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np

from device_sim.clock import DAY_S, local_midnight, weekday
from device_sim.cohort import SimMember

# Morning minus evening home SBP ~5-8 mmHg in treated patients (J-HOME study, Ishikawa et
# al., Am J Hypertens 2007; Kario, Hypertension 2010 on the morning surge). ASSUMED N(6, 4).
MORNING_SURGE_MMHG: Final = (6.0, 4.0)
# Nocturnal dip: dippers fall 10-20 % at night (O'Brien, Lancet 1988; ESH 2021 ABPM).
NIGHT_DIP_FRACTION: Final = (0.10, 0.05)
# One standard-dose drug lowers BP ~9/5.5 mmHg; two drugs roughly add (Law et al., BMJ
# 2009;338:b1665). ASSUMED treated effect N(14, 4) systolic, diastolic 0.55 of it.
MED_EFFECT_SBP: Final = (14.0, 4.0)
MED_TROUGH_FRACTION: Final = 0.75  # trough-to-peak ratio >= 0.5 (FDA/EMA guidance); ASSUMED
# Home BP day-to-day SD ~6-9 mmHg systolic (Kikuya et al., Hypertension 2008, Ohasama).
DAY_SD_SBP: Final = {"hypertensive": 7.0, "normotensive": 5.0}
READING_SD: Final = (4.0, 3.0)  # within-session SD, systolic / diastolic (ASSUMED)
FIRST_READING_EXCESS: Final = 2.0  # first of a pair reads higher (alerting reaction)
# Trajectory drift, mmHg of systolic per 30 days (ASSUMED, a programme-sized effect).
DRIFT_SBP_PER_30D: Final = {"improving": -1.5, "stable": 0.0, "worsening": 1.2}

_NIGHT_W: Final = np.array(
    [1, 1, 1, 1, 1, 0.8, 0.4, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3, 0.7, 1.0]
)


@dataclass(frozen=True)
class BPParams:
    sbp: float
    dbp: float
    med_sbp: float
    surge: float
    dip: float
    day_sd: float
    pulse: float
    drift_per_day: float
    morning_hour: float
    evening_hour: float


@dataclass(frozen=True)
class BPSeries:
    t: np.ndarray  # epoch seconds
    sys: np.ndarray
    dia: np.ndarray
    pulse: np.ndarray


def params(member: SimMember, rng: np.random.Generator) -> BPParams:
    age = member.age
    if "hypertension" in member.conditions:
        sbp = float(np.clip(rng.normal(146 + 0.25 * (age - 55), 11), 132, 185))
        # Diastolic falls with age in hypertension (isolated systolic hypertension).
        dbp = float(np.clip(rng.normal(92 - 0.2 * (age - 55), 8), 78, 115))
        day_sd = DAY_SD_SBP["hypertensive"]
        drift = DRIFT_SBP_PER_30D[member.trajectory] / 30
    else:
        sbp = float(np.clip(rng.normal(116 + 0.35 * (age - 40), 9), 95, 134))
        dbp = float(np.clip(rng.normal(74 + 0.1 * (age - 40), 6), 58, 84))
        day_sd = DAY_SD_SBP["normotensive"]
        drift = 0.3 * DRIFT_SBP_PER_30D[member.trajectory] / 30
    med = float(np.clip(rng.normal(*MED_EFFECT_SBP), 5, 25)) if member.treated else 0.0
    return BPParams(
        sbp=sbp,
        dbp=dbp,
        med_sbp=med,
        surge=float(np.clip(rng.normal(*MORNING_SURGE_MMHG), -2, 18)),
        dip=float(np.clip(rng.normal(*NIGHT_DIP_FRACTION), -0.05, 0.25)),
        day_sd=day_sd,
        pulse=float(np.clip(rng.normal(72, 8), 52, 100)),
        drift_per_day=drift,
        morning_hour=float(np.clip(rng.normal(7.0, 0.5), 5.5, 8.5)),
        evening_hour=float(np.clip(rng.normal(18.5, 0.5), 17.0, 20.5)),
    )


def _circadian(p: BPParams, hour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(systolic offset, diastolic offset) at local ``hour``, medication included."""
    morning = np.exp(-0.5 * ((hour - 7.5) / 1.5) ** 2)
    night = np.interp(hour, np.arange(25), _NIGHT_W)
    med = p.med_sbp * (1 - (1 - MED_TROUGH_FRACTION) * morning)
    sys_off = p.surge * morning - p.dip * p.sbp * night - med
    dia_off = 0.5 * p.surge * morning - p.dip * p.dbp * night - 0.55 * med
    return sys_off, dia_off


def _values(
    p: BPParams, rng: np.random.Generator, t: np.ndarray, day: np.ndarray, day0: int
) -> tuple[np.ndarray, np.ndarray]:
    n_days = int(day.max()) + 1 if day.size else 0
    day_sys = rng.normal(0, p.day_sd, n_days)
    day_dia = 0.6 * day_sys * (p.dbp / p.sbp) + rng.normal(0, 0.4 * p.day_sd, n_days)
    hour = ((t - day0) % DAY_S) / 3600.0
    s_off, d_off = _circadian(p, hour)
    drift = p.drift_per_day * day
    sys_ = p.sbp + s_off + drift + day_sys[day] + rng.normal(0, READING_SD[0], t.size)
    dia = p.dbp + d_off + 0.5 * drift + day_dia[day] + rng.normal(0, READING_SD[1], t.size)
    return sys_, dia


def home_readings(member: SimMember, start: date, days: int, *, stream: int = 0) -> BPSeries:
    """Morning and evening sessions of two readings, taken on adherent days."""
    rng = np.random.default_rng([member.seed, 1, stream])
    p = params(member, np.random.default_rng([member.seed, 1]))
    day0 = local_midnight(start)
    d = np.arange(days)
    weekend = weekday(start, d) >= 5
    take_m = rng.random(days) < member.adherence * np.where(weekend, 0.9, 1.0)
    take_e = rng.random(days) < member.adherence * 0.8
    m_time = p.morning_hour + rng.normal(0, 0.33, days)
    e_time = p.evening_hour + rng.normal(0, 0.4, days)
    session_day = np.concatenate([d[take_m], d[take_e]])
    session_hour = np.concatenate([m_time[take_m], e_time[take_e]])
    order = np.argsort(session_day * 24 + session_hour, kind="stable")
    session_day, session_hour = session_day[order], session_hour[order]
    first = day0 + session_day * DAY_S + (session_hour * 3600).astype(np.int64)
    second = first + 60 + rng.integers(0, 16, first.size)  # "1 minute apart"
    t = np.stack([first, second], axis=1).ravel()
    day = np.repeat(session_day, 2)
    sys_, dia = _values(p, rng, t, day, day0)
    sys_[0::2] += FIRST_READING_EXCESS
    dia[0::2] += FIRST_READING_EXCESS / 2
    return _finish(p, rng, t, sys_, dia)


def cuffless_readings(member: SimMember, start: date, days: int, *, stream: int = 0) -> BPSeries:
    """A smartwatch estimating BP every 30 minutes, night included, with its own bias.

    ESH 2022: cuffless devices are not validated for management; their error is large and
    drifts, modelled as a per-device bias plus wide noise.
    """
    rng = np.random.default_rng([member.seed, 2, stream])
    p = params(member, np.random.default_rng([member.seed, 1]))
    day0 = local_midnight(start)
    worn = rng.random(days) < 0.6 + 0.35 * member.adherence
    slots = np.arange(48) * 1800
    d = np.nonzero(worn)[0]
    t = (day0 + d[:, None] * DAY_S + slots[None, :]).ravel() + rng.integers(0, 120, d.size * 48)
    day = np.repeat(d, 48)
    sys_, dia = _values(p, rng, t, day, day0)
    bias = rng.normal(0, 8)
    sys_ = sys_ + bias + rng.normal(0, 6, t.size)
    dia = dia + 0.5 * bias + rng.normal(0, 4, t.size)
    return _finish(p, rng, t, sys_, dia)


def _finish(
    p: BPParams, rng: np.random.Generator, t: np.ndarray, sys_: np.ndarray, dia: np.ndarray
) -> BPSeries:
    sys_i = np.clip(np.rint(sys_), 70, 260).astype(np.int64)
    dia_i = np.clip(np.rint(dia), 40, 150).astype(np.int64)
    dia_i = np.minimum(dia_i, sys_i - 15)  # pulse pressure stays physiological
    pulse = np.clip(np.rint(p.pulse + rng.normal(0, 4, t.size)), 40, 140).astype(np.int64)
    return BPSeries(t=t.astype(np.int64), sys=sys_i, dia=dia_i, pulse=pulse)
