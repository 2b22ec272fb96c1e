"""The disclosure report: by age band and condition, quarter by quarter.

Why: the reform asks city products to disclose how the pool is doing by age and disease.
For the members enrolled in a plan year: quarterly indicators (mean composite, share of
hypertensive members with home BP controlled, mean CGM time in range), the discounts
granted, and the loss ratio (claims paid in the quarter / a quarter of the premiums). A
cell with fewer than ``MIN_CELL`` members is suppressed: its numbers are withheld.

"Claims paid" is what the product paid, not the bills: each member's admissions go
through their version's benefits (``benefits.payout``: the deductible their quote set,
the rates, the pre-existing rate, the cap), and a quarter's share is the year-to-date
payout at its end less that at the previous quarter's end, so the deductible is met by
the year's first admissions, as the product meets it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from api.pricing.effect_report import paid_yuan
from api.pricing.portfolio import MIN_CELL
from api.pricing.quoting import age_on, get_rulebook
from api.pricing.repository import Conn
from api.pricing.repository import reports as reports_repo
from api.pricing.rulebook import Rulebook, report_band


def paid_by_quarter(rb: Rulebook, row: dict[str, Any]) -> dict[str, float]:
    """Yuan the product paid on one member's admissions, per quarter ("1".."4")."""
    quarters = list(row["claim_quarters"])
    out: dict[str, float] = {}
    before = 0.0
    for q in range(1, 5):
        upto = [k for k, cq in enumerate(quarters) if cq <= q]
        part = {**row, "claims_yuan": [row["claims_yuan"][k] for k in upto],
                "diagnoses": [row["diagnoses"][k] for k in upto]}  # fmt: skip
        total = paid_yuan(rb, part) if upto else 0.0
        out[str(q)] = round(total - before, 2)
        before = total
    return out


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 2) if xs else None


def _cell(label: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(members)
    if n < MIN_CELL:
        return {"cell": label, "members": None, "suppressed": True}
    premium = sum(m["premium_fen"] or 0 for m in members) / 100.0
    quarters = []
    for q in ("1", "2", "3", "4"):
        sc = [m["scores"].get(q) or {} for m in members]
        comp = [float(s["composite"]) for s in sc if s.get("composite") is not None]
        ht = [
            bool(s["bp_controlled"])
            for m, s in zip(members, sc, strict=True)
            if "hypertension" in m["conditions"] and s.get("bp_controlled") is not None
        ]
        tir = [float(s["tir"]) for s in sc if s.get("tir") is not None]
        paid = sum(float(m["claims"].get(q, 0.0)) for m in members)
        quarters.append(
            {
                "quarter": int(q),
                "scored": len(comp),
                "mean_composite": _mean(comp),
                "bp_controlled_share": _mean([100.0 * x for x in ht]),
                "mean_tir": _mean(tir),
                "claims_paid_yuan": round(paid, 2),
                "loss_ratio": round(paid / (premium / 4), 3) if premium > 0 else None,
            }
        )
    return {
        "cell": label,
        "members": n,
        "suppressed": False,
        "premium_yuan": round(premium, 2),
        "discount_yuan": round(sum(m["discount_fen"] or 0 for m in members) / 100.0, 2),
        "quarters": quarters,
    }


def disclosure_report(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any]:
    rb = get_rulebook(conn, product_id, plan_year)
    rows = reports_repo.disclosure_rows(conn, product_id, plan_year)
    by_band: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_cond: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        r["claims"] = paid_by_quarter(rb, r)
        age = age_on(r["birth_date"], date(plan_year, 1, 1))
        band = report_band(rb, age)
        by_band[band].append(r)
        for c in list(r["conditions"]) or ["none"]:
            by_cond[c].append(r)
    return {
        "product_id": product_id,
        "plan_year": plan_year,
        "members": len(rows),
        "min_cell_size": MIN_CELL,
        "total": _cell("all", rows),
        "by_age_band": [_cell(k, v) for k, v in sorted(by_band.items())],
        "by_condition": [_cell(k, v) for k, v in sorted(by_cond.items())],
    }
