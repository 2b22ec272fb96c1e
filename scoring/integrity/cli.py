"""``wellrate integrity scan --days N | review FLAG_ID --uphold|--dismiss --by NAME``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from core import db
from core.settings import get_settings
from scoring.integrity import service


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="wellrate integrity", description=__doc__)
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("scan", help="flag readings that are likely not the member's own")
    s.add_argument("--days", type=int, default=30, help="the N days before today (UTC+08:00)")
    r = sub.add_parser("review", help="record a reviewer's decision on a flag")
    r.add_argument("flag_id", type=int)
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--uphold", action="store_true")
    g.add_argument("--dismiss", action="store_true")
    r.add_argument("--by", required=True, help="the reviewer")
    r.add_argument("--note")
    args = p.parse_args(argv)
    url = db.require_url(get_settings())
    with db.connect(url) as conn, conn.transaction():
        try:
            if args.action == "scan":
                today = (datetime.now(UTC) + timedelta(hours=8)).date()
                out = service.scan(conn, today - timedelta(days=args.days), today)
            else:
                outcome = "upheld" if args.uphold else "dismissed"
                service.review_flag(conn, args.flag_id, outcome, args.by, args.note)
                out = {"flag_id": args.flag_id, "status": outcome}
        except (ValueError, LookupError) as exc:
            print(f"wellrate integrity: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(out))
    return 0
