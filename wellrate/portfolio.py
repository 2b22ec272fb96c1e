"""``wellrate portfolio``: the 5-year city simulation with the real pricing engine.

Part of the composition root: it wires the simulator's dynamics (``device_sim.portfolio``)
to the rulebook engine (``api.pricing.engine``) and scoring's composite, which those
packages may not import across.

    wellrate portfolio --members 20000 --years 5 --seed 1 --out artifacts/portfolio
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from api.pricing import engine
from api.pricing.inputs import QuoteInputs, ScoreRow
from api.pricing.rulebook import Rulebook, packaged_text, parse
from device_sim.portfolio import (
    MemberState,
    Scenario,
    YearRow,
    as_table,
    load_params,
    simulate,
    sources,
    verdict,
)
from scoring.composite import composite_score
from scoring.config import ScoringConfig

PRODUCT, PLAN_YEAR = "demo-city", 2027
CONFIG = ScoringConfig()


def _indicators(s: MemberState, sbp: float, tir: float | None, steps: float) -> dict[str, Any]:
    """The stored-contract indicators a year of this member's data would produce."""
    target = CONFIG.bp_targets.for_member(s.age, s.conditions)
    ok = sbp < target[0]
    ind: dict[str, Any] = {
        "activity": {
            "sufficient": True,
            "valid_days": 300,
            "median_steps": steps,
            "step_target": 7000 if s.age >= 60 else 8000,
            "mvpa_min_per_week": steps / 60.0,  # ASSUMPTION: ~1 brisk minute per 60 steps
            "meets_who": steps / 60.0 >= 150,
        }
    }
    if "hypertension" in s.conditions:
        ind["bp"] = {
            "sufficient": True,
            "home_mean_sys": sbp,
            "home_mean_dia": 0.6 * sbp,
            "target_sys": target[0],
            "target_dia": target[1],
            "controlled": ok,
            "pct_in_target": 75.0 if ok else 30.0,
            "months_assessed": 12,
            "months_controlled": 12 if ok else 0,
            "protocol_weeks": 40,
            "n_readings": 400,
        }
    if "diabetes" in s.conditions and tir is not None:
        ind["cgm"] = {"sufficient": True, "tir": tir, "tbr70": 2.0, "active_pct": 85.0}
    return ind


def make_price(rb: Rulebook) -> Callable[[MemberState], tuple[float, float]]:
    def price(s: MemberState) -> tuple[float, float]:
        rows: tuple[ScoreRow, ...] = ()
        if s.engaged:  # members who don't engage send no data: no data-dependent discount
            now = _indicators(s, s.sbp, s.tir, s.steps)
            then = _indicators(s, s.baseline_sbp, s.baseline_tir, s.baseline_steps)
            c_now = composite_score(now, conditions=s.conditions, window_days=365, config=CONFIG)
            c_then = composite_score(then, conditions=s.conditions, window_days=365, config=CONFIG)
            imp = (
                None
                if c_now.composite is None or c_then.composite is None
                else c_now.composite - c_then.composite
            )
            rows = (
                ScoreRow(
                    f"{PLAN_YEAR - 1}-01-01", f"{PLAN_YEAR}-01-01", "sim", c_now.composite, imp, now
                ),
            )
        years = tuple(range(PLAN_YEAR - s.enrolled_years, PLAN_YEAR))
        claims = () if s.claim_free_years >= s.enrolled_years else (PLAN_YEAR - 1,)
        inp = QuoteInputs(
            member_id="sim",
            product_id=PRODUCT,
            plan_year=PLAN_YEAR,
            age=max(0, min(130, s.age)),
            conditions=tuple(sorted(s.conditions)),
            scores=rows,
            enrolled_years=years,
            claim_years=claims,
            claims_count=len(claims),
        )
        p = engine.price(rb, inp)
        disc_bp = -sum(ln.bp for ln in p.lines if ln.data_dependent and ln.bp < 0)
        return p.unsmoothed_fen / p.base_fen, disc_bp / 10_000

    return price


