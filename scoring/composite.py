"""The composite control score (0-100): condition-aware, explained component by component.

Why: pricing and clinics need one number, but an actuary and a clinician must both see
what it is made of; every component carries its weight, its sufficiency and a reason in
English and Chinese (``scoring.reasons``). Insufficient components are left out and the
remaining weights renormalised (docs/scoring.md, "Stored contract"); with none sufficient
the composite is None, never a guess.

Two forms, component by component side by side: the per-member definition
(:func:`composite_score`, from the stored indicator dicts; what-ifs and the portfolio use
it) and the columnar one (:func:`composite_many`, from a chunk's indicator columns; scoring
uses it). Each component's ``_many`` twin follows it and performs the same operations in
the same order, so the floats are the same; tests hold the two equal on random members.
The module is longer than most (~450 lines) for that reason: both forms of each component
are kept in one place, so that a change to one is made, and reviewed, next to the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from scoring.config import ScoringConfig
from scoring.indicators.grouped import nullable
from scoring.indicators.rules import (
    STEP_TARGET_YOUNGER,
    TBR70_LIMIT_PCT,
    TIR_TARGET_PCT,
    WHO_MIN_PER_WEEK,
    cgm_targets,
)
from scoring.reasons import (
    NO_ACTIVITY,
    NO_BP,
    NO_ENGAGEMENT,
    NO_GLUCOSE,
    activity_text,
    bp_text,
    cgm_text,
    engagement_text,
    f0,
    f0_many,
    smbg_text,
)

# Decision (docs/clinical.md, "Composite score"): BP level score. Controlled (home mean
# below target) is 100; otherwise 80 minus 4 points per mmHg of the larger excess, where a
# diastolic mmHg counts double (the diastolic target band is about half as wide).
BP_UNCONTROLLED_START: float = 80.0
BP_POINTS_PER_MMHG: float = 4.0
BP_LEVEL_WEIGHT: float = 0.7  # the rest is the share of readings in target
# Glucose, CGM: time in range against the consensus target (rules.TIR_TARGET_PCT, > 70 %),
# full marks at the target, minus 5 points per percentage point of time below 70 mg/dL
# beyond the consensus limit (rules.TBR70_LIMIT_PCT, 4 %): hypoglycaemia is the first
# safety goal. TIR, not GRI, drives the score so that a what-if on TIR ("if time in range
# reaches 75%") moves it; GRI is reported in the reason.
CGM_TBR_PENALTY: float = 5.0
# Over-treatment is not control: while a consensus hypoglycaemia target is missed (time
# below 70 mg/dL >= 4 % or below 54 >= 1 %, rules.cgm_targets), the glucose score is at most
# 50, whatever the time in range (the TIR part is capped at 100 before the penalty, so a
# high TIR can no longer absorb it). Decision: 50 is the score of a TIR 15 points short.
CGM_HYPO_MISSED_CAP: float = 50.0
# Fingerstick: share of fasting checks in target (0.6) and of post-meal checks (0.4),
# minus 20 points per level-2 hypoglycaemia (ADA 2025: clinically significant).
SMBG_FASTING_WEIGHT: float = 0.6
SMBG_L2_PENALTY: float = 20.0
# Activity: half for WHO 2020 minutes (rules.WHO_MIN_PER_WEEK), half for median steps vs
# the age target (rules.step_target; a dict without one is scored against the younger one).
# Engagement: share of the window each applicable device covered; fingerstick counts as
# covered at two checks a week (decision).
SMBG_CHECKS_PER_WEEK: float = 2.0

Columns = dict[str, npt.NDArray[Any]]  # one chunk's indicator columns, a value per member
# The reasons of one component for the members it applies to (their rows), given their
# scores as Python values (None: not scored).
Reasons = Callable[[list[int], list[Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class CompositeResult:
    composite: float | None
    components: dict[str, dict[str, Any]]


class _Many(NamedTuple):
    """One component of a chunk: every member's score (NaN: not scored) and its reasons."""

    score: npt.NDArray[np.float64]
    reasons: Reasons


def _clamp(x: float, lo: float = 0.0, hi: float = 100.0) -> float:
    return max(lo, min(hi, x))


