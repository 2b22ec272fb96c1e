"""Every clinical threshold, duration, target, sufficiency rule and event rule, defined once.

Why one module: the per-member reference definitions, the many-member (columnar) paths,
the alerts and the composite all classify the same readings; a threshold written in two
places can drift apart in one. Each constant cites its published source next to it and
the section of ``docs/clinical.md`` that explains it; where sources leave a choice open,
the comment says "Decision". Values are in the unit the device reported: glucose is
compared against the edges of its own unit (mg/dL or mmol/L), never after conversion
(docs/clinical.md, "Glucose units"), blood pressure in mmHg.

The glucose run, event and alert rules are functions here too, so that a change of rule
is one change: :func:`glucose_runs` splits readings into runs, :func:`glucose_events`
counts events over those runs (the reference ``cgm.count_events``, the columnar
``cgm.cgm_many``) and :func:`level2_alert_rows` picks the readings that raise a level-2
hypoglycaemia alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple, overload

import numpy as np
import numpy.typing as npt

DAY_S: Final = 86_400  # seconds in a day (local days: each reading's own UTC offset)

# --- Glucose bands (docs/clinical.md, "Glucose units" and "CGM") ---------------------------
# International Consensus on Time in Range (Battelino et al., Diabetes Care 2019): very low
# < 54 mg/dL / 3.0 mmol/L (level-2 hypoglycaemia), low < 70 / 3.9 (level 1), in range
# 70-180 / 3.9-10.0 closed at both ends, high > 180 / 10.0 (level 1), very high > 250 /
# 13.9 (level 2). TITR upper edge 140 mg/dL / 7.8 mmol/L (Battelino et al., Lancet Diabetes
# Endocrinol 2023). ADA Standards of Care 2025 and the International Hypoglycaemia Study
# Group use the same hypoglycaemia levels for fingersticks ("Fingerstick glucose").
HYPO_L2_MGDL: Final = 54.0
HYPO_L1_MGDL: Final = 70.0
TITR_HIGH_MGDL: Final = 140.0
HYPER_L1_MGDL: Final = 180.0
HYPER_L2_MGDL: Final = 250.0
HYPO_L2_MMOL: Final = 3.0
HYPO_L1_MMOL: Final = 3.9
TITR_HIGH_MMOL: Final = 7.8
HYPER_L1_MMOL: Final = 10.0
HYPER_L2_MMOL: Final = 13.9
MGDL_EDGES: Final[tuple[float, float, float, float, float]] = (
    HYPO_L2_MGDL, HYPO_L1_MGDL, TITR_HIGH_MGDL, HYPER_L1_MGDL, HYPER_L2_MGDL,
)  # fmt: skip
MMOL_EDGES: Final[tuple[float, float, float, float, float]] = (
    HYPO_L2_MMOL, HYPO_L1_MMOL, TITR_HIGH_MMOL, HYPER_L1_MMOL, HYPER_L2_MMOL,
)  # fmt: skip
# The stored band names, in the order of docs/clinical.md's table.
BANDS: Final = ("tbr54", "tbr70", "titr", "tir", "tar180", "tar250")

# --- CGM (docs/clinical.md, "CGM") ----------------------------------------------------------
# Reporting period and sufficiency: 14 days with >= 70 % of possible readings (Battelino et
# al., Diabetes Care 2019, "Clinical targets for CGM data interpretation": 14 days reflect
# 3 months). Scoring reports CGM over the last 14 days of a window.
CGM_DAYS: Final = 14
CGM_MIN_WINDOW_S: Final = CGM_DAYS * DAY_S
CGM_MIN_ACTIVE_PCT: Final = 70.0
# Active percent and every duration use the sensor's NOMINAL sampling interval, from the
# device-model registry (migration 0060, ``device_models``), never the member's own median
# interval: with that, one reading a day "expected" one a day and reported 100 % active.
# A model the registry does not know counts as 5 minutes, the shortest common CGM interval
# (consensus 2019 assumes 5-15 min), which expects the most readings: the conservative
# choice. A reading stands for at most one nominal interval in any duration.
CGM_NOMINAL_INTERVAL_S: Final = 300
# Consensus targets (Battelino 2019): time in range > 70 % (> 50 % for older / high-risk
# adults); time below 70 mg/dL < 4 % (< 1 % for older / high-risk adults); time below
# 54 mg/dL < 1 %. Glucose is controlled only when all three hold: over-treatment that buys
# time in range with hypoglycaemia is not control (docs/clinical.md, "Glucose control").
TIR_TARGET_PCT: Final = 70.0
TIR_TARGET_OLDER_PCT: Final = 50.0
TBR70_LIMIT_PCT: Final = 4.0
TBR70_LIMIT_OLDER_PCT: Final = 1.0
TBR54_LIMIT_PCT: Final = 1.0
# Decision: attainment of glucose control rises linearly over the 30 TIR points below the
# target (40 -> 70 %, 20 -> 50 % when older), so progress counts before the target is met.
TIR_RAMP_PCT: Final = 30.0
# Decision: fingerstick-only diabetes is controlled with >= 70 % of fasting checks in the CDS
# target (4.4-7.0 mmol/L) and no level-2 low; 70 % mirrors the CGM time-in-range target.
SMBG_CONTROLLED_PCT: Final = 70.0
# Decision: "older / high-risk" for the CGM targets is age >= 65 on the window's last day
# (the consensus names no age; 65 is the ADA 2025 "older adults" section's threshold).
CGM_OLDER_AGE: Final = 65
# Events (Battelino et al., Lancet Diabetes Endocrinol 2023, CGM metrics for clinical
# trials): >= 15 consecutive minutes beyond the threshold starts an event, >= 15
# consecutive minutes back inside ends it. Level-1 thresholds, compared in the reading's
# own unit: hypo < 70 mg/dL / < 3.9 mmol/L, hyper > 180 mg/dL / > 10.0 mmol/L (iglu's
# episode_calculation defaults lv1_hypo = 70, lv1_hyper = 180).
EVENT_MIN_S: Final = 15 * 60
EVENT_END_S: Final = 15 * 60
# Extended hypoglycaemia (Battelino 2023): > 120 consecutive minutes below 70 mg/dL /
# 3.9 mmol/L, ending after >= 15 minutes at or above it. Level-2 events: >= 15 minutes
# below 54 mg/dL / 3.0 mmol/L. A single reading is never an event, whatever the interval.
EXTENDED_HYPO_S: Final = 120 * 60
EVENT_MIN_READINGS: Final = 2
# "Consecutive" minutes: a reading more than 1.5 nominal intervals after the previous one
# (one reading or more missing) breaks the consecutive stretch an event needs to start.
# Decision: 1.5 tolerates the seconds of jitter real sensors show and nothing more.
CONSECUTIVE_TOLERANCE: Final = 1.5
EVENT_HYPO_MGDL, EVENT_HYPO_MMOL = HYPO_L1_MGDL, HYPO_L1_MMOL
EVENT_HYPER_MGDL, EVENT_HYPER_MMOL = HYPER_L1_MGDL, HYPER_L1_MMOL
# Decision: no interpolation across gaps longer than 45 minutes (iglu's inter_gap
# default): such a gap ends any run, in or out of range, and so any event or alert run.
MAX_GAP_S: Final = 45 * 60
# GMI % = 3.31 + 0.02392 x mean mg/dL (Bergenstal et al., Diabetes Care 2018).
GMI_INTERCEPT: Final = 3.31
GMI_SLOPE: Final = 0.02392
# Glycemia Risk Index (Klonoff et al., J Diabetes Sci Technol 2023 [online 2022]):
# 3.0 VLow + 2.4 Low + 1.6 VHigh + 0.8 High, in %, capped at 100; zones by 20-point
# quintiles A..E (Decision: upper edge inclusive, so 20.0 is A and 20.1 is B).
GRI_WEIGHTS: Final[tuple[float, float, float, float]] = (3.0, 2.4, 1.6, 0.8)
GRI_ZONES: Final[tuple[tuple[float, str], ...]] = (
    (20.0, "A"), (40.0, "B"), (60.0, "C"), (80.0, "D"),
)  # fmt: skip
# LBGI/HBGI (Kovatchev et al., Diabetes Care 1997/1998): f = 1.509 ((ln g)^1.084 - 5.381),
# g in mg/dL, risk r = 10 f^2, split by the sign of f.
BGI_A, BGI_B, BGI_C, BGI_R = 1.509, 1.084, 5.381, 10.0
# AGP (Johnson et al., Diabetes Technol Ther 2019; Battelino 2019): percentiles 5/25/50/75/95
# of glucose by time of day over 14 days. numpy's default "linear" percentile is R's type
# 7, the definition iglu's AGP uses.
AGP_PERCENTILES: Final[tuple[int, ...]] = (5, 25, 50, 75, 95)
# Decision: an AGP bin needs >= 5 readings (fewer cannot place a 5th/95th percentile apart
# from the extremes); it is drawn as a hole, not a guess.
AGP_MIN_READINGS: Final = 5
# Decision: censored LO/HI enter the AGP percentiles at the display limits of common
# sensors, 40 and 400 mg/dL (Dexcom G6/G7 and FreeStyle Libre report LO < 40, HI > 400;
# device_sim uses the same range). Dropping them would pull the outer percentiles toward
# the middle exactly when a member is most often out of range; 40/400 are bounds, so only
# percentiles whose rank falls among the censored readings are affected.
AGP_LO_MGDL: Final = 40.0
AGP_HI_MGDL: Final = 400.0

# --- Fingerstick glucose (docs/clinical.md, "Fingerstick glucose") -------------------------
# Meal classes from the Open mHealth temporal_relationship_to_meal values we store
# (core.payload_format.MEAL_CONTEXTS). Decision:
# * fasting/preprandial: "fasting", "before_breakfast" and the other pre-meal contexts; the
#   CDS 2020 guideline and ADA 2025 set one preprandial target (4.4-7.0 mmol/L; ADA
#   80-130 mg/dL) for fasting and before-meal checks alike;
# * non-fasting ("postprandial" in the stored contract): the after-meal contexts,
#   "2_hours_postprandial", "not_fasting" and "before_sleep" (a bedtime check is 2-4 h after
#   dinner, a non-fasting value; CDS sets one non-fasting target < 10.0 mmol/L for any
#   non-fasting check);
# * no context: counted in ``n_readings`` and hypoglycaemia, not in either target share.
FASTING_CONTEXTS: Final = frozenset(
    {"fasting", "before_breakfast", "before_lunch", "before_dinner", "before_meal"}
)
POSTPRANDIAL_CONTEXTS: Final = frozenset(
    {
        "not_fasting",
        "after_breakfast",
        "after_lunch",
        "after_dinner",
        "after_meal",
        "before_sleep",
        "2_hours_postprandial",
    }
)
# Targets, Chinese Diabetes Society guideline for type 2 diabetes (2020 edition): fasting
# 4.4-7.0 mmol/L, non-fasting < 10.0 mmol/L; both ends of the fasting range inclusive.
# mg/dL equivalents as the published pairs state them: 4.4 mmol/L = 80 mg/dL (ADA 2025,
# preprandial 80-130 mg/dL [4.4-7.2 mmol/L]); 7.0 mmol/L = 126 mg/dL (ADA diagnostic
# fasting threshold, 126 mg/dL [7.0 mmol/L]); 10.0 mmol/L = 180 mg/dL (ADA 2025 peak
# postprandial < 180 mg/dL [10.0 mmol/L]). Meters display whole mg/dL, and 80..126 holds
# exactly the whole-number readings whose conversion lies within 4.4-7.0 mmol/L
# (79 mg/dL = 4.39, 127 = 7.05). 180 mg/dL is 9.99 mmol/L, but the published mg/dL
# statement is "< 180", so a post-meal 180 mg/dL is not in target (the guideline's own
# mg/dL wording, taken strictly; an mmol/L meter shows 180 mg/dL as 10.0, also not < 10.0).
FASTING_MMOL: Final = (4.4, 7.0)
FASTING_MGDL: Final = (80.0, 126.0)
POSTPRANDIAL_BELOW_MMOL: Final = 10.0
POSTPRANDIAL_BELOW_MGDL: Final = 180.0
# Hypoglycaemia levels: HYPO_L1_* and HYPO_L2_* above (level 1 3.0 <= g < 3.9 mmol/L,
# 54 <= g < 70 mg/dL; level 2 below 3.0 / 54). A censored LO reading is below every
# threshold, so it counts as level 2.
# Sufficiency decision: >= 4 fasting/preprandial readings in the window. The CDS 2020
# guideline advises SMBG 2-4 times a week for members on oral agents (fasting or 2 h
# post-meal) and daily fasting checks on basal insulin, so 4 is one week at the upper or
# two weeks at the lower frequency; with fewer, one reading moves the share by more than
# 25 points. The non-fasting share needs the same minimum of its own, else it is None.
MIN_FASTING: Final = 4
MIN_POSTPRANDIAL: Final = 4

# --- Blood pressure (docs/clinical.md, "Blood pressure") -----------------------------------
# Grade 3 hypertension: systolic >= 180 or diastolic >= 110 mmHg (Chinese hypertension
# guideline 2024); each such reading raises an alert.
SEVERE_SYS_MMHG: Final = 180.0
SEVERE_DIA_MMHG: Final = 110.0
# Home BP: >= 135/85 mmHg is hypertension (Chinese hypertension guideline 2024).
HOME_HYPERTENSION_MMHG: Final = (135.0, 85.0)
# Decision (defaults of scoring.config.BpTargets, configurable): the home control target
# is strictly below the home threshold, < 135/85; with diabetes or chronic kidney disease
# < 130/80; at age >= 80 a relaxed < 145/85 (age takes precedence).
HOME_TARGET_MMHG: Final = HOME_HYPERTENSION_MMHG
HOME_TARGET_DIABETES_CKD_MMHG: Final = (130.0, 80.0)
HOME_TARGET_OLDER_MMHG: Final = (145.0, 85.0)
HOME_TARGET_OLDER_AGE: Final = 80
# Home BP protocol (ESH 2021 practice guidelines; Chinese home BP monitoring guideline
# 2019): morning readings within an hour of waking, before medication and breakfast;
# evening readings before dinner / before bed. Decision: "morning" is 04:00-11:59 and
# "evening" 16:00-23:59 in the member's LOCAL time (the offset each reading carries), wide
# enough for real routines, narrow enough to exclude midday and night readings.
MORNING_HOURS: Final[tuple[int, int]] = (4, 12)
EVENING_HOURS: Final[tuple[int, int]] = (16, 24)
# The protocol takes 2 readings 1 minute apart at each sitting (ESH 2021; Chinese HBPM
# guideline 2019) and averages them: a pair is one measurement, not two. Decision: readings
# of one member within 3 minutes of the previous one are one sitting, averaged (time and
# offset of its first reading), so a member who takes pairs is not weighted double.
PAIR_WINDOW_S: Final = 180
# ESH 2021 / Chinese guideline 2019: 7 days of monitoring (at least 3); discard day 1.
# Decision: a window is assessable with >= 7 protocol days, the first one discarded.
MIN_PROTOCOL_DAYS_WINDOW: Final = 7
# A calendar month is assessed on its own with >= 3 protocol days (ESH 2021 minimum).
MIN_PROTOCOL_DAYS_MONTH: Final = 3

# --- Clinic measurements (docs/clinical.md, "Clinic measurements") -------------------------
# Office BP (Chinese hypertension guideline 2024): office hypertension >= 140/90 mmHg; the
# control target below 140/90, below 130/80 with diabetes or chronic kidney disease, below
# 150/90 at 80 and over (age wins, as for home BP). Assessed with >= 2 visits in a window.
OFFICE_TARGET_MMHG: Final = (140.0, 90.0)
OFFICE_TARGET_DIABETES_CKD_MMHG: Final = (130.0, 80.0)
OFFICE_TARGET_OLDER_MMHG: Final = (150.0, 90.0)
OFFICE_MIN_VISITS: Final = 2
# HbA1c (LOINC 4548-4; CDS 2020): < 7.0 % for most adults; individualised for older people,
# decision: < 8.0 % at 65 and over (ADA 2025 older adults with complex health). CDS advises
# a test every 3-6 months, so a result of the last 6 months (183 days) is sufficient.
HBA1C_TARGET_PCT: Final = 7.0
HBA1C_TARGET_OLDER_PCT: Final = 8.0
OLDER_AGE_GLYCAEMIC: Final = CGM_OLDER_AGE  # one older-adult age for every glucose target
HBA1C_RECENT_DAYS: Final = 183
# LDL-C (Chinese guideline for lipid management 2023): < 2.6 mmol/L (100 mg/dL) for people
# at high risk, the usual case of a managed member; a result of the last 12 months counts.
LDL_TARGET_MMOL: Final = 2.6
LDL_TARGET_MGDL: Final = 100.0
LDL_RECENT_DAYS: Final = 365
# Medication adherence: proportion of days covered >= 80 % (Pharmacy Quality Alliance).
PDC_ADHERENT: Final = 0.8

# --- Activity (docs/clinical.md, "Activity") ------------------------------------------------
# WHO 2020 guidelines on physical activity: adults 150-300 min/week of moderate activity
# or 75-150 vigorous; one vigorous minute counts as two moderate minutes.
WHO_MIN_PER_WEEK: Final = 150.0
# Exercise recorded at a clinic follow-up (LOINC 82290-8, minutes a week; the national basic
# public health service follow-up form records times a week x minutes): the newest of the
# last quarter counts, as those follow-ups are at least quarterly (国家基本公共卫生服务规范,
# third edition: hypertension and type 2 diabetes patients followed up >= 4 times a year).
EXERCISE_LOINC: Final = "82290-8"
EXERCISE_RECENT_DAYS: Final = 92
VIGOROUS_WEIGHT: Final = 2.0
# Paluch et al., Lancet Public Health 2022: mortality benefit levels off at 6,000-8,000
# steps/day at age >= 60 and 8,000-10,000 below. Decision: 7,000 / 8,000.
STEP_TARGET_OLDER: Final = 7_000
STEP_TARGET_YOUNGER: Final = 8_000
STEP_TARGET_OLDER_AGE: Final = 60
# Valid day (Troiano et al., Med Sci Sports Exerc 2008, NHANES accelerometry): >= 10 hours
# of wear. Decision: records covering >= 10 h of the local day, with steps > 0; a record of
# >= 24 h is the device's own daily summary (it applied its wear rule) and covers the day.
MIN_WEAR_S: Final = 10 * 3600
# Troiano 2008: >= 4 valid days of a week. Decision: a window is sufficient with valid
# days on >= 4/7 of its days (and at least 4).
MIN_VALID_DAYS_SHARE: Final = 4.0 / 7.0
MIN_VALID_DAYS: Final = 4
# Decision: an "active day" is a valid day with >= 30 moderate-equivalent minutes (the
# "30 minutes on most days" form of the guideline; Chinese physical activity guidelines 2021).
ACTIVE_DAY_MIN: Final = 30.0


@overload
def cgm_sufficient(span_s: int, active_pct: float, n_readings: int) -> bool: ...
@overload
def cgm_sufficient(
    span_s: npt.NDArray[Any], active_pct: npt.NDArray[Any], n_readings: npt.NDArray[Any]
) -> npt.NDArray[np.bool_]: ...
def cgm_sufficient(span_s: Any, active_pct: Any, n_readings: Any) -> Any:
    """Whether a CGM window may be reported: >= 14 days, >= 70 % active, some readings.

    One member (numbers) or many (arrays, element-wise).

    >>> cgm_sufficient(14 * DAY_S, 70.0, 1), cgm_sufficient(14 * DAY_S - 1, 100.0, 9)
    (True, False)
    """
    return (span_s >= CGM_MIN_WINDOW_S) & (active_pct >= CGM_MIN_ACTIVE_PCT) & (n_readings > 0)


def step_target(age: int) -> int:
    """Daily step target by age (Paluch 2022; docs/clinical.md, "Activity").

    >>> step_target(59), step_target(60)
    (8000, 7000)
    """
    return STEP_TARGET_OLDER if age >= STEP_TARGET_OLDER_AGE else STEP_TARGET_YOUNGER


def valid_days_needed(window_days: int) -> float:
    """Valid days an activity window needs to be sufficient (Troiano 2008; decision)."""
    return max(MIN_VALID_DAYS, MIN_VALID_DAYS_SHARE * window_days)


def severe_mask(systolic: npt.ArrayLike, diastolic: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Grade-3 readings: systolic >= 180 or diastolic >= 110 mmHg.

    >>> severe_mask([179, 180, 150], [109, 90, 110]).tolist()
    [False, True, True]
    """
    s, d = np.asarray(systolic), np.asarray(diastolic)
    return np.asarray((s >= SEVERE_SYS_MMHG) | (d >= SEVERE_DIA_MMHG), dtype=np.bool_)


