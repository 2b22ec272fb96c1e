"""Filing outputs for a product and plan year: the actuarial memorandum and the claims
disclosure by cost band (``wellrate pricing memorandum``).

Why: a city product files its pricing basis with the regulator and discloses how the pool
is doing (seed: disclosure by age and disease). The memorandum states, in the product's
payout (deductible, reimbursement rate and cap applied: ``benefits.payout``), the claims
the quoted book is expected to cost next year, the expense load, the performance-linked
discounts and what funds them (``budget_scales``), the smoothing fund, and the projected
loss ratio against the target. The disclosure splits the experience year's claims by
amount band, age band and condition, with claim counts and the days from discharge to the
claim's arrival (the feed has no payout date); cells under ``MIN_CELL`` members are
suppressed.

Assumptions, stated in the output: next year's claims per member-year equal the
experience year's (no trend); admissions are in-list expenses, at the version's deductible
before continuous-enrollment cuts (a conservative payout); the experience year is priced
with its own rulebook where one is stored, else the plan year's.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from api.pricing import benefits
from api.pricing.budget import condition_group
from api.pricing.exceptions import RulebookNotFound
from api.pricing.portfolio import MIN_CELL
from api.pricing.quoting import get_rulebook
from api.pricing.repository import Conn
from api.pricing.repository import budget as budget_repo
from api.pricing.repository import filing as filing_repo
from api.pricing.repository import fund as fund_repo
from api.pricing.rulebook import Rulebook, report_band
from scoring.models.risk import age_band

COST_BANDS = ((0, 10_000), (10_000, 50_000), (50_000, 100_000), (100_000, None))
EXPENSE_LOAD = 0.10  # ASSUMPTION: administration and distribution, a tenth of premiums
TARGET_LOSS_RATIO = 0.85  # regulators ask Huimin Bao for ~85-90 % (seed 000)


def _band(yuan: float) -> str:
    for lo, hi in COST_BANDS:
        if hi is None or yuan < hi:
            return f"{lo:,}-{hi:,}" if hi is not None else f"{lo:,}+"
    return "?"


def _paid(rb: Rulebook, row: dict[str, Any], yuan: float, icd: str) -> float:
    b = rb.version_named(row["product_version"]).benefits
    if b is None:
        return yuan
    pre = benefits.is_preexisting(icd, list(row["conditions"] or ()))
    return benefits.payout([("in_list", round(yuan * 100), pre)], b, b.deductible_fen) / 100


def _experience(conn: Conn, product_id: str, year: int, fallback: Rulebook) -> dict[str, Any]:
    try:
        rb = get_rulebook(conn, product_id, year)
    except RulebookNotFound:
        rb = fallback
    rows = filing_repo.experience(conn, product_id, year)
    member_years = sum(float(r["exposure"]) for r in rows)
    claims: list[dict[str, Any]] = []
    for r in rows:
        for yuan, icd, lag in zip(r["claims_yuan"], r["diagnoses"], r["lag_days"], strict=True):
            claims.append({"row": r, "gross": yuan, "paid": _paid(rb, r, yuan, icd), "lag": lag})
    paid = sum(c["paid"] for c in claims)
    return {
        "year": year,
        "rulebook_version": rb.version,
        "members": len(rows),
        "member_years": round(member_years, 2),
        "claims": len(claims),
        "gross_yuan": round(sum(c["gross"] for c in claims), 2),
        "paid_yuan": round(paid, 2),
        "paid_per_member_year": round(paid / member_years, 2) if member_years else None,
        "_claims": claims,
        "_rows": rows,
    }


def _cells(claims: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in claims:
        for k in key(c):
            groups[k].append(c)
    out = []
    for label, cs in sorted(groups.items()):
        members = len({c["row"]["member_id"] for c in cs})
        if members < MIN_CELL:
            out.append({"cell": label, "suppressed": True})
            continue
        lags = [c["lag"] for c in cs if c["lag"] is not None]
        out.append({
            "cell": label, "suppressed": False, "members": members, "claims": len(cs),
            "gross_yuan": round(sum(c["gross"] for c in cs), 2),
            "paid_yuan": round(sum(c["paid"] for c in cs), 2),
            "median_days_discharge_to_claim": statistics.median(lags) if lags else None,
        })  # fmt: skip
    return out


def memorandum(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any]:
    """The memorandum's figures and the disclosure's cells (see the module docstring)."""
    rb = get_rulebook(conn, product_id, plan_year)
    book = filing_repo.quoted_book(conn, product_id, plan_year)
    exp = _experience(conn, product_id, plan_year - 1, rb)
    claims = exp.pop("_claims")
    exp.pop("_rows")
    premiums = sum(int(r["premium_fen"]) for r in book) / 100
    per = exp["paid_per_member_year"]
    expected = round(per * len(book), 2) if per is not None else None
    budget = budget_repo.get_scale(conn, product_id, plan_year)
    closing = fund_repo.get_closing(conn, product_id, plan_year)
    balance = rb.fund_capital_fen + fund_repo.balance_before(conn, product_id, plan_year + 1)
    by_version: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in book:
        v = by_version[r["version_id"] or rb.product_version]
        v[0] += 1
        v[1] += int(r["premium_fen"])
    versions = {
        k: {"members": n, "premiums_yuan": fen / 100} for k, (n, fen) in sorted(by_version.items())
    }
    return {
        "product_id": product_id,
        "plan_year": plan_year,
        "rulebook_version": rb.version,
        "members_quoted": len(book),
        "premiums_yuan": round(premiums, 2),
        "by_version": versions,
        "discounts_yuan": round(sum(int(r["discount_fen"]) for r in book) / 100, 2),
        "experience": exp,
        "expected_claims_yuan": expected,
        "expense_load_yuan": round(EXPENSE_LOAD * premiums, 2),
        "target_loss_ratio": TARGET_LOSS_RATIO,
        "projected_loss_ratio": round(expected / premiums, 3) if expected and premiums else None,
        "discount_budget": _budget_doc(budget),
        "fund": {
            "balance_yuan": balance / 100,
            "closing_bp": closing["adjust_bp"] if closing else None,
            "solvency_floor_yuan": rb.fund_floor_fen / 100,
        },
        "disclosure": _disclosure(rb, claims),
        "assumptions": [
            "next year's claims per member-year equal the experience year's (no trend)",
            "admissions are in-list expenses at the version's deductible before cuts",
            f"expense load {EXPENSE_LOAD:.0%} of premiums",
        ],
    }


def _budget_doc(budget: dict[str, Any] | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {
        "basis": budget["basis"],
        "budget_yuan": budget["budget_fen"] / 100,
        "scale": budget["scale_ppm"] / 1e6,
        "projected_spend_yuan": budget["projected_fen"] / 100,
    }


def _disclosure(rb: Rulebook, claims: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "min_cell_members": MIN_CELL,
        "by_cost_band": _cells(claims, lambda c: [_band(c["gross"])]),
        "by_age_band": _cells(claims, lambda c: [report_band(rb, int(c["row"]["age"]))]),
        "by_condition": _cells(claims, lambda c: list(c["row"]["conditions"] or ()) or ["none"]),
    }


def markdown(m: dict[str, Any]) -> str:
    """The memorandum as Markdown (the figures above, in words and tables)."""
    e = m["experience"]
    lines = [
        f"# Actuarial memorandum: {m['product_id']} {m['plan_year']}"
        f" (rulebook {m['rulebook_version']})",
        "",
        f"- Members quoted: {m['members_quoted']:,}; premiums ¥{m['premiums_yuan']:,.2f};"
        f" performance-linked discounts ¥{m['discounts_yuan']:,.2f}",
        f"- Experience {e['year']}: {e['members']:,} members, {e['member_years']:,} member-years,"
        f" {e['claims']:,} claims, gross ¥{e['gross_yuan']:,.2f}, paid ¥{e['paid_yuan']:,.2f}"
        f" (¥{e['paid_per_member_year']} per member-year)",
        f"- Expected claims (payout): ¥{m['expected_claims_yuan']}; expense load"
        f" ¥{m['expense_load_yuan']:,.2f}; projected loss ratio {m['projected_loss_ratio']}"
        f" against a target of {m['target_loss_ratio']}",
        f"- Discount budget: {m['discount_budget'] or 'not set'}",
        f"- Smoothing fund: {m['fund']}",
        "",
        "## Claims by cost band (gross yuan), small cells suppressed",
        "",
        "| band | members | claims | gross | paid | median days discharge to claim |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in m["disclosure"]["by_cost_band"]:
        if c["suppressed"]:
            lines.append(f"| {c['cell']} | < {m['disclosure']['min_cell_members']} | | | | |")
        else:
            lines.append(
                f"| {c['cell']} | {c['members']} | {c['claims']} | {c['gross_yuan']:,.2f} |"
                f" {c['paid_yuan']:,.2f} | {c['median_days_discharge_to_claim']} |"
            )
    lines += ["", "Assumptions: " + "; ".join(m["assumptions"]) + "."]
    return "\n".join(lines) + "\n"


def write(m: dict[str, Any], out: Path) -> list[Path]:
    """``memorandum-<product>-<year>.md`` and a PNG of premiums against expected costs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    md = out / f"memorandum-{m['product_id']}-{m['plan_year']}.md"
    md.write_text(markdown(m), encoding="utf-8")
    png = md.with_suffix(".png")
    labels = ["premiums", "expected claims", "expense load", "discounts"]
    vals = [m["premiums_yuan"], m["expected_claims_yuan"] or 0, m["expense_load_yuan"],
            m["discounts_yuan"]]  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(labels, vals, color=["#0b5394", "#b45f06", "#888888", "#6aa84f"])
    ax.set_ylabel("yuan")
    ax.set_title(f"{m['product_id']} {m['plan_year']}: premiums against expected costs")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return [md, png]