def scenarios() -> list[Scenario]:
    """The uniform-price baseline without incentive (with and without smoothing), then the
    incentive with smoothing at effect 0, the lower bound and the estimate."""
    low = load_params()["effect"]["low_share"]
    return [
        Scenario(False, False, "baseline: no incentive"),
        Scenario(False, True, "no incentive, smoothing"),
        Scenario(True, True, "incentive, effect 0", effect=0.0),
        Scenario(True, True, f"incentive, effect {low:g} (low)", effect=low),
        Scenario(True, True, "incentive, effect 1 (estimate)", effect=1.0),
    ]


def run(members: int, years: int, seed: int) -> dict[str, list[YearRow]]:
    text = packaged_text(PRODUCT, PLAN_YEAR)
    assert text is not None
    rb = parse(text)
    price = make_price(rb)

    def base(age: int) -> float:
        return rb.band_for(max(0, min(130, age))).base_fen / 100.0

    return {
        sc.name: simulate(
            sc, price=price, base=base, members=members, years=years, seed=seed,
            max_yoy=rb.max_yoy_bp / 10_000,
        )
        for sc in scenarios()
    }  # fmt: skip


def _plot(results: dict[str, list[YearRow]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [
        ("mean_premium", "mean premium (yuan)"),
        ("loss_ratio", "loss ratio"),
        ("pool", "members in the pool"),
        ("share_with_conditions", "share with a chronic condition"),
        ("renewal_healthy", "renewal, members without a condition"),
        ("renewal_conditions", "renewal, members with a condition"),
        ("fund_balance", "smoothing fund (yuan)"),
        ("deadweight_share", "deadweight share of discounts"),
        ("margin_per_member", "insurer margin per member (yuan)"),
    ]
    fig, axes = plt.subplots(3, 3, figsize=(15, 10))
    for ax, (key, label) in zip(axes.flat, metrics, strict=True):
        for name, rows in results.items():
            ax.plot([r.year for r in rows], [getattr(r, key) for r in rows], "o-", label=name)
        ax.set_title(label)
        ax.set_xlabel("year")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _table(table: list[dict[str, Any]]) -> list[str]:
    head = (
        "| scenario | year | pool | premium | loss ratio | renewal healthy / with conditions"
        " | 60+ | with conditions | fund | discounts | savings | deadweight | margin/member |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(
            f"| {r['scenario']} | {r['year']} | {r['pool']:,} | {r['mean_premium']:.2f} |"
            f" {r['loss_ratio']:.2f} | {r['renewal_healthy']:.0%} / {r['renewal_conditions']:.0%}"
            f" | {r['share_60_plus']:.0%} | {r['share_with_conditions']:.0%} |"
            f" {r['fund_balance']:,.0f} | {r['discounts_yuan']:,.0f} | {r['savings_yuan']:,.0f} |"
            f" {r['deadweight_share']:.0%} | {r['margin_per_member']:.1f} |"
        )
    return lines


def main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(prog="wellrate portfolio", description=__doc__)
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="artifacts/portfolio")
    a = ap.parse_args(argv)
    results = run(a.members, a.years, a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    table = [row for rows in results.values() for row in as_table(rows)]
    with (out / "portfolio.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    lines = _table(table)
    baseline = results["baseline: no incentive"]
    verdicts = [verdict(rows, baseline) for rows in results.values()]
    params = ["", "| parameter | value | source |", "|---|---|---|"] + [
        f"| {k} | {v:g} | {src} |" for k, v, src in sources()
    ]
    (out / "portfolio.md").write_text(
        "\n".join([*lines, "", *verdicts, *params]) + "\n", encoding="utf-8"
    )
    _plot(results, out / "portfolio.png")
    print("\n".join(lines))
    print()
    print("\n".join(verdicts))
    print(json.dumps({"out": str(out)}))
    return 0
