"""``wellrate score``: score a window once, or keep a trailing window fresh on a schedule.

Windows are member-local calendar days, end exclusive. ``--window 2026-08-01..2026-11-01``
scores exactly that; ``--days 90`` scores the 90 complete days before today (in the
deployment's reporting zone, UTC+08:00 for Chinese cities); ``--every 3600`` repeats the
``--days`` window every hour until SIGINT/SIGTERM. ``--run NAME`` with ``--window`` lets
several workers split one book through the database.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from types import FrameType

from core import db
from core.settings import get_settings
from scoring.service import create_run, score_window, work_run

log = logging.getLogger(__name__)
REPORTING_OFFSET = timedelta(hours=8)  # China Standard Time; no daylight saving


def parse_window(text: str) -> tuple[date, date]:
    """``START..END`` (ISO dates, END exclusive) -> dates; raises ValueError naming the fault."""
    start_s, sep, end_s = text.partition("..")
    if not sep:
        raise ValueError("--window must look like 2026-08-01..2026-11-01 (end exclusive)")
    start, end = date.fromisoformat(start_s), date.fromisoformat(end_s)
    if end <= start:
        raise ValueError("--window: the end must be after the start")
    return start, end


def trailing_window(days: int, now: datetime | None = None) -> tuple[date, date]:
    today = ((now or datetime.now(UTC)) + REPORTING_OFFSET).date()
    return today - timedelta(days=days), today


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="wellrate score", description=__doc__)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--window", help="START..END, ISO dates, end exclusive")
    g.add_argument("--days", type=int, help="the N complete days before today")
    p.add_argument("--every", type=float, help="with --days: repeat every N seconds")
    p.add_argument("--members", help="comma-separated member ids (default: everyone)")
    p.add_argument(
        "--run",
        help="with --window: a run name shared by several workers (processes or hosts); "
        "each one started with the same name claims chunks until the book is done",
    )
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    settings = get_settings()
    url = db.require_url(settings)
    members = args.members.split(",") if args.members else None
    if args.window:
        try:
            start, end = parse_window(args.window)
        except ValueError as e:
            print(f"wellrate score: {e}", file=sys.stderr)
            return 2
        if args.run:
            rid = create_run(url, settings, start, end, run_id=args.run, member_ids=members)
            out = work_run(url, settings, rid, progress=not args.no_progress)
        else:
            out = score_window(
                url, settings, start, end, member_ids=members, progress=not args.no_progress
            )
        print(json.dumps(out))
        return 0
    if args.days is None or args.days < 1:
        print("wellrate score: --days must be at least 1", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received; stopping after this run", signal.Signals(signum).name)
        stop.set()

    if args.every:
        signal.signal(signal.SIGINT, _signal)
        signal.signal(signal.SIGTERM, _signal)
    while True:
        start, end = trailing_window(args.days)
        out = score_window(
            url, settings, start, end, member_ids=members, progress=not args.no_progress
        )
        print(json.dumps(out), flush=True)
        if not args.every or stop.wait(args.every):
            return 0
