"""The premium's components: how each is earned from a member's inputs, and its reasons.

Each rule returns a :class:`Line` whose reason states the evidence in English and Chinese
(the reasons a quote shows are built here; ``engine.price`` adds the cap, floor and ceiling
lines and the smoothing reason). Fairness rules built in:

* only what the member controls is rewarded: ``control`` reads scoring's control block
  for the member's own conditions, each condition without sufficient data counting 0 (no
  discount, never a surcharge), so withholding data never pays; ``activity`` is its own
  line; the condition loading is earned back only by control of that condition;
* improvement may be met by maintaining a high composite, so people who start sick can
  earn as much as people who start healthy, but only with data on every own condition;
* only the components that need data depend on score rows; enrollment, claims and the
  condition loading do not, so losing data (or consent) costs only the former.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from api.pricing.benefits import continuous_years
from api.pricing.inputs import QuoteInputs, ScoreRow
from api.pricing.money import ONE, ZERO, clamp01, dec, earn, fmt_bp
from api.pricing.rulebook import Rulebook
from scoring.indicators.rules import PDC_ADHERENT, WHO_MIN_PER_WEEK

ZH_COND = {
    "hypertension": "高血压",
    "diabetes": "糖尿病",
    "ckd": "慢性肾病",
    "hyperlipidaemia": "高血脂",
}
ZH_DRUG = {"antihypertensive": "降压药", "glucose_lowering": "降糖药", "statin": "他汀"}


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


def control_entries(inp: QuoteInputs, row: ScoreRow | None) -> dict[str, dict[str, Any]]:
    """Scoring's control block for each of the member's own conditions; a row without one
    (scored before it existed) or a condition missing from it counts as insufficient."""
    block = (row.indicators.get("control") if row is not None else None) or {}
    return {
        c: block.get(c) or {"status": "insufficient", "attainment": None} for c in inp.conditions
    }


def took_part(inp: QuoteInputs) -> bool:
    """Any sufficient data in the experience year, or a clinic-taken reading: what a member
    without a chronic condition shows to earn the components that reward control. Without
    it a member pays the version's base less only the components that need no data, so a
    member with no device and no clinic contact is never credited with control."""
    return inp.clinic_months > 0 or any(
        isinstance(v, dict) and v.get("sufficient")
        for r in inp.scores
        for v in r.indicators.values()
    )


def _attainment(entry: dict[str, Any]) -> Decimal:
    """A condition's attainment: 0 when insufficient (no discount, never a surcharge)."""
    att = entry.get("attainment")
    return ZERO if att is None or entry.get("status") == "insufficient" else clamp01(dec(att))


def control(rb: Rulebook, inp: QuoteInputs) -> tuple[Line, Decimal]:
    """Control of the member's OWN conditions, from scoring's control block.

    The attainment is the mean over every condition the member has, each insufficient one
    counting 0: sending no data for a condition can never raise it, so withholding data
    never pays (it averaged only the sufficient ones before). Activity is not control (its
    own line, :func:`activity`); neither is progress in the composite, which activity moves.
    A member with no chronic condition has nothing to control and earns the component in
    full: the product wants its healthy members to stay (seed: adverse selection).
    """
    entries = control_entries(inp, _latest(inp))
    if not entries:
        if not took_part(inp):
            return Line(
                "control", 0,
                "no chronic condition, and no data sent or clinic visit: no change",
                "无慢性病，且未上传数据或到诊所测量：不调整", attainment="0",
            ), ZERO  # fmt: skip
        bp = -earn(rb.control.max_bp, ONE)
        return Line(
            "control", bp,
            f"no chronic condition under management, health data shared: {fmt_bp(bp)}",
            f"无需管理的慢性病，已共享健康数据：{fmt_bp(bp)}", attainment="1",
        ), ONE  # fmt: skip
    atts = {c: _attainment(e) for c, e in entries.items()}
    att = sum(atts.values(), ZERO) / len(atts)
    en = "; ".join(
        f"{c}: {e.get('reason_en') or 'not enough data'} ({atts[c] * 100:.0f}%)"
        for c, e in entries.items()
    )
    zh = "；".join(
        f"{ZH_COND.get(c, c)}：{e.get('reason_zh') or '数据不足'}（{atts[c] * 100:.0f}%）"
        for c, e in entries.items()
    )
    if any(e.get("status") == "insufficient" for e in entries.values()):
        en += " (a condition without enough data earns nothing for it, never a surcharge)"
        zh += "（数据不足的病症不计折扣，也不加费）"
    bp = -earn(rb.control.max_bp, att)
    line = Line("control", bp, f"{en}: {fmt_bp(bp)}", f"{zh}：{fmt_bp(bp)}", attainment=str(att))
    return line, att


