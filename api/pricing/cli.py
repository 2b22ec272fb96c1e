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
* ``wellrate pricing reproduce QUOTE_ID`` recomputes a stored quote and compares to the cent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from api.pricing import service
from api.pricing.rulebook import parse, rating_spread, rating_steps
from core import db
from core.errors import DomainError
from core.settings import get_settings


def main(argv: Sequence[str]) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="wellrate pricing", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    rb = sub.add_parser("rulebook")
    rb.add_argument("action", choices=["check", "load"])
    rb.add_argument("files", nargs="+", type=Path)
    for name in ("quote-book", "portfolio", "budget-check", "disclosure"):
        p = sub.add_parser(name)
        p.add_argument("--product", default=settings.api_default_product)
        p.add_argument("--year", type=int, default=settings.api_default_plan_year)
    rp = sub.add_parser("reproduce")
    rp.add_argument("quote_id")
    args = parser.parse_args(list(argv))
    try:
        if args.cmd == "rulebook" and args.action == "check":
            for f in args.files:
                r = parse(f.read_text(encoding="utf-8"), source=str(f))
                print(f"{f}: ok ({r.product_id} {r.plan_year} version {r.version})")
                steps = ", ".join(f"{age}: {bp / 100:+.1f}%" for age, bp in rating_steps(r.bands))
                print(
                    f"  rating {r.rating}, spread {rating_spread(r.bands)}x"
                    f" (highest / lowest base){'; steps at ' + steps if steps else ''};"
                    f" year-on-year cap {r.max_yoy_bp / 100:.0f}%"
                )
            return 0
        url = db.require_url(settings)
        if args.cmd == "quote-book":
            out = service.quote_book(url, settings, args.product, args.year, progress=True)
            print(json.dumps(out, default=str))
            return 0
        with db.connect(url) as conn, conn.transaction():
            if args.cmd == "rulebook":
                for f in args.files:
                    res = service.load_rulebook(conn, f.read_text(encoding="utf-8"), source=str(f))
                    print(json.dumps(res))
            elif args.cmd == "disclosure":
                res = service.disclosure_report(conn, args.product, args.year)
                print(json.dumps(res, default=str, ensure_ascii=False, indent=2))
            elif args.cmd == "budget-check":
                res = service.budget_check(
                    conn, args.product, args.year, margin_pct=settings.pricing_budget_margin_pct
                )
                print(json.dumps(res, default=str, ensure_ascii=False, indent=2))
            elif args.cmd == "portfolio":
                res = service.portfolio_report(conn, args.product, args.year)
                print(json.dumps(res, default=str, ensure_ascii=False, indent=2))
            else:
                res = service.reproduce_quote(conn, args.quote_id)
                print(json.dumps(res))
                return 0 if res["identical"] else 1
    except DomainError as exc:
        print(f"wellrate pricing: {exc.detail}", file=sys.stderr)
        for e in exc.errors:
            print(f"  {e['field']}: {e['message']}", file=sys.stderr)
        return 1
    except db.DatabaseNotConfigured as exc:
        print(f"wellrate pricing: {exc}", file=sys.stderr)
        return 2
    return 0
