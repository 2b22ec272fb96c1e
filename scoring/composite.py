"""The composite control score (0-100): condition-aware, explained component by component.

Why: pricing and clinics need one number, but an actuary and a clinician must both see
what it is made of; every component carries its weight, its sufficiency and a reason in
English and Chinese. Insufficient components are left out and the remaining weights
renormalised (docs/scoring.md, "Stored contract"); with none sufficient the composite is
None, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.config import ScoringConfig
from scoring.indicators.grouped import nullable
from scoring.indicators.rules import (
    STEP_TARGET_YOUNGER,
    TBR70_LIMIT_PCT,
    TIR_TARGET_PCT,
    WHO_MIN_PER_WEEK,
)

# Decision (docs/scoring.md "Composite"): BP level score. Controlled (home mean below
# target) is 100; otherwise 80 minus 4 points per mmHg of the larger excess, where a
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
# Fingerstick: share of fasting checks in target (0.6) and of post-meal checks (0.4),
# minus 20 points per level-2 hypoglycaemia (ADA 2025: clinically significant).
SMBG_FASTING_WEIGHT: float = 0.6
SMBG_L2_PENALTY: float = 20.0
# Activity: half for WHO 2020 minutes (rules.WHO_MIN_PER_WEEK), half for median steps vs
# the age target (rules.step_target; a dict without one is scored against the younger one).
# Engagement: share of the window each applicable device covered; fingerstick counts as
# covered at two checks a week (decision).
SMBG_CHECKS_PER_WEEK: float = 2.0


# The reasons of insufficient components, (English, Chinese).
_NO_BP = ("home BP: too few protocol days", "居家血压：规范测量天数不足")
_NO_GLUCOSE = ("glucose: not enough CGM or fingerstick data", "血糖：动态或指尖血糖数据不足")
_NO_ACTIVITY = ("activity: too few days with enough wear", "身体活动：佩戴时间足够的天数不足")
_NO_ENGAGEMENT = ("no readings in this window", "本期无测量数据")


@dataclass(frozen=True)
class CompositeResult:
    composite: float | None
    components: dict[str, dict[str, Any]]


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


def _bp(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    bp = _dom(ind, "bp")
    if bp is None or bp.get("controlled") is None:
        return None, *_NO_BP
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
    return (score, *_bp_text(ok, _f0(ms), _f0(md), _f0(ts), _f0(td), _f0(pct)))


def _f0(x: float | None) -> str | None:
    """A number as the reasons print it: no decimals (None stays None)."""
    return None if x is None else f"{x:.0f}"


def _f0_many(a: npt.NDArray[np.float64]) -> list[str | None]:
    """:func:`_f0` of every value of ``a`` (NaN is None), through whole numbers.

    Why: formatting a float cost ~4 times ``str`` of an int, and the reasons format ~10
    numbers a member. ``np.rint`` rounds half to even on the binary value, as ``.0f``
    does; values it cannot stand in for (negative zero, "-0"; huge or non-finite) take the
    format itself.
    """
    r = np.rint(a)
    plain = (np.abs(a) < 2.0**52) & ~((r == 0) & np.signbit(a))
    out: list[str | None] = list(map(str, np.where(plain, r, 0).astype(np.int64).tolist()))
    for i in np.flatnonzero(~plain).tolist():
        out[i] = None if np.isnan(a[i]) else f"{float(a[i]):.0f}"
    return out


def _bp_text(
    ok: bool,
    ms: str | None,
    md: str | None,
    ts: str | None,
    td: str | None,
    pct: str | None,
) -> tuple[str, str]:
    """The BP reason; numbers come formatted by :func:`_f0` (shared with the many path)."""
    state_en, state_zh = ("controlled", "达标") if ok else ("above target", "未达标")
    if ms is None or md is None or ts is None or td is None:
        en, zh = f"home BP {state_en}", f"居家血压{state_zh}"
    else:
        en = f"home BP {ms}/{md} vs target <{ts}/{td} ({state_en})"
        zh = f"居家血压{ms}/{md}，目标<{ts}/{td}（{state_zh}）"
    if pct is not None:
        en += f"; {pct}% of readings in target"
        zh += f"；{pct}%的读数达标"
    return en, zh


def _glucose(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    cgm = _dom(ind, "cgm")
    tir = None if cgm is None else _num(cgm, "tir")
    if cgm is not None and tir is not None:
        tbr = _num(cgm, "tbr70") or 0.0
        score = _clamp(
            100.0 * tir / TIR_TARGET_PCT - CGM_TBR_PENALTY * max(0.0, tbr - TBR70_LIMIT_PCT)
        )
        return (score, *_cgm_text(tir, tbr, _num(cgm, "gri"), cgm.get("gri_zone")))
    smbg = _dom(ind, "smbg")
    if smbg is not None and smbg.get("pct_fasting_in_target") is not None:
        f = float(smbg["pct_fasting_in_target"])
        p = smbg.get("pct_postprandial_in_target")
        base = f if p is None else SMBG_FASTING_WEIGHT * f + (1 - SMBG_FASTING_WEIGHT) * float(p)
        l2 = int(smbg.get("hypo_l2") or 0)
        score = _clamp(base - SMBG_L2_PENALTY * l2)
        return (score, *_smbg_text(f, None if p is None else float(p), l2))
    return None, *_NO_GLUCOSE


# The targets as the reasons print them (formatted once: the reasons are per member).
_TIR_TARGET = f"{TIR_TARGET_PCT:.0f}"
_TBR_LIMIT = f"{TBR70_LIMIT_PCT:.0f}"
_WHO_MIN = f"{WHO_MIN_PER_WEEK:.0f}"


def _cgm_text(tir: float, tbr: float, gri: float | None, zone: object) -> tuple[str, str]:
    extra_en = "" if gri is None else f", glycemia risk index {gri:.0f} (zone {zone})"
    extra_zh = "" if gri is None else f"，血糖风险指数{gri:.0f}（{zone}区）"
    return (
        f"CGM: time in range {tir:.0f}% (target >{_TIR_TARGET}%),"
        f" below range {tbr:.1f}% (<{_TBR_LIMIT}%){extra_en}",
        f"动态血糖：目标范围内时间{tir:.0f}%（目标>{_TIR_TARGET}%），"
        f"低于范围{tbr:.1f}%（<{_TBR_LIMIT}%）{extra_zh}",
    )


def _smbg_text(f: float, p: float | None, l2: int) -> tuple[str, str]:
    post_en = "" if p is None else f", post-meal {p:.0f}%"
    post_zh = "" if p is None else f"，餐后{p:.0f}%"
    return (
        f"fingerstick: fasting in target {f:.0f}%{post_en}; level-2 hypoglycaemia {l2}",
        f"指尖血糖：空腹达标{f:.0f}%{post_zh}；2级低血糖{l2}次",
    )


def _activity(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    a = _dom(ind, "activity")
    mv, steps = (
        (None, None) if a is None else (_num(a, "mvpa_min_per_week"), _num(a, "median_steps"))
    )
    if a is None or mv is None or steps is None:
        return None, *_NO_ACTIVITY
    target = a.get("step_target") or STEP_TARGET_YOUNGER
    score = 50.0 * min(1.0, mv / WHO_MIN_PER_WEEK) + 50.0 * min(1.0, steps / float(target))
    return (score, *_activity_text(f"{mv:.0f}", f"{steps:.0f}", target))


def _activity_text(mv: str | None, steps: str | None, target: object) -> tuple[str, str]:
    return (
        f"{mv} moderate-equivalent min/week (WHO: {_WHO_MIN});"
        f" median {steps} steps/day (target {target})",
        f"每周中等强度当量活动{mv}分钟（世卫：{_WHO_MIN}）；日步数中位数{steps}（目标{target}）",
    )


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
        return None, *_NO_ENGAGEMENT
    score = 100.0 * sum(parts) / len(parts)
    return (score, *_engagement_text(f"{score:.0f}"))


def _engagement_text(score: str | None) -> tuple[str, str]:
    return f"devices covered {score}% of the window", f"设备数据覆盖本期{score}%"


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


# --- many members at once --------------------------------------------------------------
Columns = dict[str, npt.NDArray[Any]]


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
    nan = np.nan
    # BP (_bp): scored when sufficient with a controlled flag.
    ctl = bp["controlled"]
    bp_ok = bp["sufficient"] & ~np.isnan(ctl)
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
        s_bp = np.where(np.isnan(pct), level, BP_LEVEL_WEIGHT * level + (1 - BP_LEVEL_WEIGHT) * pct)
    s_bp = np.where(bp_ok, s_bp, nan)

    # Glucose (_glucose): CGM time in range when sufficient, else fingersticks.
    tir = cgm["tir"]
    cgm_ok = cgm["sufficient"] & ~np.isnan(tir)
    tbr = np.nan_to_num(cgm["tbr70"], nan=0.0)
    s_cgm = np.clip(
        100.0 * tir / TIR_TARGET_PCT - CGM_TBR_PENALTY * np.maximum(0.0, tbr - TBR70_LIMIT_PCT),
        0,
        100,
    )
    f, p = smbg["pct_fasting_in_target"], smbg["pct_postprandial_in_target"]
    smbg_ok = ~cgm_ok & smbg["sufficient"] & ~np.isnan(f)
    l2 = np.nan_to_num(smbg["hypo_l2"], nan=0.0)
    base = np.where(np.isnan(p), f, SMBG_FASTING_WEIGHT * f + (1 - SMBG_FASTING_WEIGHT) * p)
    s_smbg = np.clip(base - SMBG_L2_PENALTY * l2, 0, 100)
    s_glu = np.where(cgm_ok, s_cgm, np.where(smbg_ok, s_smbg, nan))

    # Activity (_activity).
    mv, steps, target = (
        activity["mvpa_min_per_week"],
        activity["median_steps"],
        activity["step_target"],
    )
    act_ok = activity["sufficient"] & ~np.isnan(mv) & ~np.isnan(steps)
    target = np.where(target == 0, STEP_TARGET_YOUNGER, target)  # `or`, as in _activity
    s_act = 50.0 * np.minimum(1.0, mv / WHO_MIN_PER_WEEK) + 50.0 * np.minimum(
        1.0, steps / target.astype(np.float64)
    )
    s_act = np.where(act_ok, s_act, nan)

    # Engagement (_engagement): the parts that apply to each member, in the same order.
    ht = np.array(["hypertension" in c for c in conditions], dtype=np.bool_)
    dm = np.array(["diabetes" in c for c in conditions], dtype=np.bool_)
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
    s_eng = np.where(any_data, 100.0 * e_sum / e_n, nan)

    scores = {"bp": s_bp, "glucose": s_glu, "activity": s_act, "engagement": s_eng}
    # The composite: weights in each condition set's order, as composite_score adds them.
    key = ht.astype(np.int64) + 2 * dm
    sets = {
        0: config.weights_for(()),
        1: config.weights_for(("hypertension",)),
        2: config.weights_for(("diabetes",)),
        3: config.weights_for(("hypertension", "diabetes")),
    }
    total = np.zeros(ht.size)
    wsum = np.zeros(ht.size)
    for k, weights in sets.items():
        rows = key == k
        for name, w in weights.items():
            sc = scores[name]
            use = rows & ~np.isnan(sc)
            total = np.where(use, total + w * sc, total)
            wsum = np.where(use, wsum + w, wsum)
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(wsum > 0, total / np.where(wsum > 0, wsum, 1.0), nan)
    composite = [None if c is None else round(c, 2) for c in nullable(comp)]

    # Reasons and stored entries, component by component over the members it applies to
    # (one comprehension each: a generic loop over (member, component) cost twice as much).
    keys = key.tolist()
    # The members whose condition set weighs each component (configurable: a city may
    # weigh BP for everyone).
    uses = {
        name: np.flatnonzero(np.isin(key, [k for k, ws in sets.items() if name in ws])).tolist()
        for name in scores
    }
    texts: dict[str, list[tuple[str, str]]] = {}
    py = {name: nullable(v) for name, v in scores.items()}
    b_ms, b_md, b_ts, b_td, b_pct = (_f0_many(a) for a in (ms, md, ts, td, pct))
    b_ok = (ctl == 1.0).tolist()
    texts["bp"] = [
        _NO_BP if py["bp"][i] is None
        else _bp_text(b_ok[i], b_ms[i], b_md[i], b_ts[i], b_td[i], b_pct[i])
        for i in uses["bp"]
    ]  # fmt: skip
    g_cgm, g_tir, g_tbr, g_gri = cgm_ok.tolist(), tir.tolist(), tbr.tolist(), nullable(cgm["gri"])
    g_zone, g_f, g_p, g_l2 = cgm["gri_zone"].tolist(), f.tolist(), nullable(p), l2.tolist()
    texts["glucose"] = [
        _NO_GLUCOSE if py["glucose"][i] is None
        else _cgm_text(g_tir[i], g_tbr[i], g_gri[i], g_zone[i]) if g_cgm[i]
        else _smbg_text(g_f[i], g_p[i], int(g_l2[i]))
        for i in uses["glucose"]
    ]  # fmt: skip
    a_mv, a_steps = _f0_many(mv), _f0_many(steps)
    a_target = target.tolist()
    texts["activity"] = [
        _NO_ACTIVITY if py["activity"][i] is None
        else _activity_text(a_mv[i], a_steps[i], a_target[i])
        for i in uses["activity"]
    ]  # fmt: skip
    eng_txt = _f0_many(s_eng)
    texts["engagement"] = [
        _NO_ENGAGEMENT if py["engagement"][i] is None else _engagement_text(eng_txt[i])
        for i in uses["engagement"]
    ]
    entries: dict[str, list[Any]] = {}
    for name, rows in uses.items():
        sc_l = py[name]
        made = [
            {
                "score": None if sc is None else round(sc, 2),
                "weight": sets[keys[i]][name],
                "sufficient": sc is not None,
                "reason_en": en,
                "reason_zh": zh,
            }
            for i, sc, (en, zh) in zip(rows, (sc_l[i] for i in rows), texts[name], strict=True)
        ]
        if len(rows) == key.size:
            entries[name] = made
        else:
            entries[name] = [None] * key.size
            for i, e in zip(rows, made, strict=True):
                entries[name][i] = e
    order = [tuple(sets[k]) for k in range(4)]
    components: list[dict[str, dict[str, Any]]] = [
        {name: entries[name][i] for name in order[k]} for i, k in enumerate(keys)
    ]
    return composite, components
