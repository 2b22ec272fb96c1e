"""``wellrate pricing``: check and load rulebooks, quote a book, print a portfolio report.

* ``wellrate pricing rulebook check FILE...`` validates (exit 1 naming each bad field);
* ``wellrate pricing rulebook load FILE`` stores it (refused once its plan year has quotes);
* ``wellrate pricing quote-book [--product P] [--year Y]`` quotes the book as a batch job;
* ``wellrate pricing portfolio [--product P] [--year Y]``;
* ``wellrate pricing disclosure [--product P] [--year Y]``: by age band and condition,
  quarterly indicators, discounts and loss ratio, small cells suppressed;
* ``wellrate pricing budget-check [--product P] [--year Y]``: by cohort, do the risk
  model's expected claim savings cover the data-dependent discounts (within
  ``WELLRATE_PRICING_BUDGET_MARGIN_PCT``)?
* ``wellrate pricing reproduce QUOTE_ID`` recomputes a stored quote and compares to the cent;
* ``wellrate pricing fund-close [--product P] [--year Y]`` closes the smoothing fund for a
  plan year before its first quote: the deficit (or surplus above the starting capital)
  every quote of the year charges (or returns) through the base (``api.pricing.fund``);
* ``wellrate pricing holdout-draw [--product P] [--year Y]`` draws the randomised holdout
  over the plan year's book before its first quote (``api.pricing.holdout_rule``);
* ``wellrate pricing budget-scale [--product P] [--year Y]`` sets the plan year's discount
  budget (credible savings against the holdout, or the declared start-up budget) and the
  scale of its performance-linked discounts, before its first quote;
* ``wellrate pricing memorandum [--product P] [--year Y] [--out DIR]``: the actuarial
  memorandum and the claims disclosure by cost band, age band and condition (Markdown,
  PNG and JSON; ``api.pricing.filing``);
* ``wellrate pricing provincial --products A,B [--year Y]``: several cities pooled for an
  experience year, loss ratios indirectly standardised by age band x condition group, and
  the transfer a provincial pool would make to or from each city.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.pricing import budget_scale, filing, fund, holdout, service
from api.pricing.money import money
from api.pricing.repository import Conn
from api.pricing.rulebook import Rulebook, parse, rating_spread, rating_steps
from core import db
from core.errors import DomainError
from core.settings import get_settings


def describe_versions(rb: Rulebook) -> list[str]:
    """A line per version: its price (or spread), deductible ladder, rates and cap; and the
    declared condition loading, so an actuary sees every differentiation the book makes."""
    out = []
    for v in rb.versions:
        fen = sorted({b.base_fen for b in v.bands})
        price = f"¥{money(fen[0])}" if len(fen) == 1 else f"¥{money(fen[0])}-{money(fen[-1])}"
        b = v.benefits
        terms = (
            "no benefits declared"
            if b is None
            else f"deductible ¥{money(b.deductible_fen)}, -¥{money(b.deductible_cut_fen)} a"
            f" continuous year to ¥{money(b.deductible_floor_fen)}; rates in-list"
            f" {b.rate_in_list_bp / 100:g}%, out-of-list {b.rate_out_of_list_bp / 100:g}%,"
            f" special drugs {b.rate_special_drugs_bp / 100:g}%"
            + (
                f", pre-existing {b.rate_preexisting_bp / 100:g}%"
                if b.rate_preexisting_bp is not None
                else ""
            )
            + f"; cap ¥{money(b.cap_fen)}"
        )
        out.append(f"version {v.id} ({v.name_zh}): {price}; {terms}")
    loads = ", ".join(f"{c} +{bp / 100:g}%" for c, bp in sorted(rb.loading_bp.items()) if bp)
    out.append(f"condition loading: {loads or 'none'}")
    return out


def _check(files: list[Path]) -> None:
    for f in files:
        r = parse(f.read_text(encoding="utf-8"), source=str(f))
        print(f"{f}: ok ({r.product_id} {r.plan_year} version {r.version})")
        steps = ", ".join(f"{age}: {bp / 100:+.1f}%" for age, bp in rating_steps(r.bands))
        print(
            f"  rating {r.rating}, spread {rating_spread(r.bands)}x"
            f" (highest / lowest base){'; steps at ' + steps if steps else ''};"
            f" year-on-year cap {r.max_yoy_bp / 100:.0f}%"
        )
        for line in describe_versions(r):
            print(f"  {line}")


def _run(conn: Conn, args: argparse.Namespace, margin_pct: float) -> int:
    """The commands that read or write the database, in the caller's transaction."""
    res: Any
    if args.cmd == "rulebook":
        for f in args.files:
            print(json.dumps(service.load_rulebook(conn, f.read_text("utf-8"), source=str(f))))
        return 0
    if args.cmd == "reproduce":
        res = service.reproduce_quote(conn, args.quote_id)
        print(json.dumps(res))
        return 0 if res["identical"] else 1
    if args.cmd == "disclosure":
        res = service.disclosure_report(conn, args.product, args.year)
    elif args.cmd == "budget-check":
        res = service.budget_check(conn, args.product, args.year, margin_pct=margin_pct)
    elif args.cmd == "fund-close":
        res = fund.close(conn, args.product, args.year)
    elif args.cmd == "holdout-draw":
        res = holdout.draw(conn, args.product, args.year)
    elif args.cmd == "budget-scale":
        res = budget_scale.set_scale(conn, args.product, args.year)
    elif args.cmd == "provincial":
        res = filing.provincial(conn, args.products.split(","), args.year)
    elif args.cmd == "memorandum":
        res = filing.memorandum(conn, args.product, args.year)
        res["files"] = [str(f) for f in filing.write(res, args.out)]
    else:
        res = service.portfolio_report(conn, args.product, args.year)
    print(json.dumps(res, default=str, ensure_ascii=False, indent=2))
    return 0


def main(argv: Sequence[str]) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="wellrate pricing", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    rb = sub.add_parser("rulebook")
    rb.add_argument("action", choices=["check", "load"])
    rb.add_argument("files", nargs="+", type=Path)
    names = (
        "quote-book", "portfolio", "budget-check", "disclosure", "fund-close", "holdout-draw",
        "budget-scale", "memorandum",
    )  # fmt: skip
    for name in names:
        p = sub.add_parser(name)
        p.add_argument("--product", default=settings.api_default_product)
        p.add_argument("--year", type=int, default=settings.api_default_plan_year)
        if name == "memorandum":
            p.add_argument("--out", type=Path, default=Path("artifacts/filing"))
    pv = sub.add_parser("provincial")
    pv.add_argument("--products", required=True, help="comma-separated product ids")
    pv.add_argument("--year", type=int, default=settings.api_default_plan_year - 1)
    rp = sub.add_parser("reproduce")
    rp.add_argument("quote_id")
    args = parser.parse_args(list(argv))
    try:
        if args.cmd == "rulebook" and args.action == "check":
            _check(args.files)
            return 0
        url = db.require_url(settings)
        if args.cmd == "quote-book":
            out = service.quote_book(url, settings, args.product, args.year, progress=True)
            print(json.dumps(out, default=str))
            return 0
        with db.connect(url) as conn, conn.transaction():
            return _run(conn, args, settings.pricing_budget_margin_pct)
    except DomainError as exc:
        print(f"wellrate pricing: {exc.detail}", file=sys.stderr)
        for e in exc.errors:
            print(f"  {e['field']}: {e['message']}", file=sys.stderr)
        return 1
    except db.DatabaseNotConfigured as exc:
        print(f"wellrate pricing: {exc}", file=sys.stderr)
        return 2
