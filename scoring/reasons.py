"""The composite's reasons: one English and one Chinese sentence per component.

Why a module of their own: the per-member composite and the columnar one must say exactly
the same words, so both format through these builders; numbers are printed without
decimals by :func:`f0` (one member) or :func:`f0_many` (a column), which agree to the
character. The targets the sentences quote come from ``scoring.indicators.rules``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scoring.indicators.rules import TBR70_LIMIT_PCT, TIR_TARGET_PCT, WHO_MIN_PER_WEEK

# The reasons of insufficient components, (English, Chinese).
NO_BP = ("home BP: too few protocol days", "居家血压：规范测量天数不足")
NO_GLUCOSE = ("glucose: not enough CGM or fingerstick data", "血糖：动态或指尖血糖数据不足")
NO_ACTIVITY = ("activity: too few days with enough wear", "身体活动：佩戴时间足够的天数不足")
NO_ENGAGEMENT = ("no readings in this window", "本期无测量数据")

# The targets as the reasons print them (formatted once: the reasons are per member).
_TIR_TARGET = f"{TIR_TARGET_PCT:.0f}"
_TBR_LIMIT = f"{TBR70_LIMIT_PCT:.0f}"
_WHO_MIN = f"{WHO_MIN_PER_WEEK:.0f}"


def f0(x: float | None) -> str | None:
    """A number as the reasons print it: no decimals (None stays None)."""
    return None if x is None else f"{x:.0f}"


def f0_many(a: npt.NDArray[np.float64]) -> list[str | None]:
    """:func:`f0` of every value of ``a`` (NaN is None), through whole numbers.

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


def bp_text(
    ok: bool,
    ms: str | None,
    md: str | None,
    ts: str | None,
    td: str | None,
    pct: str | None,
) -> tuple[str, str]:
    """The BP reason; numbers come formatted by :func:`f0` or :func:`f0_many`."""
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


def cgm_text(tir: float, tbr: float, gri: float | None, zone: object) -> tuple[str, str]:
    """The glucose reason from CGM: time in range and below range against the consensus."""
    extra_en = "" if gri is None else f", glycemia risk index {gri:.0f} (zone {zone})"
    extra_zh = "" if gri is None else f"，血糖风险指数{gri:.0f}（{zone}区）"
    return (
        f"CGM: time in range {tir:.0f}% (target >{_TIR_TARGET}%),"
        f" below range {tbr:.1f}% (<{_TBR_LIMIT}%){extra_en}",
        f"动态血糖：目标范围内时间{tir:.0f}%（目标>{_TIR_TARGET}%），"
        f"低于范围{tbr:.1f}%（<{_TBR_LIMIT}%）{extra_zh}",
    )


def smbg_text(f: float, p: float | None, l2: int) -> tuple[str, str]:
    """The glucose reason from fingersticks: shares in target and level-2 lows."""
    post_en = "" if p is None else f", post-meal {p:.0f}%"
    post_zh = "" if p is None else f"，餐后{p:.0f}%"
    return (
        f"fingerstick: fasting in target {f:.0f}%{post_en}; level-2 hypoglycaemia {l2}",
        f"指尖血糖：空腹达标{f:.0f}%{post_zh}；2级低血糖{l2}次",
    )


def activity_text(mv: str | None, steps: str | None, target: object) -> tuple[str, str]:
    """The activity reason: WHO minutes and median steps against the age target."""
    return (
        f"{mv} moderate-equivalent min/week (WHO: {_WHO_MIN});"
        f" median {steps} steps/day (target {target})",
        f"每周中等强度当量活动{mv}分钟（世卫：{_WHO_MIN}）；日步数中位数{steps}（目标{target}）",
    )


def engagement_text(score: str | None) -> tuple[str, str]:
    """The engagement reason: how much of the window the member's devices covered."""
    return f"devices covered {score}% of the window", f"设备数据覆盖本期{score}%"
