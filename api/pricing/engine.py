"""The premium arithmetic: PURE functions of (rulebook, inputs), no I/O, no clock.

Money is integer fen and percentages integer basis points (1 % = 100 bp); indicator
values (floats from scoring) only decide an *attainment* in [0, 1], taken as an exact
``Decimal`` of the float's repr, so identical inputs give the identical premium to the cent.

Fairness rules built in:

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

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from api.pricing.inputs import QuoteInputs, ScoreRow
from api.pricing.rulebook import Rulebook

ONE = Decimal(1)
ZERO = Decimal(0)
# Battelino et al., Diabetes Care 2019: TIR target > 70 %, > 50 % for older/high-risk.
TIR_TARGET, TIR_TARGET_OLDER, OLDER_AGE = Decimal(70), Decimal(50), 65
TIR_RAMP = Decimal(30)  # attainment rises linearly over the 30 points below the target
# ADA 2025: fasting in target; 70 % of fasting readings in range counts as full attainment.
SMBG_FULL_PCT = Decimal(70)
# Paluch et al., Lancet Public Health 2022 (CLINICAL.md decision): 7,000 steps >= 60 y, 8,000 below.
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


@dataclass(frozen=True)
class Priced:
    base_fen: int
    lines: tuple[Line, ...]
    discount_bp: int
    loading_bp: int
    unsmoothed_fen: int
    premium_fen: int
    ledger_fen: int  # > 0 credit to the smoothing fund, < 0 debit
    smoothing: dict[str, Any] = field(default_factory=dict)


def dec(x: float | int) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def clamp01(x: Decimal) -> Decimal:
    return max(ZERO, min(ONE, x))


def fen_of(base_fen: int, bp: int) -> int:
    """``base × bp / 10000`` rounded half away from zero to the fen (integer arithmetic)."""
    q, r = divmod(abs(base_fen * bp), 10000)
    q += 2 * r >= 10000
    return q if base_fen * bp >= 0 else -q


def money(fen: int) -> str:
    """Integer fen as a yuan string with 2 decimals, e.g. -1234 -> "-12.34"."""
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


@lru_cache(maxsize=4096)
def fmt_bp(bp: int) -> str:
    sign = "−" if bp < 0 else "+" if bp > 0 else "±"
    s = f"{abs(bp) / 100:.2f}".rstrip("0").rstrip(".")
    return f"{sign}{s}%"


def earn(max_bp: int, att: Decimal) -> int:
    return int((max_bp * att).quantize(ONE, rounding=ROUND_HALF_UP))


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


def _control_items(inp: QuoteInputs, row: ScoreRow | None) -> list[tuple[Decimal, str, str]]:
    """(attainment, reason_en, reason_zh) for each sufficient indicator that applies."""
    items: list[tuple[Decimal, str, str]] = []
    bp = _dom(row, "bp")
    if "hypertension" in inp.conditions and bp is not None:
        assessed, ctl = bp.get("months_assessed"), bp.get("months_controlled")
        if isinstance(assessed, int) and assessed > 0 and isinstance(ctl, int):
            items.append(
                (
                    clamp01(Decimal(ctl) / assessed),
                    f"home BP controlled in {ctl} of {assessed} months",
                    f"居家血压{assessed}个月中{ctl}个月达标",
                )
            )
        elif bp.get("controlled") is not None:
            ok = bool(bp.get("controlled"))
            items.append(
                (
                    ONE if ok else ZERO,
                    "home BP controlled" if ok else "home BP above target",
                    "居家血压达标" if ok else "居家血压未达标",
                )
            )
    if "diabetes" in inp.conditions:
        cgm, smbg = _dom(row, "cgm"), _dom(row, "smbg")
        if cgm is not None and cgm.get("tir") is not None:
            target = TIR_TARGET_OLDER if inp.age >= OLDER_AGE else TIR_TARGET
            tir = dec(cgm["tir"])
            att = clamp01((tir - (target - TIR_RAMP)) / TIR_RAMP)
            items.append(
                (
                    att,
                    f"glucose time in range {tir:.0f}% (target {target}%)",
                    f"血糖目标范围内时间{tir:.0f}%（目标{target}%）",
                )
            )
        elif smbg is not None and smbg.get("pct_fasting_in_target") is not None:
            pct = dec(smbg["pct_fasting_in_target"])
            items.append(
                (
                    clamp01(pct / SMBG_FULL_PCT),
                    f"fasting glucose in target in {pct:.0f}% of checks",
                    f"空腹血糖达标率{pct:.0f}%",
                )
            )
    act = _dom(row, "activity")
    if act is not None:
        step_target = STEPS_OLDER if inp.age >= 60 else STEPS_YOUNGER
        if act.get("meets_who"):
            items.append((ONE, "meets the WHO activity guideline", "达到世卫组织身体活动建议"))
        elif act.get("median_steps") is not None:
            steps = dec(act["median_steps"])
            items.append(
                (
                    clamp01(steps / step_target),
                    f"{steps:.0f} steps a day (target {step_target})",
                    f"每日{steps:.0f}步（目标{step_target}步）",
                )
            )
    return items


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


def price(rb: Rulebook, inp: QuoteInputs) -> Priced:
    """The premium for one member: components, caps and floors, then smoothing."""
    base = rb.band_for(inp.age).base_fen
    ctl, ctl_att = control(rb, inp)
    discounts = [engagement(rb, inp), ctl, improvement(rb, inp), ladder(rb, inp)]
    lines = list(discounts)
    discount = -sum(d.bp for d in discounts)
    if discount > rb.max_discount_bp:
        over = discount - rb.max_discount_bp
        lines.append(
            Line(
                "discount_cap",
                over,
                f"discounts capped at {fmt_bp(-rb.max_discount_bp)}: {fmt_bp(over)}",
                f"折扣上限{fmt_bp(-rb.max_discount_bp)}：{fmt_bp(over)}",
                data_dependent=False,
            )
        )
        discount = rb.max_discount_bp
    load_lines = loading(rb, inp, ctl_att)
    lines += load_lines
    load = sum(x.bp for x in load_lines)
    raw = base + fen_of(base, load - discount)
    floor = max(rb.floor_fen, fen_of(base, rb.floor_bp_of_base))
    ceiling = fen_of(base, rb.ceiling_bp_of_base)
    unsmoothed = min(max(raw, floor), ceiling)
    if unsmoothed != raw:
        which = "floor" if unsmoothed > raw else "ceiling"
        lines.append(
            Line(
                which,
                0,
                f"premium held at the product {which} ¥{unsmoothed / 100:.2f}",
                f"保费按产品{'下限' if which == 'floor' else '上限'}¥{unsmoothed / 100:.2f}",
                data_dependent=False,
            )
        )
    premium = unsmoothed
    smoothing: dict[str, Any] = {"applied": False, "last_premium_fen": inp.last_premium_fen}
    if inp.last_premium_fen is not None and inp.last_premium_fen > 0:
        last = inp.last_premium_fen
        lo = fen_of(last, 10000 - rb.max_yoy_bp)
        hi = fen_of(last, 10000 + rb.max_yoy_bp)
        premium = min(max(unsmoothed, lo), hi)
        if premium != unsmoothed:
            up = premium > unsmoothed
            smoothing = {
                "applied": True,
                "last_premium_fen": last,
                "bound_pct": rb.max_yoy_bp / 100,
                "spread_years": rb.spread_years,
                "reason_en": (
                    f"change from last year's ¥{last / 100:.2f} limited to "
                    f"{fmt_bp(-rb.max_yoy_bp if up else rb.max_yoy_bp)}; the difference "
                    f"¥{abs(premium - unsmoothed) / 100:.2f} is "
                    + ("credited to" if up else "paid by")
                    + " the smoothing fund"
                ),
                "reason_zh": (
                    f"较去年¥{last / 100:.2f}的变动限于{rb.max_yoy_bp / 100:g}%，差额"
                    f"¥{abs(premium - unsmoothed) / 100:.2f}"
                    + ("计入" if up else "由")
                    + "平滑基金"
                    + ("" if up else "承担")
                ),
            }
    return Priced(
        base_fen=base,
        lines=tuple(lines),
        discount_bp=discount,
        loading_bp=load,
        unsmoothed_fen=unsmoothed,
        premium_fen=premium,
        ledger_fen=premium - unsmoothed,
        smoothing=smoothing,
    )