def glucose_bands(
    g: npt.NDArray[np.float64], is_mmol: npt.NDArray[np.bool_]
) -> dict[str, npt.NDArray[np.bool_]]:
    """Each reading's consensus bands (:data:`BANDS`), against the edges of its own unit.

    TIR and TITR are closed at both ends; censored LO/HI (-inf/+inf) fall in the extreme
    bands; NaN is in none.

    >>> b = glucose_bands(np.array([3.9, 180.0, 250.4]), np.array([True, False, False]))
    >>> b["tir"].tolist(), b["tar250"].tolist()
    ([True, True, False], [False, False, True])
    """
    lo2, lo1, titr, hi1, hi2 = (
        np.where(is_mmol, a, b) for a, b in zip(MMOL_EDGES, MGDL_EDGES, strict=True)
    )
    in_range_low = g >= lo1
    return {
        "tbr54": g < lo2,
        "tbr70": g < lo1,
        "titr": in_range_low & (g <= titr),
        "tir": in_range_low & (g <= hi1),
        "tar180": g > hi1,
        "tar250": g > hi2,
    }


def event_masks(
    g: npt.NDArray[np.float64], is_mmol: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(below the hypo event threshold, above the hyper one), each in its own unit."""
    hypo = g < np.where(is_mmol, EVENT_HYPO_MMOL, EVENT_HYPO_MGDL)
    hyper = g > np.where(is_mmol, EVENT_HYPER_MMOL, EVENT_HYPER_MGDL)
    return hypo, hyper


def hypo_l2_mask(
    g: npt.NDArray[np.float64], is_mmol: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Readings below the level-2 threshold, < 54 mg/dL / < 3.0 mmol/L, in their own unit."""
    out: npt.NDArray[np.bool_] = g < np.where(is_mmol, HYPO_L2_MMOL, HYPO_L2_MGDL)
    return out


def cgm_targets(tir: Any, tbr70: Any, tbr54: Any, older: Any) -> dict[str, Any]:
    """Which consensus CGM targets are met: ``tir``, ``tbr70``, ``tbr54`` (Battelino 2019).

    One member (numbers) or many (arrays, element-wise). Time in range meets its target at
    the target itself (70 %, 50 % when older: the project's reading of "> 70 %" since
    the first release); time below range must stay strictly under its limit (4 %, 1 % when
    older; 1 % below 54). Glucose is controlled only when all three are met.

    >>> t = cgm_targets(86.0, 5.7, 2.1, False)
    >>> bool(t["tir"]), bool(t["tbr70"]), bool(t["tbr54"])
    (True, False, False)
    """
    older = np.asarray(older, dtype=np.bool_)
    return {
        "tir": np.asarray(tir) >= np.where(older, TIR_TARGET_OLDER_PCT, TIR_TARGET_PCT),
        "tbr70": np.asarray(tbr70) < np.where(older, TBR70_LIMIT_OLDER_PCT, TBR70_LIMIT_PCT),
        "tbr54": np.asarray(tbr54) < TBR54_LIMIT_PCT,
    }


# --- Glucose runs, events and alerts ---------------------------------------------------------


class Runs(NamedTuple):
    """Maximal runs of consecutive readings on one side of a threshold."""

    first: npt.NDArray[np.intp]  # row of each run's first reading
    last: npt.NDArray[np.intp]  # row of its last reading
    beyond: npt.NDArray[np.bool_]  # whether the run is beyond the threshold
    stretch: npt.NDArray[np.int64]  # runs with the same number have no gap between them


def glucose_runs(
    t: npt.NDArray[np.int64],
    beyond: npt.NDArray[np.bool_],
    member: npt.NDArray[np.int64] | None = None,
) -> Runs:
    """Split readings (sorted by member, then time) into runs; the one run definition.

    A run ends where the reading's side of the threshold changes, at a gap longer than
    :data:`MAX_GAP_S` (nothing is interpolated across it: the data say nothing about the
    gap) and, with ``member``, where the member changes, which acts as a gap. ``t`` needs
    at least one reading.

    >>> r = glucose_runs(np.array([0, 300, 600, 9000]), np.array([True, True, False, False]))
    >>> r.first.tolist(), r.beyond.tolist(), r.stretch.tolist()
    ([0, 2, 3], [True, False, False], [1, 1, 2])
    """
    gap = t[1:] - t[:-1] > MAX_GAP_S
    if member is not None:
        gap |= member[1:] != member[:-1]
    first = np.flatnonzero(np.concatenate(([True], gap | (beyond[1:] != beyond[:-1]))))
    last = np.append(first[1:], t.size) - 1
    # A gap always starts a run, so counting gaps over run starts numbers the stretches.
    stretch = np.cumsum(np.concatenate(([True], gap))[first])
    return Runs(first, last, beyond[first], stretch)


def glucose_events(
    t: npt.NDArray[np.int64],
    beyond: npt.NDArray[np.bool_],
    nominal_s: float | npt.NDArray[np.float64],
    member: npt.NDArray[np.int64] | None = None,
    members: int = 1,
    *,
    min_s: float = EVENT_MIN_S,
    longer: bool = False,
) -> npt.NDArray[np.int64]:
    """Events per member: >= 15 min beyond a threshold, ended by >= 15 min back inside.

    Why this shape: Battelino 2023 defines an event by consecutive minutes, and a CGM
    reading stands for at most one NOMINAL sampling interval of its sensor
    (docs/clinical.md, "CGM"): a run lasts the sum over its readings of the time to the
    next reading, each capped at the nominal interval (three 5-minute readings are 15
    minutes, as in iglu; two readings 40 minutes apart are 10, not 45: the gap between
    them is missing data, not time spent low). A beyond-run starts an event, unless one is
    already open, when it holds a consecutive stretch (no gap over 1.5 nominal intervals)
    of at least two readings lasting >= ``min_s`` (``> min_s`` with ``longer``: extended
    hypoglycaemia); so a single reading is never an event; only an inside-run
    of >= 15 minutes closes it, so a 10-minute blip back into range does not split an
    event. A gap > 45 minutes (:func:`glucose_runs`) closes an open event.

    ``nominal_s`` is the sensor's nominal interval: one number for one member, else one
    per member (``member`` numbers each reading's member, 0..members-1, sorted).

    >>> t = np.arange(12, dtype=np.int64) * 300
    >>> low = np.array([1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    >>> glucose_events(t, low, 300.0).tolist()  # the 10-minute return does not end it
    [1]
    >>> glucose_events(np.array([0, 2400, 4800]), np.array([1, 1, 1], dtype=bool), 300.0)
    array([0])
    >>> glucose_events(np.array([0, 900]), np.array([1, 1], dtype=bool), 900.0)  # 15-min sensor
    array([1])
    """
    return glucose_events_by(t, beyond, nominal_s, member, members, ((min_s, longer),))[0]


def glucose_events_by(
    t: npt.NDArray[np.int64],
    beyond: npt.NDArray[np.bool_],
    nominal_s: float | npt.NDArray[np.float64],
    member: npt.NDArray[np.int64] | None,
    members: int,
    lengths: Sequence[tuple[float, bool]],
) -> list[npt.NDArray[np.int64]]:
    """:func:`glucose_events` for several minimum lengths ``(min_s, longer)`` of the same
    threshold, its runs and durations found once: level-1 (>= 15 min below 70) and
    extended (> 120 min below 70) hypoglycaemia share them (a third of scoring's CGM
    event time when computed twice)."""
    b = np.asarray(beyond, dtype=np.bool_)
    if t.size == 0 or not b.any():
        return [np.zeros(members if member is not None else 1, dtype=np.int64) for _ in lengths]
    runs = glucose_runs(t, b, member)
    run_member = None if member is None else member[runs.first]
    dur, stretch_s = _run_durations(t, runs, nominal_s, member)
    state = runs.beyond
    closes = np.cumsum(~state & (dur >= EVENT_END_S))
    out: list[npt.NDArray[np.int64]] = []
    for min_s, longer in lengths:
        long_enough = stretch_s > min_s if longer else stretch_s >= min_s
        q = np.flatnonzero(state & long_enough)
        new = np.ones(q.size, dtype=np.bool_)
        new[1:] = (runs.stretch[q][1:] != runs.stretch[q][:-1]) | (closes[q][1:] != closes[q][:-1])
        if run_member is None:
            out.append(np.array([np.count_nonzero(new)], dtype=np.int64))
        else:
            out.append(np.bincount(run_member[q][new], minlength=members).astype(np.int64))
    return out


def _run_durations(
    t: npt.NDArray[np.int64],
    runs: Runs,
    nominal_s: float | npt.NDArray[np.float64],
    member: npt.NDArray[np.int64] | None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each run's duration, and its longest consecutive stretch of two or more readings.

    A reading counts for the time to the next one, at most one nominal interval; a stretch
    ends where the next reading comes more than 1.5 nominal intervals later.
    """
    nom = np.asarray(nominal_s, dtype=np.float64)
    per_reading = np.broadcast_to(nom, t.shape) if member is None else nom[member]
    step = np.full(t.size, np.inf)
    step[:-1] = t[1:] - t[:-1]
    if member is not None:
        step[:-1][member[1:] != member[:-1]] = np.inf
    credit = np.concatenate(([0.0], np.cumsum(np.minimum(step, per_reading))))
    dur = credit[runs.last + 1] - credit[runs.first]
    sub = np.zeros(t.size, dtype=np.bool_)
    sub[runs.first] = True
    sub[1:] |= step[:-1] > CONSECUTIVE_TOLERANCE * per_reading[:-1]
    sub_first = np.flatnonzero(sub)
    sub_last = np.append(sub_first[1:], t.size) - 1
    sub_dur = credit[sub_last + 1] - credit[sub_first]
    sub_dur[sub_last - sub_first + 1 < EVENT_MIN_READINGS] = 0.0
    stretch = np.maximum.reduceat(sub_dur, np.searchsorted(sub_first, runs.first))
    return dur, stretch


def count_events(
    t: npt.NDArray[np.int64],
    beyond: npt.NDArray[np.bool_],
    nominal_s: float,
    *,
    min_s: float = EVENT_MIN_S,
    longer: bool = False,
) -> int:
    """:func:`glucose_events` of one member's readings (sorted, deduplicated times).

    >>> t = np.arange(6, dtype=np.int64) * 300
    >>> count_events(t, np.array([1, 1, 0, 0, 0, 0], dtype=bool), 300.0)  # 10 minutes
    0
    """
    return int(glucose_events(t, beyond, nominal_s, min_s=min_s, longer=longer)[0])


def level2_alert_rows(
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    is_cgm: npt.NDArray[np.bool_],
    member: npt.NDArray[np.int64],
) -> npt.NDArray[np.intp]:
    """Rows that raise a level-2 hypoglycaemia alert (< 54 mg/dL / < 3.0 mmol/L).

    Every low fingerstick is its own alert; a CGM raises one alert per run below the
    threshold (:func:`glucose_runs`), at its first reading, not one per 5-minute reading.
    Rows are grouped by member; within a member they are taken in their given order.

    >>> t = np.array([0, 300, 600, 900, 4000, 4300])
    >>> v = np.array([50.0, 50.0, 60.0, 50.0, 50.0, 2.0])
    >>> level2_alert_rows(t, v, v < 10, np.array([1, 1, 1, 1, 1, 0], dtype=bool),
    ...                   np.zeros(6, dtype=np.int64)).tolist()
    [0, 3, 4, 5]
    """
    low = value < np.where(is_mmol, HYPO_L2_MMOL, HYPO_L2_MGDL)
    if not low.any():
        return np.flatnonzero(low)
    starts = np.zeros(low.size, dtype=np.bool_)
    runs = glucose_runs(t, low, member)
    starts[runs.first[runs.beyond]] = True
    return np.flatnonzero(low & (starts | ~is_cgm))