def _device_activity(rb: Rulebook, act: dict[str, Any]) -> tuple[Decimal, str, str] | None:
    if act.get("meets_who"):
        return ONE, "meets the WHO activity guideline", "达到世卫组织身体活动建议"
    if act.get("median_steps") is None:
        return None
    steps = dec(act["median_steps"])
    lo, hi = rb.activity_from_steps, rb.activity_full_steps
    return (
        clamp01((steps - lo) / (hi - lo)),
        f"{steps:.0f} steps a day (credited from {lo} to {hi})",
        f"每日{steps:.0f}步（{lo}步起计，{hi}步满分）",
    )


def _clinic_activity(ex: dict[str, Any]) -> tuple[Decimal, str, str]:
    minutes = dec(ex["minutes_per_week"])
    full = dec(WHO_MIN_PER_WEEK)
    return (
        clamp01(minutes / full),
        f"exercise recorded at the clinic's follow-up: {minutes:.0f} min a week (full at"
        f" the WHO {full:.0f})",
        f"社区随访记录运动每周{minutes:.0f}分钟（世卫组织建议{full:.0f}分钟为满分）",
    )


def activity(rb: Rulebook, inp: QuoteInputs) -> Line | None:
    """Activity, its own component: full when the WHO guideline is met, else credited from
    a baseline (``from_steps``, 0) to ``full_steps`` (full), not linearly from zero. A
    member without a step counter earns it from the exercise the clinic's follow-up
    records (minutes a week against the WHO 150); with both, the better counts, so sending
    low step counts never costs more than withholding them."""
    if rb.activity.max_bp == 0:
        return None
    row = _latest(inp)
    act, ex = _dom(row, "activity"), _dom(row, "clinic_exercise")
    found = [
        x
        for x in (
            _device_activity(rb, act) if act is not None else None,
            _clinic_activity(ex) if ex is not None else None,
        )
        if x is not None
    ]
    if not found:
        return Line(
            "activity", 0,
            "not enough activity data: no change (never counted as bad)",
            "运动数据不足：不调整（不视为不达标）",
        )  # fmt: skip
    att, en, zh = max(found, key=lambda x: x[0])
    bp = -earn(rb.activity.max_bp, att)
    return Line("activity", bp, f"{en}: {fmt_bp(bp)}", f"{zh}：{fmt_bp(bp)}", attainment=str(att))


def adherence(rb: Rulebook, inp: QuoteInputs) -> Line | None:
    """Medication possession from the clinic's dispensing records: each drug class's
    proportion of days covered credited up to the adherence threshold (PDC >= 80 %, full),
    the mean over the member's classes. A member with a chronic condition and no dispensing
    records earns nothing for it (never a surcharge): withholding records never pays, as a
    low PDC still earns its share. One without a condition has nothing to take and is
    credited like control (only when they took part)."""
    if rb.adherence.max_bp == 0:
        return None
    if not inp.conditions:
        # Nothing on the book to take medication for: credited like control once the member
        # took part, whatever records exist (else a record of a short course would cost
        # more than sending none).
        att = ONE if took_part(inp) else ZERO
        bp = -earn(rb.adherence.max_bp, att)
        return Line(
            "adherence", bp,
            f"no chronic condition to take medication for{'' if att else ', no data sent'}:"
            f" {fmt_bp(bp)}",
            f"无需长期用药的慢性病{'' if att else '，未上传数据'}：{fmt_bp(bp)}",
            attainment=str(att),
        )  # fmt: skip
    row = _latest(inp)
    block = (row.indicators.get("adherence") if row is not None else None) or {}
    pdcs = {
        cls: dec(x["pdc"])
        for cls, x in sorted(block.items())
        if isinstance(x, dict) and x.get("sufficient") and x.get("pdc") is not None
    }
    if not pdcs:
        return Line(
            "adherence", 0,
            "no dispensing records for the year: no change (never counted as bad)",
            "本年度无配药记录：不调整（不视为不达标）", attainment="0",
        )  # fmt: skip
    full = dec(PDC_ADHERENT)
    att = sum((clamp01(p / full) for p in pdcs.values()), ZERO) / len(pdcs)
    en = ", ".join(f"{c} {p * 100:.0f}% of days covered" for c, p in pdcs.items())
    zh = "，".join(f"{ZH_DRUG.get(c, c)}覆盖{p * 100:.0f}%天数" for c, p in pdcs.items())
    bp = -earn(rb.adherence.max_bp, att)
    return Line(
        "adherence", bp,
        f"medication taken: {en} (full at {full * 100:.0f}%): {fmt_bp(bp)}",
        f"规律用药：{zh}（{full * 100:.0f}%满分）：{fmt_bp(bp)}", attainment=str(att),
    )  # fmt: skip


