"""The premium for one member: PURE functions of (rulebook, inputs), no I/O, no clock.

:func:`price` runs three stages, each a function of its own so each rule has one home:

1. :func:`components` — the discounts each member earns (``api.pricing.components``),
   capped at the rulebook's maximum, and the condition loading with its earn-back;
2. :func:`limits` — the premium held between the product's floor and ceiling;
3. :func:`smoothing` — the smoothing cap: the change from last year's premium limited to
   ``max_yoy_bp`` either way, the difference booked in the smoothing fund.

Money is integer fen and percentages integer basis points (``api.pricing.money``), so
identical inputs give the identical premium to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.pricing.components import (
    Line,
    activity,
    adherence,
    control,
    engagement,
    fund_recovery,
    improvement,
    ladder,
    loading,
)
from api.pricing.holdout_rule import CONTROL
from api.pricing.inputs import QuoteInputs
from api.pricing.money import fen_of, fmt_bp
from api.pricing.rulebook import Rulebook
from api.pricing.versions import Version


@dataclass(frozen=True)
class Priced:
    version_id: str
    base_fen: int
    lines: tuple[Line, ...]
    discount_bp: int
    loading_bp: int
    unsmoothed_fen: int
    premium_fen: int
    ledger_fen: int  # > 0 credit to the smoothing fund, < 0 debit
    smoothing: dict[str, Any] = field(default_factory=dict)


def price(rb: Rulebook, inp: QuoteInputs, version_id: str | None = None) -> Priced:
    """The premium for one member on one version (the one they held last year, else the
    default): components, then the product's limits, then smoothing."""
    ver = rb.version_named(version_id if version_id is not None else inp.held_version)
    return _priced(rb, inp, ver, *components(rb, inp))


def price_all(rb: Rulebook, inp: QuoteInputs) -> list[Priced]:
    """The premium on every version the member may choose, the components computed once:
    a discount is a share of whichever version's base the member buys."""
    parts = components(rb, inp)
    return [_priced(rb, inp, ver, *parts) for ver in rb.versions]


def price_versions(rb: Rulebook, inp: QuoteInputs) -> tuple[Priced, list[Priced]]:
    """The held (else default) version's pricing, and every version's, in one pass."""
    every = price_all(rb, inp)
    held = rb.version_named(inp.held_version).id
    return next(x for x in every if x.version_id == held), every


def _priced(
    rb: Rulebook, inp: QuoteInputs, ver: Version, lines: list[Line], discount: int, load: int
) -> Priced:
    band = ver.band_for(inp.age)
    base = band.base_fen if band is not None else rb.band_for(inp.age).base_fen
    lines = list(lines)
    unsmoothed, held = limits(rb, base, base + fen_of(base, load - discount))
    if held is not None:
        lines.append(held)
    # Last year's premium smooths only the version the member held: one who moves to
    # another version chooses a different product, whose price the fund does not hold back.
    same = ver.id == rb.version_named(inp.held_version).id
    premium, smoothed = smoothing(rb, unsmoothed, inp.last_premium_fen if same else None)
    # What the fund_recovery line charges (or returns) flows back to the fund's ledger: the
    # premium against the one without it (after the floor and ceiling, which may cut it).
    rec_bp = sum(x.bp for x in lines if x.code == "fund_recovery")
    without = limits(rb, base, base + fen_of(base, load - rec_bp - discount))[0] if rec_bp else 0
    return Priced(
        version_id=ver.id,
        base_fen=base,
        lines=tuple(lines),
        discount_bp=discount,
        loading_bp=load,
        unsmoothed_fen=unsmoothed,
        premium_fen=premium,
        ledger_fen=premium - (without if rec_bp else unsmoothed),
        smoothing=smoothed,
    )


def components(rb: Rulebook, inp: QuoteInputs) -> tuple[list[Line], int, int]:
    """The priced lines before the product's limits, the discount (bp, positive) after the
    rulebook's cap, and the loading (bp). A capped discount shows the cap as its own line."""
    ctl, _ = control(rb, inp)
    extra = [x for x in (activity(rb, inp), adherence(rb, inp)) if x is not None]
    discounts = [engagement(rb, inp), ctl, *extra, improvement(rb, inp)]
    if inp.holdout_arm == CONTROL:
        discounts = [_held_out(x) for x in discounts]
    elif inp.budget is not None:
        discounts = [_scaled(x, inp.budget["scale_ppm"]) for x in discounts]
    discounts.append(ladder(rb, inp))
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
    load_lines = loading(rb, inp)
    if inp.holdout_arm == CONTROL:
        load_lines = [_held_out(x) if x.data_dependent else x for x in load_lines]
    elif inp.budget is not None:
        load_lines = [_scaled(x, inp.budget["scale_ppm"]) for x in load_lines]
    if inp.budget is not None:
        load_lines.append(budget_line(inp.budget))
    if inp.holdout_arm is not None:
        load_lines.append(holdout_line(rb, inp.holdout_arm))
    recovery = fund_recovery(inp)
    if recovery is not None:
        load_lines.append(recovery)
    lines += load_lines
    return lines, discount, sum(x.bp for x in load_lines)


def _held_out(x: Line) -> Line:
    """A performance-linked line in the holdout's control arm: nothing, and why."""
    return Line(
        x.code, 0,
        "randomised control arm this year: no performance-linked discount (clinic services"
        " unchanged)",
        "本年度随机分入对照组：不享受与健康数据挂钩的折扣（社区诊所服务不变）",
        data_dependent=True, attainment=x.attainment,
    )  # fmt: skip