def _dom(ind: dict[str, Any], name: str) -> dict[str, Any] | None:
    d = ind.get(name)
    return d if isinstance(d, dict) and d.get("sufficient") else None


def _num(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    if type(v) is float or type(v) is int:  # the stored contract's own types: the fast case
        return float(v)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


# --- blood pressure -------------------------------------------------------------------------


def _bp(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    bp = _dom(ind, "bp")
    if bp is None or bp.get("controlled") is None:
        return None, *NO_BP
    ok = bool(bp["controlled"])
    ms, md = _num(bp, "home_mean_sys"), _num(bp, "home_mean_dia")
    ts, td = _num(bp, "target_sys"), _num(bp, "target_dia")
    pct = _num(bp, "pct_in_target")
    # A what-if may state only "controlled"; then the level alone decides.
    if ok:
        level = 100.0
    elif None in (ms, md, ts, td):
        level = BP_UNCONTROLLED_START
    else:
        assert ms is not None and md is not None and ts is not None and td is not None
        excess = max(ms - ts, 2.0 * (md - td), 0.0)
        level = _clamp(BP_UNCONTROLLED_START - BP_POINTS_PER_MMHG * excess)
    score = level if pct is None else BP_LEVEL_WEIGHT * level + (1 - BP_LEVEL_WEIGHT) * pct
    return (score, *bp_text(ok, f0(ms), f0(md), f0(ts), f0(td), f0(pct)))


def _bp_many(bp: Columns) -> _Many:
    """:func:`_bp` of every member: scored when sufficient with a controlled flag."""
    ctl = bp["controlled"]
    ms, md, ts, td = bp["home_mean_sys"], bp["home_mean_dia"], bp["target_sys"], bp["target_dia"]
    pct = bp["pct_in_target"]
    full = ~(np.isnan(ms) | np.isnan(md) | np.isnan(ts) | np.isnan(td))
    with np.errstate(invalid="ignore"):
        excess = np.maximum(np.maximum(ms - ts, 2.0 * (md - td)), 0.0)
        level = np.where(
            ctl == 1.0,
            100.0,
            np.where(full, np.clip(BP_UNCONTROLLED_START - BP_POINTS_PER_MMHG * excess, 0, 100),
                     BP_UNCONTROLLED_START),
        )  # fmt: skip
        score = np.where(
            np.isnan(pct), level, BP_LEVEL_WEIGHT * level + (1 - BP_LEVEL_WEIGHT) * pct
        )
    score = np.where(bp["sufficient"] & ~np.isnan(ctl), score, np.nan)

    def reasons(rows: list[int], scored: list[Any]) -> list[tuple[str, str]]:
        b_ms, b_md, b_ts, b_td, b_pct = (f0_many(a) for a in (ms, md, ts, td, pct))
        b_ok = (ctl == 1.0).tolist()
        return [
            NO_BP if scored[i] is None
            else bp_text(b_ok[i], b_ms[i], b_md[i], b_ts[i], b_td[i], b_pct[i])
            for i in rows
        ]  # fmt: skip

    return _Many(score, reasons)


# --- glucose --------------------------------------------------------------------------------


def _glucose(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    cgm = _dom(ind, "cgm")
    tir = None if cgm is None else _num(cgm, "tir")
    if cgm is not None and tir is not None:
        tbr = _num(cgm, "tbr70") or 0.0
        met = cgm_targets(tir, tbr, _num(cgm, "tbr54") or 0.0, False)
        score = _clamp(
            min(100.0, 100.0 * tir / TIR_TARGET_PCT)
            - CGM_TBR_PENALTY * max(0.0, tbr - TBR70_LIMIT_PCT)
        )
        if not (met["tbr70"] and met["tbr54"]):
            score = min(score, CGM_HYPO_MISSED_CAP)
        return (score, *cgm_text(tir, tbr, _num(cgm, "gri"), cgm.get("gri_zone")))
    smbg = _dom(ind, "smbg")
    if smbg is not None and smbg.get("pct_fasting_in_target") is not None:
        f = float(smbg["pct_fasting_in_target"])
        p = smbg.get("pct_postprandial_in_target")
        base = f if p is None else SMBG_FASTING_WEIGHT * f + (1 - SMBG_FASTING_WEIGHT) * float(p)
        l2 = int(smbg.get("hypo_l2") or 0)
        score = _clamp(base - SMBG_L2_PENALTY * l2)
        return (score, *smbg_text(f, None if p is None else float(p), l2))
    return None, *NO_GLUCOSE


def _glucose_many(cgm: Columns, smbg: Columns) -> _Many:
    """:func:`_glucose` of every member: CGM time in range when sufficient, else fingersticks."""
    tir = cgm["tir"]
    cgm_ok = cgm["sufficient"] & ~np.isnan(tir)
    tbr = np.nan_to_num(cgm["tbr70"], nan=0.0)
    met = cgm_targets(tir, tbr, np.nan_to_num(cgm["tbr54"], nan=0.0), False)
    s_cgm = np.clip(
        np.minimum(100.0, 100.0 * tir / TIR_TARGET_PCT)
        - CGM_TBR_PENALTY * np.maximum(0.0, tbr - TBR70_LIMIT_PCT),
        0,
        100,
    )
    s_cgm = np.where(met["tbr70"] & met["tbr54"], s_cgm, np.minimum(s_cgm, CGM_HYPO_MISSED_CAP))
    f, p = smbg["pct_fasting_in_target"], smbg["pct_postprandial_in_target"]
    smbg_ok = ~cgm_ok & smbg["sufficient"] & ~np.isnan(f)
    l2 = np.nan_to_num(smbg["hypo_l2"], nan=0.0)
    base = np.where(np.isnan(p), f, SMBG_FASTING_WEIGHT * f + (1 - SMBG_FASTING_WEIGHT) * p)
    s_smbg = np.clip(base - SMBG_L2_PENALTY * l2, 0, 100)

    def reasons(rows: list[int], scored: list[Any]) -> list[tuple[str, str]]:
        g_cgm, g_tir, g_tbr = cgm_ok.tolist(), tir.tolist(), tbr.tolist()
        g_gri, g_zone = nullable(cgm["gri"]), cgm["gri_zone"].tolist()
        g_f, g_p, g_l2 = f.tolist(), nullable(p), l2.tolist()
        return [
            NO_GLUCOSE if scored[i] is None
            else cgm_text(g_tir[i], g_tbr[i], g_gri[i], g_zone[i]) if g_cgm[i]
            else smbg_text(g_f[i], g_p[i], int(g_l2[i]))
            for i in rows
        ]  # fmt: skip

    return _Many(np.where(cgm_ok, s_cgm, np.where(smbg_ok, s_smbg, np.nan)), reasons)


# --- activity -------------------------------------------------------------------------------


def _activity(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    a = _dom(ind, "activity")
    mv, steps = (
        (None, None) if a is None else (_num(a, "mvpa_min_per_week"), _num(a, "median_steps"))
    )
    if a is None or mv is None or steps is None:
        return None, *NO_ACTIVITY
    target = a.get("step_target") or STEP_TARGET_YOUNGER
    score = 50.0 * min(1.0, mv / WHO_MIN_PER_WEEK) + 50.0 * min(1.0, steps / float(target))
    return (score, *activity_text(f"{mv:.0f}", f"{steps:.0f}", target))


def _activity_many(activity: Columns) -> _Many:
    """:func:`_activity` of every member."""
    mv, steps = activity["mvpa_min_per_week"], activity["median_steps"]
    act_ok = activity["sufficient"] & ~np.isnan(mv) & ~np.isnan(steps)
    # `step_target or STEP_TARGET_YOUNGER`, as in _activity.
    target = np.where(activity["step_target"] == 0, STEP_TARGET_YOUNGER, activity["step_target"])
    score = 50.0 * np.minimum(1.0, mv / WHO_MIN_PER_WEEK) + 50.0 * np.minimum(
        1.0, steps / target.astype(np.float64)
    )

    def reasons(rows: list[int], scored: list[Any]) -> list[tuple[str, str]]:
        a_mv, a_steps, a_target = f0_many(mv), f0_many(steps), target.tolist()
        return [
            NO_ACTIVITY if scored[i] is None
            else activity_text(a_mv[i], a_steps[i], a_target[i])
            for i in rows
        ]  # fmt: skip

    return _Many(np.where(act_ok, score, np.nan), reasons)


# --- engagement -----------------------------------------------------------------------------


def _engagement(
    ind: dict[str, Any], conditions: tuple[str, ...], window_days: int
) -> tuple[float | None, str, str]:
    weeks = max(1.0, window_days / 7.0)
    parts: list[float] = []
    act = ind.get("activity") or {}
    parts.append(min(1.0, float(act.get("valid_days") or 0) / window_days))
    any_data = bool(act.get("valid_days"))
    if "hypertension" in conditions:
        bp = ind.get("bp") or {}
        parts.append(min(1.0, float(bp.get("protocol_weeks") or 0) / weeks))
        any_data = any_data or bool(bp.get("n_readings"))
    if "diabetes" in conditions:
        cgm, smbg = ind.get("cgm") or {}, ind.get("smbg") or {}
        cov_cgm = float(cgm.get("active_pct") or 0.0) / 100.0
        cov_smbg = float(smbg.get("n_readings") or 0) / (SMBG_CHECKS_PER_WEEK * weeks)
        parts.append(min(1.0, max(cov_cgm, cov_smbg)))
        any_data = any_data or bool(cgm.get("n_readings")) or bool(smbg.get("n_readings"))
    if not any_data:
        return None, *NO_ENGAGEMENT
    score = 100.0 * sum(parts) / len(parts)
    return (score, *engagement_text(f"{score:.0f}"))


def _engagement_many(
    bp: Columns,
    cgm: Columns,
    smbg: Columns,
    activity: Columns,
    ht: npt.NDArray[np.bool_],
    dm: npt.NDArray[np.bool_],
    window_days: int,
) -> _Many:
    """:func:`_engagement` of every member: the parts that apply to each, in the same order."""
    weeks = max(1.0, window_days / 7.0)
    vd = activity["valid_days"]
    e_sum = np.minimum(1.0, vd.astype(np.float64) / window_days)
    e_n = np.ones(ht.size)
    any_data = vd > 0
    e_sum = np.where(ht, e_sum + np.minimum(1.0, bp["protocol_weeks"] / weeks), e_sum)
    e_n += ht
    any_data |= ht & (bp["n_readings"] > 0)
    cov = np.maximum(
        np.nan_to_num(cgm["active_pct"], nan=0.0) / 100.0,
        smbg["n_readings"] / (SMBG_CHECKS_PER_WEEK * weeks),
    )
    e_sum = np.where(dm, e_sum + np.minimum(1.0, cov), e_sum)
    e_n += dm
    any_data |= dm & ((cgm["n_readings"] > 0) | (smbg["n_readings"] > 0))
    score = np.where(any_data, 100.0 * e_sum / e_n, np.nan)

    def reasons(rows: list[int], scored: list[Any]) -> list[tuple[str, str]]:
        text = f0_many(score)
        return [NO_ENGAGEMENT if scored[i] is None else engagement_text(text[i]) for i in rows]

    return _Many(score, reasons)


# --- the composite --------------------------------------------------------------------------

_COMPONENTS = {"bp": _bp, "glucose": _glucose, "activity": _activity}


def composite_score(
    indicators: dict[str, Any],
    *,
    conditions: tuple[str, ...],
    window_days: int,
    config: ScoringConfig,
) -> CompositeResult:
    """Combine a member's indicators into the stored ``components`` and ``composite``.

    Examples
    --------
    >>> ind = {"activity": {"sufficient": True, "valid_days": 30, "mvpa_min_per_week": 150.0,
    ...                     "median_steps": 8000.0, "step_target": 8000}}
    >>> r = composite_score(ind, conditions=(), window_days=30, config=ScoringConfig())
    >>> r.composite, r.components["activity"]["weight"]
    (100.0, 0.6)
    """
    weights = config.weights_for(conditions)
    comps: dict[str, dict[str, Any]] = {}
    total = wsum = 0.0
    for name, w in weights.items():
        if name == "engagement":
            score, en, zh = _engagement(indicators, conditions, window_days)
        else:
            score, en, zh = _COMPONENTS[name](indicators)
        ok = score is not None
        comps[name] = {
            "score": None if score is None else round(score, 2),
            "weight": w,
            "sufficient": ok,
            "reason_en": en,
            "reason_zh": zh,
        }
        if score is not None:
            total += w * score
            wsum += w
    composite = round(total / wsum, 2) if wsum > 0 else None
    return CompositeResult(composite, comps)


def composite_many(
    bp: Columns,
    cgm: Columns,
    smbg: Columns,
    activity: Columns,
    *,
    conditions: Sequence[tuple[str, ...]],
    window_days: int,
    config: ScoringConfig,
) -> tuple[list[float | None], list[dict[str, dict[str, Any]]]]:
    """:func:`composite_score` for members 0..M-1 from their indicator columns.

    Why: the per-member call was the largest part of scoring a chunk; here the scores are
    array arithmetic (the same operations in the same order as :func:`composite_score`, so
    the same floats) and only the reasons are formatted member by member, by the same text
    builders. Columns hold NaN where the stored dict holds None; ``sufficient`` is boolean
    and the counts and ``step_target`` are whole numbers (``bp.home_bp_table``,
    ``activity.activity_table``). Tests check the result equals :func:`composite_score` on
    random members.
    """
    ht = np.array(["hypertension" in c for c in conditions], dtype=np.bool_)
    dm = np.array(["diabetes" in c for c in conditions], dtype=np.bool_)
    parts = {
        "bp": _bp_many(bp),
        "glucose": _glucose_many(cgm, smbg),
        "activity": _activity_many(activity),
        "engagement": _engagement_many(bp, cgm, smbg, activity, ht, dm, window_days),
    }
    # Each member's condition set, numbered, and the weights of each set in its own order.
    key = ht.astype(np.int64) + 2 * dm
    sets = {
        0: config.weights_for(()),
        1: config.weights_for(("hypertension",)),
        2: config.weights_for(("diabetes",)),
        3: config.weights_for(("hypertension", "diabetes")),
    }
    return _weighted_sum_many(parts, key, sets), _components_many(parts, key, sets)


def _weighted_sum_many(
    parts: dict[str, _Many], key: npt.NDArray[np.int64], sets: dict[int, dict[str, float]]
) -> list[float | None]:
    """The composite of each member: weights in its condition set's order, as
    :func:`composite_score` adds them, renormalised over the scored components."""
    total = np.zeros(key.size)
    wsum = np.zeros(key.size)
    for k, weights in sets.items():
        rows = key == k
        for name, w in weights.items():
            sc = parts[name].score
            use = rows & ~np.isnan(sc)
            total = np.where(use, total + w * sc, total)
            wsum = np.where(use, wsum + w, wsum)
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(wsum > 0, total / np.where(wsum > 0, wsum, 1.0), np.nan)
    return [None if c is None else round(c, 2) for c in nullable(comp)]


def _components_many(
    parts: dict[str, _Many], key: npt.NDArray[np.int64], sets: dict[int, dict[str, float]]
) -> list[dict[str, dict[str, Any]]]:
    """Each member's stored ``components``: score, weight, sufficiency and reasons.

    Component by component over the members whose condition set weighs it (configurable:
    a city may weigh BP for everyone); one comprehension each, as a generic loop over
    (member, component) cost twice as much.
    """
    keys = key.tolist()
    entries: dict[str, list[Any]] = {}
    for name, part in parts.items():
        rows = np.flatnonzero(np.isin(key, [k for k, ws in sets.items() if name in ws])).tolist()
        scored = nullable(part.score)
        made = [
            {
                "score": None if sc is None else round(sc, 2),
                "weight": sets[keys[i]][name],
                "sufficient": sc is not None,
                "reason_en": en,
                "reason_zh": zh,
            }
            for i, sc, (en, zh) in zip(
                rows, (scored[i] for i in rows), part.reasons(rows, scored), strict=True
            )
        ]
        if len(rows) == key.size:
            entries[name] = made
        else:
            entries[name] = [None] * key.size
            for i, e in zip(rows, made, strict=True):
                entries[name][i] = e
    order = [tuple(sets[k]) for k in range(4)]
    return [{name: entries[name][i] for name in order[k]} for i, k in enumerate(keys)]