def _premium(rb: Rulebook, row: dict[str, Any]) -> float:
    """What the member-year paid: the premium uploaded, else the quote, else the base."""
    for k in ("premium_paid_fen", "quoted_fen"):
        if row.get(k) is not None:
            return int(row[k]) / 100
    band = rb.version_named(row["product_version"]).band_for(int(row["age"]))
    return (band.base_fen if band else rb.band_for(int(row["age"])).base_fen) / 100


def _city(conn: Conn, product: str, year: int) -> dict[str, Any]:
    """One city's experience year by cell (age band x condition group): member-years and
    payout, and its premiums."""
    rb = get_rulebook(conn, product, year + 1)
    exp = _experience(conn, product, year, rb)
    paid_by_member: dict[str, float] = defaultdict(float)
    for c in exp.pop("_claims"):
        paid_by_member[c["row"]["member_id"]] += c["paid"]
    cells: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    premiums = 0.0
    for r in exp.pop("_rows"):
        cell = f"{condition_group(list(r['conditions'] or ()))}|{age_band(int(r['age']))}"
        cells[cell][0] += float(r["exposure"])
        cells[cell][1] += paid_by_member.get(r["member_id"], 0.0)
        premiums += _premium(rb, r) * float(r["exposure"])
    return {"product_id": product, "experience": exp, "premiums": premiums, "cells": cells}


