"""The portfolio report an insurer discloses: the smoothing fund's balance, the total
discount granted, and its distribution by age band and condition, from each member's
latest quote. Cells with fewer than ``MIN_CELL`` members are suppressed (counts and sums
withheld) so no small group can be singled out.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from api.pricing.quoting import get_rulebook
from api.pricing.repository import Conn
from api.pricing.repository import reports as reports_repo
from api.pricing.rulebook import report_band

MIN_CELL = 10  # statistical disclosure control: the common small-cell threshold


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _cell(label: str, n: int, base: int, disc: int, prem: int) -> dict[str, Any]:
    if n < MIN_CELL:
        return {"cell": label, "members": None, "suppressed": True}
    return {
        "cell": label,
        "members": n,
        "suppressed": False,
        "base_premium_total": _yuan(base),
        "discount_total": _yuan(disc),
        "premium_total": _yuan(prem),
        "mean_discount": _yuan(round(disc / n)),
    }


def portfolio_report(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any]:
    rb = get_rulebook(conn, product_id, plan_year)
    by_band: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    by_cond: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    totals = [0, 0, 0, 0]
    for r in reports_repo.portfolio_cells(conn, product_id, plan_year):
        band = report_band(rb, r["age"])
        vals = (int(r["n"]), int(r["base_fen"]), int(r["discount_fen"]), int(r["premium_fen"]))
        conds = list(r["conditions"]) or ["none"]
        for acc in (by_band[band], totals, *(by_cond[c] for c in conds)):
            for i, v in enumerate(vals):
                acc[i] += v
    ledger = reports_repo.ledger_for_year(conn, product_id, plan_year)
    # The fund starts with the rulebook's capital; the ledger books every smoothing since.
    balance = rb.fund_capital_fen + reports_repo.fund_balance(conn, product_id)
    return {
        "product_id": product_id,
        "plan_year": plan_year,
        "rulebook_version": rb.version,
        "members_quoted": totals[0],
        "base_premium_total": _yuan(totals[1]),
        "discount_total": _yuan(totals[2]),
        "premium_total": _yuan(totals[3]),
        "smoothing_fund": {
            "balance": _yuan(balance),
            "credits_this_year": _yuan(ledger["credits_fen"]),
            "debits_this_year": _yuan(ledger["debits_fen"]),
            "spread_years": rb.spread_years,
            # What next years' premiums must recover (or may return) per year to clear it.
            "annual_recovery": _yuan(round(-balance / rb.spread_years)),
            "starting_capital": _yuan(rb.fund_capital_fen),
            "solvency_floor": _yuan(rb.fund_floor_fen),
            # Below the floor the fund cannot carry the smoothing: the product must reprice.
            "must_reprice": balance < rb.fund_floor_fen,
        },
        "min_cell_size": MIN_CELL,
        "by_age_band": [_cell(k, *v) for k, v in sorted(by_band.items())],
        "by_condition": [_cell(k, *v) for k, v in sorted(by_cond.items())],
    }
