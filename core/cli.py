"""The ``wellrate`` command: the composition root.

Each sub-command lives in the package that owns it and is imported only when invoked,
so ``wellrate db upgrade`` does not pay for scikit-learn and the packages stay
independent of one another (``core`` is the only place allowed to name them all).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence

from core import logs
from core.settings import get_settings

# name -> ("module:function", help). The function takes the remaining argv and returns
# an exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("core.cli:db_main", "database: `wellrate db upgrade|maintain|status`"),
    "ingest": ("ingest.cli:main", "run the MQTT ingestor"),
    "score": ("scoring.cli:main", "compute indicators and scores for a window"),
    "serve": ("api.cli:main", "serve the HTTP API and the clinic dashboard"),
    "sim": ("device_sim.cli:main", "simulate wearables: backfill, real-time, load"),
    "demo": ("core.demo:main", "the whole pipeline on embedded defaults"),
    "pricing": ("api.pricing.cli:main", "rulebooks, batch quotes and portfolio reports"),
    "model": ("scoring.models.cli:main", "risk model: `wellrate model train|report`"),
    "integrity": ("scoring.integrity.cli:main", "anti-gaming: `wellrate integrity scan|review`"),
    "portfolio": ("core.portfolio_cli:main", "5-year city simulation: does the design pay?"),
    "provision-device": ("api.devices.cli:main", "register a device, create its broker login"),
}


def _resolve(target: str) -> Callable[[Sequence[str]], int]:
    module, _, func = target.partition(":")
    fn: Callable[[Sequence[str]], int] = getattr(importlib.import_module(module), func)
    return fn


def db_main(argv: Sequence[str]) -> int:
    """upgrade: migrations; maintain: run the TimescaleDB policy jobs once (cron; exit 1 if
    one failed); status: hypertables and jobs as JSON (exit 1 if a job fails in the
    scheduler and `maintain` has not done its work within two of its intervals either)."""
    from core import db, timescale

    parser = argparse.ArgumentParser(prog="wellrate db", description=db_main.__doc__)
    parser.add_argument("action", choices=["upgrade", "maintain", "status"])
    action = parser.parse_args(argv).action
    settings = get_settings()
    url = db.require_url(settings)
    if action == "upgrade":
        print(json.dumps(db.upgrade(url, settings)))
        return 0
    if action == "maintain":
        result = timescale.maintain(url)
        print(json.dumps(result))
        return 1 if any(not r["ok"] for r in result["runs"]) else 0
    with db.connect(url, autocommit=True) as conn:
        report = timescale.status(conn, settings)
    print(json.dumps(report, default=str))
    return 1 if report.get("uncovered") else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"} or args[0] not in COMMANDS:
        print("usage: wellrate <command> [options]\n\ncommands:")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<8} {text}")
        return 0 if not args or args[0] in {"-h", "--help"} else 2
    logs.configure(get_settings())
    return _resolve(COMMANDS[args[0]][0])(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