def provincial(conn: Conn, products: list[str], year: int) -> dict[str, Any]:
    """Several city products pooled for one experience year: each city's loss ratio, its
    claims against those expected at the province's rates per cell (age band x condition
    group: indirect standardisation, observed / expected), and the transfer a provincial
    pool at the province's loss ratio would make to (+) or from (-) the city."""
    cities = [_city(conn, p, year) for p in products]
    pooled: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for c in cities:
        for cell, (w, paid) in c["cells"].items():
            pooled[cell][0] += w
            pooled[cell][1] += paid
    rate = {cell: (paid / w if w else 0.0) for cell, (w, paid) in pooled.items()}
    premiums = sum(float(c["premiums"]) for c in cities)
    lr = sum(p for _, p in pooled.values()) / premiums if premiums else None
    out = []
    for c in cities:
        paid, prem = float(c["experience"]["paid_yuan"]), float(c["premiums"])
        expected = sum(w * rate[cell] for cell, (w, _) in c["cells"].items())
        out.append(
            {
                "product_id": c["product_id"],
                "members": c["experience"]["members"],
                "member_years": c["experience"]["member_years"],
                "premiums_yuan": round(prem, 2),
                "paid_yuan": paid,
                "loss_ratio": round(paid / prem, 3) if prem else None,
                "expected_at_province_rates_yuan": round(expected, 2),
                "observed_over_expected": round(paid / expected, 3) if expected else None,
                "pool_transfer_yuan": None if lr is None else round(paid - lr * prem, 2),
            }
        )
    return {
        "experience_year": year,
        "pooled_loss_ratio": None if lr is None else round(lr, 3),
        "cells_pooled": len(pooled),
        "cities": out,
    }
