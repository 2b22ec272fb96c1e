"""The demo's insurer side: enrollment history and a year of claims, the plan year's set-up
(the holdout and the discount budget), quotes on every version, the experience year's
effect and the actuarial memorandum. Part of ``wellrate demo`` (the composition root)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from core import db
from core.settings import Settings
from wellrate.demo_steps import PLAN_YEAR, PRODUCT, Steps
from wellrate.demo_steps import say as _say

if TYPE_CHECKING:
    from device_sim.cohort import SimMember


def enroll(url: str, members: list[SimMember], steps: Steps) -> None:
    """Enrollment history for the quotes: most members stayed the last three plan years
    (their deductible and premium ladders have run), every seventh joined last year; every
    fourth holds the preferred version. Deterministic in the member's position."""
    from api.pricing.service import upsert_enrollments

    rows = []
    for i, m in enumerate(members):
        first = PLAN_YEAR - 1 if i % 7 == 0 else PLAN_YEAR - 3
        version = "preferred" if i % 4 == 0 else "standard"
        for year in range(first, PLAN_YEAR):
            rows.append(
                SimpleNamespace(
                    member_id=m.member_id, product_id=PRODUCT, plan_year=year,
                    enrolled_on=date(year - 1, 12, 1), premium_paid_yuan=None,
                    product_version=version,
                )
            )  # fmt: skip
    from api.pricing.service import upsert_claims
    from device_sim.outcomes import cohort_claims

    claims = [
        SimpleNamespace(claim_id=c[0], member_id=c[1], admitted_on=c[2], discharged_on=c[3],
                        amount_yuan=round(c[4], 2), diagnosis=c[5])
        for c in cohort_claims(members, PLAN_YEAR - 1, seed=7)
    ]  # fmt: skip
    with db.connect(url) as conn, conn.transaction():
        n = upsert_enrollments(conn, rows)
        _experience_holdout(conn, steps)
        k = upsert_claims(conn, claims)
    steps.done.append(f"enrollments: {n} member-years of {PRODUCT}; {k} claims in {PLAN_YEAR - 1}")
    _say(steps.done[-1])


def _plan_year(url: str, steps: Steps) -> None:
    """Before the plan year's first quote: draw the randomised holdout and set the discount
    budget (year one: the rulebook's start-up budget). A database quoted before these
    existed keeps its quotes; the demo says so and goes on."""
    from api.pricing import budget_scale, holdout
    from core.errors import DomainError

    for name, step, year in (
        ("holdout", holdout.draw, PLAN_YEAR), ("budget", budget_scale.set_scale, PLAN_YEAR)
    ):  # fmt: skip
        try:
            with db.connect(url) as conn, conn.transaction():
                out = step(conn, PRODUCT, year)
            keep = ("action", "members", "control", "scale_ppm", "budget_fen", "basis")
            steps.done.append(f"{name}: {json.dumps({k: out[k] for k in keep if k in out})}")
        except DomainError as exc:
            steps.done.append(f"{name}: not set ({exc.detail})")
        _say(steps.done[-1])


def _experience_holdout(conn: Any, steps: Steps) -> None:
    """The experience year as if Wellrate had run it: its rulebook (the plan year's, dated a
    year earlier) and its randomised holdout, so that the claims that follow can be measured
    against a control arm (`wellrate effect report`)."""
    from api.pricing import holdout, service
    from api.pricing.rulebook import packaged_text
    from core.errors import DomainError

    text = packaged_text(PRODUCT, PLAN_YEAR) or ""
    past = re.sub(r"^plan_year = \d+", f"plan_year = {PLAN_YEAR - 1}", text, count=1, flags=re.M)
    past = re.sub(
        r'^version = "[^"]+"', f'version = "{PLAN_YEAR - 1}.1"', past, count=1, flags=re.M
    )
    try:
        service.load_rulebook(conn, past, source="demo experience year")
        drawn = holdout.draw(conn, PRODUCT, PLAN_YEAR - 1)
        steps.done.append(f"holdout {PLAN_YEAR - 1}: {drawn['action']}, control {drawn['control']}")
    except DomainError as exc:
        steps.done.append(f"holdout {PLAN_YEAR - 1}: not drawn ({exc.detail})")


def quote(url: str, settings: Settings, members: list[SimMember], steps: Steps) -> dict[str, Any]:
    from api.pricing.service import quote_book, quote_member

    _plan_year(url, steps)
    out = quote_book(url, settings, PRODUCT, PLAN_YEAR, progress=True)
    steps.done.append(f"quoted {PRODUCT} {PLAN_YEAR}: {json.dumps(out, default=str)}")
    _say(steps.done[-1])
    pick = next((m for m in members if m.conditions), members[0])
    with db.connect(url) as conn, conn.transaction():
        quote = quote_member(conn, pick.member_id, PRODUCT, PLAN_YEAR, store=True)
    return quote.to_dict()


def memorandum(url: str, data_dir: Path, steps: Steps) -> None:
    """The experience year's effect against its holdout, and the plan year's actuarial
    memorandum and claims disclosure, from the demo's own data."""
    from api.pricing import effect_report, filing
    from core.errors import DomainError

    with db.connect(url) as conn, conn.transaction():
        try:
            rep = effect_report.report(conn, PRODUCT, PLAN_YEAR - 1)
            png = effect_report.plot(rep, data_dir / "filing" / f"effect-{PLAN_YEAR - 1}.png")
            o, c = rep["overall"], rep["credible"]
            steps.done.append(
                f"effect {PLAN_YEAR - 1}: savings ¥{o['savings']:.2f} a member-year (95 %"
                f" {o['low']:.2f} to {o['high']:.2f}), credibility Z {c['z']:.2f}, credible"
                f" ¥{c['credible']:.2f}: {png}"
            )
        except DomainError as exc:
            steps.done.append(f"effect {PLAN_YEAR - 1}: not measured ({exc.detail})")
        _say(steps.done[-1])
        memo = filing.memorandum(conn, PRODUCT, PLAN_YEAR)
    files = filing.write(memo, data_dir / "filing")
    e = memo["experience"]
    steps.done.append(
        f"memorandum: {e['claims']} claims in {e['year']}, paid ¥{e['paid_yuan']:,.2f}"
        f" (¥{e['paid_per_member_year']} a member-year); projected loss ratio"
        f" {memo['projected_loss_ratio']}: {files[0]}"
    )
    _say(steps.done[-1])


def plain(q: dict[str, Any]) -> list[str]:
    """The sample quote as a member would read it: each version's premium and deductible,
    then each line of the held version with its reason."""
    out = [f"next year for {q['member_id']} ({q['product_id']} {q['plan_year']}):"]
    for v in q.get("versions") or []:
        b = v.get("benefits") or {}
        held = "  <- held" if v.get("held") else ""
        out.append(
            f"  {v['name_zh']} {v['name_en']}: ¥{v['premium']} (base ¥{v['base_premium']});"
            f" {b.get('reason_en', 'no benefits declared')}{held}"
        )
    for c in q["components"]:
        out.append(f"    {c['code']:<15} {float(c['pct']):+7.2f}%  {c['reason_en']}")
    return out
