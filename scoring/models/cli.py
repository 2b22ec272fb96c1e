"""``wellrate model train|report``: the risk model from the database (docs/models.md).

``train --year 2025`` fits features from 2025's scores against 2026's admissions and
registers the model (its version is a hash of the artifact); ``report [--year Y]
[--version V] [--out DIR]`` prints AUC, Brier and calibration overall, by age band and by
condition, and writes the calibration plot as PNG.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from core import db
from core.settings import get_settings
from scoring.models import service


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="wellrate model", description=__doc__)
    sub = p.add_subparsers(dest="action", required=True)
    t = sub.add_parser("train", help="fit and register the risk model")
    t.add_argument("--year", type=int, required=True, help="feature year (outcomes: the next)")
    t.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("report", help="evaluate a registered model and plot its calibration")
    r.add_argument("--year", type=int, help="feature year to evaluate (default: training year)")
    r.add_argument("--version", help="model version (default: the newest)")
    r.add_argument("--out", default="artifacts/models", help="directory for the PNG")
    args = p.parse_args(argv)
    url = db.require_url(get_settings())
    with db.connect(url) as conn:
        try:
            with conn.transaction():
                if args.action == "train":
                    out = service.train(conn, args.year, random_state=args.seed)
                else:
                    out = service.report(conn, args.year, Path(args.out), args.version)
        except (service.NotEnoughData, LookupError) as exc:
            print(f"wellrate model: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(out, indent=2))
    return 0
