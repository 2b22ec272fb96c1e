"""``wellrate ingest``: run the MQTT ingestor until SIGINT/SIGTERM, then stop gracefully.

Migrations are not applied implicitly (several replicas starting together should not all
try); pass ``--migrate`` to run ``wellrate db upgrade`` first.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from core import db
from core.settings import get_settings

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wellrate ingest", description=__doc__)
    parser.add_argument("--migrate", action="store_true", help="apply migrations first")
    parser.add_argument(
        "--stop-timeout", type=float, default=10.0, help="seconds to flush on shutdown"
    )
    args = parser.parse_args(list(argv or []))
    settings = get_settings()
    if not settings.database_url or not settings.mqtt_url:
        print("wellrate ingest: set WELLRATE_DATABASE_URL and WELLRATE_MQTT_URL", file=sys.stderr)
        return 2
    if args.migrate:
        db.upgrade(db.require_url(settings), settings)

    from ingest.service import Ingestor

    stop = threading.Event()

    def _signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _signal)
    signal.signal(signal.SIGTERM, _signal)
    ingestor = Ingestor(settings)
    ingestor.start()
    stop.wait()
    ingestor.stop(timeout=args.stop_timeout)
    return 0
