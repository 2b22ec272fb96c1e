"""The composite control score (0-100): condition-aware, explained component by component.

Why: pricing and clinics need one number, but an actuary and a clinician must both see
what it is made of; every component carries its weight, its sufficiency and a reason in
English and Chinese. Insufficient components are left out and the remaining weights
renormalised (docs/scoring.md, "Stored contract"); with none sufficient the composite is
None, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scoring.config import ScoringConfig

# Decision (docs/scoring.md "Composite"): BP level score. Controlled (home mean below
# target) is 100; otherwise 80 minus 4 points per mmHg of the larger excess, where a
# diastolic mmHg counts double (the diastolic target band is about half as wide).
BP_UNCONTROLLED_START: float = 80.0
BP_POINTS_PER_MMHG: float = 4.0
BP_LEVEL_WEIGHT: float = 0.7  # the rest is the share of readings in target
# Glucose, CGM: time in range against the consensus target (> 70%, Battelino et al.,
# Diabetes Care 2019), full marks at 70%, minus 5 points per percentage point of time below
# 70 mg/dL beyond the consensus limit of 4% (hypoglycaemia is the first safety goal).
# TIR, not GRI, drives the score so that a what-if on TIR ("if time in range reaches 75%")
# moves it; GRI is reported in the reason.
CGM_TIR_TARGET: float = 70.0
CGM_TBR_LIMIT: float = 4.0
CGM_TBR_PENALTY: float = 5.0
# Fingerstick: share of fasting checks in target (0.6) and of post-meal checks (0.4),
# minus 20 points per level-2 hypoglycaemia (ADA 2025: clinically significant).
SMBG_FASTING_WEIGHT: float = 0.6
SMBG_L2_PENALTY: float = 20.0
# Activity: half for WHO 2020 minutes (150/week), half for median steps vs the age target.
# Engagement: share of the window each applicable device covered; fingerstick counts as
# covered at two checks a week (decision).
SMBG_CHECKS_PER_WEEK: float = 2.0
WHO_MIN_PER_WEEK: float = 150.0


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
        return None, "home BP: too few protocol days", "居家血压：规范测量天数不足"
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
    state_en, state_zh = ("controlled", "达标") if ok else ("above target", "未达标")
    if None in (ms, md, ts, td):
        en, zh = f"home BP {state_en}", f"居家血压{state_zh}"
    else:
        en = f"home BP {ms:.0f}/{md:.0f} vs target <{ts:.0f}/{td:.0f} ({state_en})"
        zh = f"居家血压{ms:.0f}/{md:.0f}，目标<{ts:.0f}/{td:.0f}（{state_zh}）"
    if pct is not None:
        en += f"; {pct:.0f}% of readings in target"
        zh += f"；{pct:.0f}%的读数达标"
    return score, en, zh


def _glucose(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    cgm = _dom(ind, "cgm")
    tir = None if cgm is None else _num(cgm, "tir")
    if cgm is not None and tir is not None:
        tbr = _num(cgm, "tbr70") or 0.0
        score = _clamp(
            100.0 * tir / CGM_TIR_TARGET - CGM_TBR_PENALTY * max(0.0, tbr - CGM_TBR_LIMIT)
        )
        gri = _num(cgm, "gri")
        extra_en = (
            "" if gri is None else f", glycemia risk index {gri:.0f} (zone {cgm.get('gri_zone')})"
        )
        extra_zh = "" if gri is None else f"，血糖风险指数{gri:.0f}（{cgm.get('gri_zone')}区）"
        return (
            score,
            f"CGM: time in range {tir:.0f}% (target >70%), below range {tbr:.1f}% (<4%){extra_en}",
            f"动态血糖：目标范围内时间{tir:.0f}%（目标>70%），低于范围{tbr:.1f}%（<4%）{extra_zh}",
        )
    smbg = _dom(ind, "smbg")
    if smbg is not None and smbg.get("pct_fasting_in_target") is not None:
        f = float(smbg["pct_fasting_in_target"])
        p = smbg.get("pct_postprandial_in_target")
        base = f if p is None else SMBG_FASTING_WEIGHT * f + (1 - SMBG_FASTING_WEIGHT) * float(p)
        l2 = int(smbg.get("hypo_l2") or 0)
        score = _clamp(base - SMBG_L2_PENALTY * l2)
        post_en = "" if p is None else f", post-meal {float(p):.0f}%"
        post_zh = "" if p is None else f"，餐后{float(p):.0f}%"
        return (
            score,
            f"fingerstick: fasting in target {f:.0f}%{post_en}; level-2 hypoglycaemia {l2}",
            f"指尖血糖：空腹达标{f:.0f}%{post_zh}；2级低血糖{l2}次",
        )
    return None, "glucose: not enough CGM or fingerstick data", "血糖：动态或指尖血糖数据不足"


def _activity(ind: dict[str, Any]) -> tuple[float | None, str, str]:
    a = _dom(ind, "activity")
    mv, steps = (
        (None, None) if a is None else (_num(a, "mvpa_min_per_week"), _num(a, "median_steps"))
    )
    if a is None or mv is None or steps is None:
        return None, "activity: too few days with enough wear", "身体活动：佩戴时间足够的天数不足"
    target = a.get("step_target") or 8000
    score = 50.0 * min(1.0, mv / WHO_MIN_PER_WEEK) + 50.0 * min(1.0, steps / float(target))
    return (
        score,
        f"{mv:.0f} moderate-equivalent min/week (WHO: 150);"
        f" median {steps:.0f} steps/day (target {target})",
        f"每周中等强度当量活动{mv:.0f}分钟（世卫：150）；日步数中位数{steps:.0f}（目标{target}）",
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
        return None, "no readings in this window", "本期无测量数据"
    score = 100.0 * sum(parts) / len(parts)
    return (
        score,
        f"devices covered {score:.0f}% of the window",
        f"设备数据覆盖本期{score:.0f}%",
    )


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
