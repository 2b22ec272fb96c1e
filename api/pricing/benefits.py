"""Next year's benefits for a member, and what a version pays on a year's claims.

Why: Huimin Bao rewards continuous enrollment on the benefit side too (seed: Mianyang's
deductible falls to 10,000 / 8,000 yuan for members who stay), and the effect of health
management is worth what the product *pays*, not the gross hospital bill: an avoided
admission saves the insurer its payout after the deductible, the reimbursement rate and
the cap. Both are pure functions of integers (fen, basis points).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from api.pricing.inputs import QuoteInputs
from api.pricing.money import money
from api.pricing.rulebook import Rulebook
from api.pricing.versions import Benefits, Version

Category = Literal["in_list", "out_of_list", "special_drugs"]
CATEGORIES: tuple[Category, ...] = ("in_list", "out_of_list", "special_drugs")


ICD_OF = {
    "hypertension": ("I10", "I11", "I12", "I13", "I15"),
    "diabetes": ("E10", "E11", "E12", "E13", "E14"),
    "ckd": ("N18",),
    "hyperlipidaemia": ("E78",),
}


def is_preexisting(diagnosis: str, conditions: list[str]) -> bool:
    """Whether an admission is for one of the member's own conditions (its ICD-10 code in
    that condition's chapter): the claims a version pays at its pre-existing rate."""
    code = diagnosis.upper().replace(".", "")
    return any(code.startswith(p) for c in conditions for p in ICD_OF.get(c, ()))


def continuous_years(rb: Rulebook, inp: QuoteInputs) -> int:
    """Continuous enrolled years up to the experience year, counted as the ladder counts
    them: a year with a claim is not counted, and ends the run when ``claim_resets``."""
    years, y = 0, inp.plan_year - 1
    enrolled, claims = set(inp.enrolled_years), set(inp.claim_years)
    while y in enrolled:
        if y in claims:
            if rb.ladder_claim_resets:
                break
        else:
            years += 1
        y -= 1
    return years


def _rates(b: Benefits, preexisting: bool) -> dict[str, str]:
    pre = preexisting and b.rate_preexisting_bp is not None
    return {
        "in_list_pct": money(b.rate_in_list_bp),
        "out_of_list_pct": money(b.rate_out_of_list_bp),
        "special_drugs_pct": money(b.rate_special_drugs_bp),
        **({"preexisting_pct": money(b.rate_preexisting_bp or 0)} if pre else {}),
    }


# (rulebook hash, version, continuous years, pre-existing) -> terms: a book's million
# quotes share a few dozen distinct terms, and building their reasons was a tenth of a
# batch's time. Bounded: cleared when it grows past the limit.
_TERMS: dict[tuple[str, str, int, bool], dict[str, Any] | None] = {}
_TERMS_MAX = 4096


def terms(rb: Rulebook, version: Version, inp: QuoteInputs) -> dict[str, Any] | None:
    """The member's benefits under ``version`` next year, with the deductible's reason.
    The dict is shared between quotes with the same terms: do not modify it."""
    if version.benefits is None:
        return None
    years = continuous_years(rb, inp)
    pre = bool(inp.conditions) and version.benefits.rate_preexisting_bp is not None
    key = (rb.sha256, version.id, years, pre)
    got = _TERMS.get(key)
    if got is None:
        if len(_TERMS) >= _TERMS_MAX:
            _TERMS.clear()
        got = _TERMS[key] = _terms(version.benefits, years, pre)
    return got


def _terms(b: Benefits, years: int, pre: bool) -> dict[str, Any]:
    ded = b.deductible_after(years)
    cut = b.deductible_fen - ded
    if cut:
        en = (
            f"deductible ¥{money(ded)}: ¥{money(b.deductible_fen)} less ¥{money(cut)} for"
            f" {years} continuous year(s) (floor ¥{money(b.deductible_floor_fen)})"
        )
        zh = (
            f"免赔额¥{money(ded)}：连续参保{years}年，由¥{money(b.deductible_fen)}降低"
            f"¥{money(cut)}（最低¥{money(b.deductible_floor_fen)}）"
        )
    else:
        en, zh = f"deductible ¥{money(ded)}", f"免赔额¥{money(ded)}"
    if pre:
        rate = money(b.rate_preexisting_bp or 0)
        en += f"; claims for pre-existing conditions reimbursed at {rate}%"
        zh += f"；既往症相关费用按{rate}%赔付"
    return {
        "deductible_fen": ded,
        "deductible_yuan": money(ded),
        "deductible_before_cut_yuan": money(b.deductible_fen),
        "continuous_years": years,
        "rates": _rates(b, pre),
        "cap_yuan": money(b.cap_fen),
        "reason_en": en,
        "reason_zh": zh,
    }


def payout(claims: Iterable[tuple[Category, int, bool]], b: Benefits, deductible_fen: int) -> int:
    """What the version pays on one member-year's eligible expenses, in fen.

    ``claims`` are (category, eligible amount in fen, for a pre-existing condition). The one
    annual deductible is met by the expenses in category order (in-list, out-of-list,
    special drugs; within a category, in the order given), each remaining fen is paid at its
    category's rate (the pre-existing rate instead, for a pre-existing condition, where the
    version has one), and the year's total stops at the cap. Each amount rounds half up to
    the fen once, after its rate.
    """
    rate = {
        "in_list": b.rate_in_list_bp,
        "out_of_list": b.rate_out_of_list_bp,
        "special_drugs": b.rate_special_drugs_bp,
    }
    left, paid = deductible_fen, 0
    order = {c: i for i, c in enumerate(CATEGORIES)}
    for cat, fen, pre in sorted(claims, key=lambda c: order[c[0]]):
        if fen <= 0:
            continue
        take = min(left, fen)
        left -= take
        r = b.rate_preexisting_bp if pre and b.rate_preexisting_bp is not None else rate[cat]
        paid += ((fen - take) * r * 2 + 10_000) // 20_000
    return min(paid, b.cap_fen)
