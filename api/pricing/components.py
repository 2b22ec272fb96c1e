"""The premium's components: how each is earned from a member's inputs, and its reasons.

Each rule returns a :class:`Line` whose reason states the evidence in English and Chinese
(the reasons a quote shows are built here; ``engine.price`` adds the cap, floor and ceiling
lines and the smoothing reason). Fairness rules built in:

* an indicator with too little data is left out of an average (never scored 0), and a
  component with no sufficient indicator gives 0 % with a "not enough data" reason: never
  a surcharge;
* control may be met by progress against the member's own baseline, and improvement may be
  met by maintaining a high composite, so people who start sick can earn as much as
  people who start healthy;
* only the components that need data depend on score rows; enrollment, claims and the
  condition loading do not, so losing data (or consent) costs only the former.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from api.pricing.inputs import QuoteInputs, ScoreRow
from api.pricing.money import ONE, ZERO, clamp01, dec, earn, fmt_bp
from api.pricing.rulebook import Rulebook

# Battelino et al., Diabetes Care 2019: TIR target > 70 %, > 50 % for older/high-risk
# (docs/clinical.md, "CGM").
TIR_TARGET, TIR_TARGET_OLDER, OLDER_AGE = Decimal(70), Decimal(50), 65
TIR_RAMP = Decimal(30)  # attainment rises linearly over the 30 points below the target
# ADA 2025: fasting in target; 70 % of fasting readings in range counts as full attainment
# (docs/clinical.md, "Fingerstick glucose").
SMBG_FULL_PCT = Decimal(70)
# Paluch et al., Lancet Public Health 2022: 7,000 steps at 60 and over, 8,000 below
# (docs/clinical.md, "Activity").
STEPS_OLDER, STEPS_YOUNGER = 7000, 8000
ZH_COND = {
    "hypertension": "高血压",
    "diabetes": "糖尿病",
    "ckd": "慢性肾病",
    "hyperlipidaemia": "高血脂",
}


class Line(NamedTuple):
    """One priced component. A NamedTuple, not a frozen dataclass: as immutable, and a
    batch builds ten million of them (a frozen dataclass's ``__init__`` was ~5 % of it)."""

    code: str
    bp: int  # negative = discount, positive = loading
    reason_en: str
    reason_zh: str
    data_dependent: bool = True
    attainment: str | None = None


def _covered_days(rows: tuple[ScoreRow, ...], year: int) -> int:
    """Days of the experience year inside a window with at least one sufficient domain."""
    y0, y1 = date(year, 1, 1), date(year + 1, 1, 1)
    spans = []
    for r in rows:
        if not any(isinstance(v, dict) and v.get("sufficient") for v in r.indicators.values()):
            continue
        a = max(date.fromisoformat(r.window_start), y0)
        b = min(date.fromisoformat(r.window_end), y1)
        if b > a:
            spans.append((a, b))
    spans.sort()
    total, end = 0, y0
    for a, b in spans:
        a = max(a, end)
        if b > a:
            total += (b - a).days
            end = b
    return total


def engagement(rb: Rulebook, inp: QuoteInputs) -> Line:
    days = _covered_days(inp.scores, inp.plan_year - 1)
    by_data = clamp01(Decimal(days) / rb.engagement_full_days)
    by_clinic = clamp01(Decimal(inp.clinic_months) / rb.engagement_clinic_months_full)
    bp = -earn(rb.engagement.max_bp, max(by_data, by_clinic))
    if by_clinic > by_data:
        en = f"clinic-taken readings in {inp.clinic_months} months: {fmt_bp(bp)}"
        zh = f"社区诊所测量覆盖{inp.clinic_months}个月：{fmt_bp(bp)}"
    else:
        en = f"data sufficient on {days} of 365 days: {fmt_bp(bp)}"
        zh = f"全年365天中{days}天数据充足：{fmt_bp(bp)}"
    if inp.windows_excluded_after_consent:
        en += " (data after consent withdrawal not used)"
        zh += "（撤回同意后的数据未使用）"
    return Line("engagement", bp, en, zh, attainment=str(max(by_data, by_clinic)))


def _latest(inp: QuoteInputs) -> ScoreRow | None:
    rows = sorted(inp.scores, key=lambda r: (r.window_end, r.window_start))
    return rows[-1] if rows else None


def _dom(row: ScoreRow | None, name: str) -> dict[str, Any] | None:
    if row is None:
        return None
    d = row.indicators.get(name)
    return d if isinstance(d, dict) and d.get("sufficient") else None


Item = tuple[Decimal, str, str]  # (attainment, reason_en, reason_zh)


def _control_items(inp: QuoteInputs, row: ScoreRow | None) -> list[Item]:
    """One item for each sufficient indicator that applies to the member, in this order."""
    found = [
        _bp_item(_dom(row, "bp")) if "hypertension" in inp.conditions else None,
        _glucose_item(inp, row) if "diabetes" in inp.conditions else None,
        _activity_item(inp, _dom(row, "activity")),
    ]
    return [item for item in found if item is not None]


def _bp_item(bp: dict[str, Any] | None) -> Item | None:
    """Home BP: the share of assessed months controlled, else controlled or not."""
    if bp is None:
        return None
    assessed, ctl = bp.get("months_assessed"), bp.get("months_controlled")
    if isinstance(assessed, int) and assessed > 0 and isinstance(ctl, int):
        return (
            clamp01(Decimal(ctl) / assessed),
            f"home BP controlled in {ctl} of {assessed} months",
            f"居家血压{assessed}个月中{ctl}个月达标",
        )
    if bp.get("controlled") is not None:
        ok = bool(bp.get("controlled"))
        return (
            ONE if ok else ZERO,
            "home BP controlled" if ok else "home BP above target",
            "居家血压达标" if ok else "居家血压未达标",
        )
    return None


def _glucose_item(inp: QuoteInputs, row: ScoreRow | None) -> Item | None:
    """CGM time in range when there is CGM data, else fasting fingersticks in target."""
    cgm, smbg = _dom(row, "cgm"), _dom(row, "smbg")
    if cgm is not None and cgm.get("tir") is not None:
        target = TIR_TARGET_OLDER if inp.age >= OLDER_AGE else TIR_TARGET
        tir = dec(cgm["tir"])
        return (
            clamp01((tir - (target - TIR_RAMP)) / TIR_RAMP),
            f"glucose time in range {tir:.0f}% (target {target}%)",
            f"血糖目标范围内时间{tir:.0f}%（目标{target}%）",
        )
    if smbg is not None and smbg.get("pct_fasting_in_target") is not None:
        pct = dec(smbg["pct_fasting_in_target"])
        return (
            clamp01(pct / SMBG_FULL_PCT),
            f"fasting glucose in target in {pct:.0f}% of checks",
            f"空腹血糖达标率{pct:.0f}%",
        )
    return None


def _activity_item(inp: QuoteInputs, act: dict[str, Any] | None) -> Item | None:
    """Meeting the WHO guideline is full attainment; else median steps against the target."""
    if act is None:
        return None
    step_target = STEPS_OLDER if inp.age >= 60 else STEPS_YOUNGER
    if act.get("meets_who"):
        return (ONE, "meets the WHO activity guideline", "达到世卫组织身体活动建议")
    if act.get("median_steps") is not None:
        steps = dec(act["median_steps"])
        return (
            clamp01(steps / step_target),
            f"{steps:.0f} steps a day (target {step_target})",
            f"每日{steps:.0f}步（目标{step_target}步）",
        )
    return None


def _progress(rb: Rulebook, row: ScoreRow | None) -> Decimal | None:
    if row is None or row.improvement is None:
        return None
    return clamp01(dec(row.improvement) / rb.improvement_full_points)


def control(rb: Rulebook, inp: QuoteInputs) -> tuple[Line, Decimal]:
    row = _latest(inp)
    items = _control_items(inp, row)
    if not items:
        return (
            Line(
                "control",
                0,
                "not enough data to assess control: no change (never counted as bad)",
                "数据不足，无法评估控制情况：不调整（不视为不达标）",
            ),
            ZERO,
        )
    att = sum((a for a, _, _ in items), ZERO) / len(items)
    en = "; ".join(e for _, e, _ in items)
    zh = "；".join(z for _, _, z in items)
    prog = _progress(rb, row)
    if rb.control_progress_counts and prog is not None and prog > att:
        att = prog
        en += f"; counted by progress against own baseline (+{dec(row.improvement or 0):.1f})"  # type: ignore[union-attr]
        zh += "；按相对自身基线的改善计"
    bp = -earn(rb.control.max_bp, att)
    return Line(
        "control", bp, f"{en}: {fmt_bp(bp)}", f"{zh}：{fmt_bp(bp)}", attainment=str(att)
    ), att


def improvement(rb: Rulebook, inp: QuoteInputs) -> Line:
    row = _latest(inp)
    if row is None or row.composite is None:
        return Line(
            "improvement",
            0,
            "not enough data to compare with your baseline: no change",
            "数据不足，无法与自身基线比较：不调整",
        )
    comp = dec(row.composite)
    prog = _progress(rb, row) or ZERO
    kept = ONE if comp >= rb.improvement_maintain_at else ZERO
    att = max(prog, kept)
    bp = -earn(rb.improvement.max_bp, att)
    if kept >= prog and kept > 0:
        en = f"health score kept at {comp:.0f} (≥ {rb.improvement_maintain_at})"
        zh = f"健康评分保持在{comp:.0f}（≥{rb.improvement_maintain_at}）"
    elif row.improvement is not None:
        delta = dec(row.improvement)
        en = f"health score {delta:+.1f} points against your own baseline"
        zh = f"健康评分较自身基线变化{delta:+.1f}分"
    else:
        en, zh = "no baseline yet to compare with", "暂无基线可比较"
    return Line(
        "improvement", bp, f"{en}: {fmt_bp(bp)}", f"{zh}：{fmt_bp(bp)}", attainment=str(att)
    )


def ladder(rb: Rulebook, inp: QuoteInputs) -> Line:
    years, y = 0, inp.plan_year - 1
    enrolled, claims = set(inp.enrolled_years), set(inp.claim_years)
    while y in enrolled:
        if y in claims:
            if rb.ladder_claim_resets:
                break
        else:
            years += 1
        y -= 1
    bp = -rb.ladder_bp[min(years, len(rb.ladder_bp) - 1)]
    return Line(
        "ladder",
        bp,
        f"{years} continuous claim-free enrolled year(s): {fmt_bp(bp)}",
        f"连续参保且无理赔{years}年：{fmt_bp(bp)}",
        data_dependent=False,
    )


def loading(rb: Rulebook, inp: QuoteInputs, control_att: Decimal) -> list[Line]:
    conds = [c for c in sorted(inp.conditions) if rb.loading_bp.get(c)]
    if not conds:
        return []
    total = min(rb.loading_max_bp, sum(rb.loading_bp[c] for c in conds))
    lines = [
        Line(
            "risk_loading",
            total,
            f"pre-existing conditions ({', '.join(conds)}): {fmt_bp(total)}",
            f"既往病症（{'、'.join(ZH_COND.get(c, c) for c in conds)}）：{fmt_bp(total)}",
            data_dependent=False,
        )
    ]
    back = earn(total, rb.loading_earn_back_share * control_att)
    lines.append(
        Line(
            "risk_earn_back",
            -back,
            f"risk loading earned back by health management: {fmt_bp(-back)}",
            f"通过健康管理抵减风险加费：{fmt_bp(-back)}",
            attainment=str(control_att),
        )
    )
    return lines
