"""``wellrate effect report [--product P] [--year Y] [--prior-yuan X] [--prior-sd-yuan S]
[--png FILE]``: the incentive's effect against the randomised holdout, in the product's
payout, credibility-weighted (``api.pricing.effect_report``); JSON on stdout, a PNG."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from api.pricing import effect_report
from core import db
from core.errors import DomainError
from core.settings import get_settings


def main(argv: Sequence[str]) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="wellrate effect", description=__doc__)
    parser.add_argument("action", choices=["report"])
    parser.add_argument("--product", default=settings.api_default_product)
    parser.add_argument(
        "--year", "--plan-year", dest="year", type=int, default=settings.api_default_plan_year - 1
    )
    parser.add_argument("--prior-yuan", type=float, default=None)
    parser.add_argument("--prior-sd-yuan", type=float, default=None)
    parser.add_argument("--png", type=Path, default=None)
    args = parser.parse_args(list(argv))
    try:
        url = db.require_url(settings)
        with db.connect(url) as conn, conn.transaction():
            rep = effect_report.report(
                conn, args.product, args.year,
                prior_yuan=args.prior_yuan, prior_sd_yuan=args.prior_sd_yuan,
            )  # fmt: skip
    except DomainError as exc:
        print(f"wellrate effect: {exc.detail}", file=sys.stderr)
        return 1
    except db.DatabaseNotConfigured as exc:
        print(f"wellrate effect: {exc}", file=sys.stderr)
        return 2
    png = args.png or Path(f"effect-{args.product}-{args.year}.png")
    rep["png"] = str(effect_report.plot(rep, png))
    print(json.dumps(rep, default=str, ensure_ascii=False, indent=2))
    return 0
