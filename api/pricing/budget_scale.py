"""A discount budget the effect pays for: the scale of a plan year's performance-linked
discounts, set before its first quote.

Why: discounts are worth granting only up to what they save. The year's budget is the
credible savings measured against the randomised holdout in the experience year
(``api.pricing.effect_report``: yuan of payout saved per member-year, credibility-weighted
with the rulebook's prior) times the book's member-years, less the rulebook's margin
(``[budget] margin_pct``). With no credible effect yet (no holdout measured, or the city's
estimate carrying less than half the weight of the credibility blend, Z < 0.5) it is the
rulebook's declared start-up budget (``[budget] startup_yuan``), funded and disclosed.

A pass over the book prices every member as a quote would (nothing stored) and sums the
performance-linked discounts the incentive arm would receive on the versions they hold;
the scale is budget / projected spend, never above 1 (the budget can cut the rulebook's
discounts, never raise them). It is stored with the rulebook version (``budget_scales``),
read with the rulebook by every quote, applied to each such line and stated in its reason.
"""

from __future__ import annotations

from typing import Any

from api.pricing import effect_report, engine
from api.pricing.exceptions import NoEffectData
from api.pricing.money import fen_of
from api.pricing.quoting import before_first_quote, get_rulebook, read_context
from api.pricing.repository import Conn
from api.pricing.repository import batch as batch_repo
from api.pricing.repository import budget as budget_repo

CHUNK = 5000
PPM = 1_000_000
CREDIBLE_Z = 0.5  # the city's estimate carries at least half the weight of the blend


def projected_spend(conn: Conn, product_id: str, plan_year: int, ids: list[str]) -> int:
    """The performance-linked discounts (fen) the book would receive, unscaled."""
    total = 0
    for i in range(0, len(ids), CHUNK):
        ctx = read_context(conn, ids[i : i + CHUNK], product_id, plan_year)
        for inp in ctx.inputs.values():
            p = engine.price(ctx.rulebook, inp)
            total += sum(
                -fen_of(p.base_fen, x.bp) for x in p.lines if x.data_dependent and x.bp < 0
            )
    return total


def _budget(
    conn: Conn, product_id: str, plan_year: int, members: int
) -> tuple[int, str, dict[str, Any]]:
    rb = get_rulebook(conn, product_id, plan_year)
    keep = 1 - rb.budget_margin_bp / 10_000
    try:
        rep = effect_report.report(conn, product_id, plan_year - 1)
    except NoEffectData:
        rep = None
    # Not credible yet: the city's own estimate carries less than half the weight of the
    # blend (Buhlmann-Straub Z < 0.5); the declared start-up budget still pays, disclosed.
    z = float(rep["credible"]["z"]) if rep is not None else 0.0
    if rep is not None and (z >= CREDIBLE_Z or rb.startup_budget_fen is None):
        per_year = max(0.0, float(rep["credible"]["credible"]))
        budget = round(per_year * members * keep * 100)
        detail = {
            "credible_savings_yuan_per_member_year": per_year,
            "members": members,
            "margin_pct": rb.budget_margin_bp / 100,
            "effect_year": plan_year - 1,
            "credibility_z": z,
        }
        return budget, "effect", detail
    if rb.startup_budget_fen is None:
        raise NoEffectData(
            f"no effect measured for {product_id} {plan_year - 1} and no [budget] startup_yuan"
            " declared: nothing funds the discounts"
        )
    detail = {"members": members}
    if rep is not None:
        detail["effect_not_yet_credible_z"] = z
    return rb.startup_budget_fen, "startup", detail


def set_scale(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any]:
    """Compute and store the plan year's scale (once, before its first quote)."""
    got = budget_repo.get_scale(conn, product_id, plan_year)
    if got is not None:
        return {**got, "action": "unchanged"}
    before_first_quote(
        conn,
        product_id,
        plan_year,
        "its discount budget must be set",
        "so that every quote of the year applies the same scale",
    )
    rb = get_rulebook(conn, product_id, plan_year)
    ids, book = batch_repo.book_member_ids(conn, product_id, plan_year)
    budget, basis, detail = _budget(conn, product_id, plan_year, len(ids))
    spend = projected_spend(conn, product_id, plan_year, ids)
    scale = PPM if spend <= budget else budget * PPM // spend
    row = {
        "product_id": product_id, "plan_year": plan_year, "rulebook_sha256": rb.sha256,
        "scale_ppm": scale, "budget_fen": budget, "projected_fen": spend, "basis": basis,
        "detail": {**detail, "book": book},
    }  # fmt: skip
    budget_repo.insert_scale(conn, row)
    return {**row, "action": "set"}
