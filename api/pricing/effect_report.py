"""``wellrate effect report``: the incentive's effect for a product and plan year, from the
stored holdout, enrollments and claims, in the product's payout (``api.pricing.effect``).

Claims are the year's hospital admissions (gross yuan). Each member-year is turned into
what the product paid on it with the member's own version and the deductible their quote
for the year set (``benefits.payout``): one annual deductible, the in-list rate, the lower
pre-existing rate for an admission whose ICD-10 code is one of the member's own conditions
(hypertension I10-I15, diabetes E10-E14, CKD N18, hyperlipidaemia E78) where the version
has one, and the cap. Admissions are taken as in-list expenses: the claims feed does not
split them (stated in the report).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from api.pricing import benefits, effect
from api.pricing.budget import condition_group
from api.pricing.exceptions import NoEffectData
from api.pricing.holdout_rule import CONTROL
from api.pricing.quoting import get_rulebook
from api.pricing.repository import Conn
from api.pricing.repository import effect as effect_repo
from api.pricing.rulebook import Rulebook
from api.pricing.versions import Benefits
from scoring.models.risk import age_band


def _deductible(rb: Rulebook, row: dict[str, Any]) -> tuple[Benefits | None, int]:
    """The member's version and the deductible their quote set (else the version's own)."""
    ver = rb.version_named(row["version_id"])
    held = next((v for v in json.loads(row["versions"] or "[]") if v.get("held")), None)
    b = ver.benefits
    if b is None:
        return None, 0
    terms = (held or {}).get("benefits") or {}
    return b, int(terms.get("deductible_fen", b.deductible_fen))


def paid_yuan(rb: Rulebook, row: dict[str, Any]) -> float:
    """What the product paid on one member-year (gross when the version has no benefits)."""
    b, deductible = _deductible(rb, row)
    conds = list(row["conditions"] or ())
    claims: list[tuple[benefits.Category, int, bool]] = [
        ("in_list", round(y * 100), benefits.is_preexisting(d, conds))
        for y, d in zip(row["claims_yuan"], row["diagnoses"], strict=True)
    ]
    if b is None:
        return sum(fen for _, fen, _ in claims) / 100
    return benefits.payout(claims, b, deductible) / 100


def report(
    conn: Conn,
    product_id: str,
    plan_year: int,
    *,
    prior_yuan: float | None = None,
    prior_sd_yuan: float | None = None,
) -> dict[str, Any]:
    """The effect by cohort and overall, credibility-weighted, with the engagement gradient."""
    rows = effect_repo.member_years(conn, product_id, plan_year)
    if not rows:
        raise NoEffectData(
            f"no member of {product_id} {plan_year} was drawn into the holdout and enrolled;"
            " draw it (`wellrate pricing holdout-draw`) and upload enrollments and claims"
        )
    rb = get_rulebook(conn, product_id, plan_year)  # the benefits the claims were paid under
    control = np.array([r["arm"] == CONTROL for r in rows])
    cohort = [f"{condition_group(list(r['conditions'] or ()))}|{age_band(r['age'])}" for r in rows]
    exposure = np.array([float(r["exposure"]) for r in rows])
    paid = np.array([paid_yuan(rb, r) for r in rows])
    overall, per = effect.itt(control, cohort, exposure, paid)
    prior = rb.effect_prior_fen / 100 if prior_yuan is None else prior_yuan
    sd = rb.effect_prior_sd_fen / 100 if prior_sd_yuan is None else prior_sd_yuan
    top, cohorts, parts = effect.credibility(per, overall, prior, sd)
    engaged = np.array([bool(r["engaged"]) for r in rows])
    inc = ~control
    return {
        "product_id": product_id,
        "plan_year": plan_year,
        "member_years": float(exposure.sum()),
        "members": {"control": int(control.sum()), "incentive": int(inc.sum())},
        "money": "yuan of payout per member-year (deductible, rates and cap applied)",
        "claims_basis": "admissions as in-list expenses; pre-existing rate by ICD-10 code",
        "overall": overall.to_dict(),
        "credible": top.__dict__,
        "cohorts": [
            {**e.to_dict(), "credible": c.credible, "z": c.z}
            for e, c in zip(per, cohorts, strict=True)
        ],
        "buhlmann_straub": parts,
        "prior": {"savings_yuan": prior, "sd_yuan": sd},
        "engagement_gradient": effect.engagement_gradient(engaged[inc], exposure[inc], paid[inc]),
    }


def plot(rep: dict[str, Any], path: Path) -> Path:
    """Savings per member-year by cohort with 95 % intervals, and the credible blend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [*rep["cohorts"], {**rep["overall"], "credible": rep["credible"]["credible"]}]
    labels = [r["cohort"] for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
    x = np.array([r["savings"] for r in rows])
    err = np.array(
        [[r["savings"] - r["low"] for r in rows], [r["high"] - r["savings"] for r in rows]]
    )
    ax.errorbar(x, y, xerr=np.nan_to_num(err), fmt="o", color="#0b5394", label="estimate, 95 %")
    ax.plot([r["credible"] for r in rows], y, "D", color="#b45f06", label="credible (with prior)")
    ax.axvline(0, color="#888", lw=1)
    ax.axvline(rep["prior"]["savings_yuan"], color="#b45f06", lw=1, ls=":", label="prior")
    ax.set_yticks(y, labels)
    ax.set_xlabel("payout saved per member-year, yuan (control - incentive)")
    ax.set_title(f"{rep['product_id']} {rep['plan_year']}: effect of the incentive")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