def _progress(rb: Rulebook, row: ScoreRow | None) -> Decimal | None:
    if row is None or row.improvement is None:
        return None
    return clamp01(dec(row.improvement) / rb.improvement_full_points)


def improvement(rb: Rulebook, inp: QuoteInputs) -> Line:
    """The composite against the member's own baseline (or kept high). Only when every own
    condition was assessed: a composite without a condition's data leaves that component out
    and renormalises, so withholding bad data would raise it."""
    row = _latest(inp)
    entries = control_entries(inp, row)
    missing = [c for c, e in entries.items() if e.get("status") == "insufficient"]
    if row is not None and missing:
        zh_missing = "、".join(ZH_COND.get(c, c) for c in missing)
        return Line(
            "improvement", 0,
            "needs enough data on every condition you have"
            f" (missing: {', '.join(missing)}): no change",
            f"需要您每种慢性病都有足够数据（缺少：{zh_missing}）：不调整",
        )  # fmt: skip
    if (
        row is not None
        and entries
        and all(e.get("status") == "controlled" for e in entries.values())
    ):
        # Every own condition controlled, by device or clinic data: kept, as a composite kept
        # high is (a member without a device has no composite, and would never reach it).
        bp = -earn(rb.improvement.max_bp, ONE)
        return Line(
            "improvement", bp,
            f"every condition you have kept under control: {fmt_bp(bp)}",
            f"您的每种慢性病均保持控制：{fmt_bp(bp)}", attainment="1",
        )  # fmt: skip
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
    years = continuous_years(rb, inp)
    bp = -rb.ladder_bp[min(years, len(rb.ladder_bp) - 1)]
    return Line(
        "ladder",
        bp,
        f"{years} continuous claim-free enrolled year(s): {fmt_bp(bp)}",
        f"连续参保且无理赔{years}年：{fmt_bp(bp)}",
        data_dependent=False,
    )


def fund_recovery(inp: QuoteInputs) -> Line | None:
    """The smoothing fund's loop closed: a deficit left after the last plan year is charged,
    a surplus above the starting capital returned, through this year's base, by
    ``spread_years`` (``api.pricing.fund``). None while the plan year's fund is not closed."""
    f = inp.fund_recovery
    if not f or not f.get("bp"):
        return None
    bp, bal = int(f["bp"]), int(f["balance_fen"])
    years, closed = int(f["spread_years"]), int(f["closed_year"])
    if bp > 0:
        en = (
            f"smoothing fund deficit ¥{-bal / 100:.2f} after {closed}, recovered over {years} years"
        )
        zh = f"平滑基金{closed}年末赤字¥{-bal / 100:.2f}，分{years}年回收"
    else:
        en = f"smoothing fund surplus after {closed} returned over {years} years"
        zh = f"平滑基金{closed}年末盈余分{years}年返还"
    return Line(
        "fund_recovery", bp, f"{en}: {fmt_bp(bp)}", f"{zh}：{fmt_bp(bp)}", data_dependent=False
    )


def loading(rb: Rulebook, inp: QuoteInputs) -> list[Line]:
    """The loading for pre-existing conditions, and its earn-back: each condition's share
    only from the control of THAT condition (CKD by blood pressure; hyperlipidaemia by an
    LDL-C result on target, once clinics upload it), never from activity or another one."""
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
    entries = control_entries(inp, _latest(inp))
    raw = sum(rb.loading_bp[c] for c in conds)
    back, parts_en, parts_zh = 0, [], []
    for c in conds:
        share = Decimal(rb.loading_bp[c]) * total / raw  # the cap spread over the conditions
        att = _attainment(entries[c])
        back += earn(int(share.to_integral_value()), rb.loading_earn_back_share * att)
        parts_en.append(f"{c} {att * 100:.0f}%")
        parts_zh.append(f"{ZH_COND.get(c, c)}{att * 100:.0f}%")
    lines.append(
        Line(
            "risk_earn_back",
            -back,
            f"risk loading earned back by control of each condition ({', '.join(parts_en)}):"
            f" {fmt_bp(-back)}",
            f"按各病症控制情况抵减风险加费（{'、'.join(parts_zh)}）：{fmt_bp(-back)}",
            attainment=str(sum((_attainment(entries[c]) for c in conds), ZERO) / len(conds)),
        )
    )
    return lines