def _scaled(x: Line, ppm: int) -> Line:
    """A performance-linked discount times the plan year's budget scale (half away from 0)."""
    if not x.data_dependent or x.bp >= 0 or ppm >= 1_000_000:
        return x
    q, r = divmod(-x.bp * ppm, 1_000_000)
    bp = -(q + (2 * r >= 1_000_000))
    note_en = f" (x{ppm / 1e6:.3f}: the year's discount budget)"
    note_zh = f"（按本年度折扣预算×{ppm / 1e6:.3f}）"
    return x._replace(
        bp=bp,
        reason_en=x.reason_en.replace(fmt_bp(x.bp), fmt_bp(bp)) + note_en,
        reason_zh=x.reason_zh.replace(fmt_bp(x.bp), fmt_bp(bp)) + note_zh,
    )


def budget_line(budget: dict[str, Any]) -> Line:
    """The disclosure of the year's discount budget and what funds it (bp 0)."""
    scale = budget["scale_ppm"] / 1e6
    total = f"¥{budget['budget_fen'] / 100:,.0f}"
    if budget["basis"] == "effect":
        en = (
            f"health-data discounts are paid from claims savings measured against the"
            f" randomised control group: this year's budget {total}, discounts x{scale:.3f}"
        )
        zh = f"健康数据折扣来自与随机对照组相比节省的赔付：本年度预算{total}，折扣×{scale:.3f}"
    else:
        en = (
            f"health-data discounts are funded by the product's declared start-up budget"
            f" ({total}) until savings are measured: discounts x{scale:.3f}"
        )
        zh = (
            f"在测得赔付节省之前，健康数据折扣由产品声明的启动预算（{total}）支付：折扣×{scale:.3f}"
        )
    return Line("budget", 0, en, zh, data_dependent=False)


def holdout_line(rb: Rulebook, arm: str) -> Line:
    """The disclosure every quote of a plan year with a holdout carries (bp 0)."""
    share = f"{rb.holdout_share_bp / 100:g}%"
    if arm == CONTROL:
        en = (
            f"this year you were drawn at random ({share} of members) into the control group that"
            " measures whether health management lowers claims: you pay the version's price"
            " without health-data discounts, never more"
        )
        zh = (
            f"本年度您被随机抽入对照组（占参保人{share}），用于评估健康管理能否降低赔付："
            "按所选版本价格缴费，不享受健康数据折扣，也绝不多缴"
        )
    else:
        en = f"randomised evaluation: {share} of members are drawn into a control group; not you"
        zh = f"随机评估：{share}的参保人被抽入对照组，您不在其中"
    return Line("holdout", 0, en, zh, data_dependent=False)


def limits(rb: Rulebook, base_fen: int, raw_fen: int) -> tuple[int, Line | None]:
    """The premium held between the product's floor and ceiling, and the line saying so
    (None when the raw premium is within them)."""
    floor = max(rb.floor_fen, fen_of(base_fen, rb.floor_bp_of_base))
    ceiling = fen_of(base_fen, rb.ceiling_bp_of_base)
    held = min(max(raw_fen, floor), ceiling)
    if held == raw_fen:
        return held, None
    which = "floor" if held > raw_fen else "ceiling"
    return held, Line(
        which,
        0,
        f"premium held at the product {which} ¥{held / 100:.2f}",
        f"保费按产品{'下限' if which == 'floor' else '上限'}¥{held / 100:.2f}",
        data_dependent=False,
    )


def smoothing(
    rb: Rulebook, unsmoothed_fen: int, last_premium_fen: int | None
) -> tuple[int, dict[str, Any]]:
    """The smoothing cap: the premium charged and the quote's ``smoothing`` document.

    The change from last year's premium is limited to ``rb.max_yoy_bp`` either way; the
    difference (charged minus unsmoothed) is what the smoothing fund's ledger books. A
    member with no premium last year is not smoothed.
    """
    if last_premium_fen is None or last_premium_fen <= 0:
        return unsmoothed_fen, {"applied": False, "last_premium_fen": last_premium_fen}
    last = last_premium_fen
    lo = fen_of(last, 10000 - rb.max_yoy_bp)
    hi = fen_of(last, 10000 + rb.max_yoy_bp)
    premium = min(max(unsmoothed_fen, lo), hi)
    if premium == unsmoothed_fen:
        return premium, {"applied": False, "last_premium_fen": last}
    up = premium > unsmoothed_fen
    moved = f"¥{abs(premium - unsmoothed_fen) / 100:.2f}"
    return premium, {
        "applied": True,
        "last_premium_fen": last,
        "bound_pct": rb.max_yoy_bp / 100,
        "spread_years": rb.spread_years,
        "reason_en": (
            f"change from last year's ¥{last / 100:.2f} limited to "
            f"{fmt_bp(-rb.max_yoy_bp if up else rb.max_yoy_bp)}; the difference "
            f"{moved} is " + ("credited to" if up else "paid by") + " the smoothing fund"
        ),
        "reason_zh": (
            f"较去年¥{last / 100:.2f}的变动限于{rb.max_yoy_bp / 100:g}%，差额{moved}"
            + ("计入" if up else "由")
            + "平滑基金"
            + ("" if up else "承担")
        ),
    }
