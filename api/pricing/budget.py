"""The discount-budget check: do expected claim savings pay for the discounts, by cohort?

Why: an insurer grants health-management discounts only if lower claims fund them. For each
cohort (age band x condition group) of a product's stored quotes for a plan year, this sums
the data-dependent discounts granted (engagement, control, improvement, risk earn-back:
the components a member earns with data; the claim-free ladder is priced on claims
experience and is left out) and the expected claim savings the risk model attributes to
the members' change in control: E[cost | baseline indicators] - E[cost | current
indicators], baseline being each member's first scored window and current the window the
quote used. A cohort passes when savings >= discounts x (1 - margin).

A member who was already well controlled at baseline saves nothing against themself but
still earns "maintain" discounts: that is a real cost the cohort's improvers must fund,
which is exactly what this check exposes. It never changes a quote; it reports.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np

from api.pricing.exceptions import NoRiskModel
from api.pricing.repository import Conn
from api.pricing.repository import reports as reports_repo
from scoring.models import service as models
from scoring.models.risk import MemberFeatures, RiskModel, age_band, feature_matrix


def condition_group(conditions: list[str]) -> str:
    ht, dm = "hypertension" in conditions, "diabetes" in conditions
    return (
        "hypertension+diabetes"
        if ht and dm
        else "hypertension"
        if ht
        else ("diabetes" if dm else "none")
    )


def budget_check(
    conn: Conn, product_id: str, plan_year: int, *, margin_pct: float
) -> dict[str, Any]:
    """Per cohort: members, discounts (yuan), expected savings (yuan), ratio, pass."""
    got = models.load(conn)
    if got is None:
        raise NoRiskModel("no risk model is registered; run `wellrate model train` first")
    version, model = got
    rows = reports_repo.budget_rows(conn, product_id, plan_year)
    keep = 1.0 - margin_pct / 100.0
    out = _cohorts(*_per_member(model, rows), keep)
    total_d = sum(float(x["discounts_yuan"]) for x in out)
    total_s = sum(float(x["expected_savings_yuan"]) for x in out)
    return {
        "product_id": product_id,
        "plan_year": plan_year,
        "model_version": version,
        "margin_pct": margin_pct,
        "cohorts": out,
        "total": {
            "members": len(rows),
            "discounts_yuan": round(total_d, 2),
            "expected_savings_yuan": round(total_s, 2),
            "passes": bool(total_s >= total_d * keep),
        },
    }


def _per_member(
    model: RiskModel, rows: list[dict[str, Any]]
) -> tuple[list[tuple[str, str]], list[Decimal], list[float]]:
    """Each member's cohort, data-dependent discount granted (yuan) and expected savings
    (yuan): the model's expected cost at baseline minus at the quote's current indicators."""
    base_f, cur_f, ages, keys, discounts = [], [], [], [], []
    for r in rows:
        conds = tuple(r["conditions"] or ())
        ages.append(int(r["age"]))
        base_f.append(MemberFeatures(r["age"], r["sex"], conds, r["baseline"] or {}))
        cur_f.append(MemberFeatures(r["age"], r["sex"], conds, r["current"] or {}))
        keys.append((age_band(int(r["age"])), condition_group(list(conds))))
        granted = sum(
            (-Decimal(c["yuan"]) for c in r["components"] if c.get("data_dependent")),
            Decimal(0),
        )
        discounts.append(granted)
    savings = np.zeros(len(rows))
    if rows:
        a = np.asarray(ages, dtype=np.int64)
        savings = model.expected_cost(feature_matrix(base_f), a) - model.expected_cost(
            feature_matrix(cur_f), a
        )
    return keys, discounts, savings.tolist()


def _cohorts(
    keys: list[tuple[str, str]], discounts: list[Decimal], savings: list[float], keep: float
) -> list[dict[str, Any]]:
    """The members summed by cohort; a cohort passes when savings >= discounts x keep."""
    cohorts: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"members": 0, "discounts_yuan": Decimal(0), "savings_yuan": 0.0}
    )
    for key, d, s in zip(keys, discounts, savings, strict=True):
        c = cohorts[key]
        c["members"] += 1
        c["discounts_yuan"] += d
        c["savings_yuan"] += s
    out = []
    for (band, group), c in sorted(cohorts.items()):
        disc = float(c["discounts_yuan"])
        out.append(
            {
                "age_band": band,
                "conditions": group,
                "members": c["members"],
                "discounts_yuan": round(disc, 2),
                "expected_savings_yuan": round(c["savings_yuan"], 2),
                "savings_to_discounts": round(c["savings_yuan"] / disc, 3) if disc > 0 else None,
                "passes": bool(c["savings_yuan"] >= disc * keep),
            }
        )
    return out
