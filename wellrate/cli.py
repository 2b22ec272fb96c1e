"""The ``wellrate`` command: one sub-command per package that owns the work.

Each sub-command imports its package inside the function that runs it, so ``wellrate db
upgrade`` does not pay for scikit-learn or FastAPI; the imports are ordinary ones, checked
by mypy like any other.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from core import logs
from core.settings import get_settings

Command = Callable[[Sequence[str]], int]


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


def _ingest(argv: Sequence[str]) -> int:
    from ingest.cli import main

    return main(argv)


def _score(argv: Sequence[str]) -> int:
    from scoring.cli import main

    return main(argv)


def _serve(argv: Sequence[str]) -> int:
    from api.cli import main

    return main(argv)


def _sim(argv: Sequence[str]) -> int:
    from device_sim.cli import main

    return main(argv)


def _demo(argv: Sequence[str]) -> int:
    from wellrate.demo import main

    return main(argv)


def _pricing(argv: Sequence[str]) -> int:
    from api.pricing.cli import main

    return main(argv)


def _effect(argv: Sequence[str]) -> int:
    from api.pricing.effect_cli import main

    return main(argv)


def _model(argv: Sequence[str]) -> int:
    from scoring.models.cli import main

    return main(argv)


def _integrity(argv: Sequence[str]) -> int:
    from scoring.integrity.cli import main

    return main(argv)


def _portfolio(argv: Sequence[str]) -> int:
    from wellrate.portfolio import main

    return main(argv)


def _provision_device(argv: Sequence[str]) -> int:
    from api.devices.cli import main

    return main(argv)


def _audit(argv: Sequence[str]) -> int:
    from api.audit.cli import main

    return main(argv)


# name -> (function taking the remaining argv and returning an exit code, help)
COMMANDS: dict[str, tuple[Command, str]] = {
    "db": (db_main, "database: `wellrate db upgrade|maintain|status`"),
    "ingest": (_ingest, "run the MQTT ingestor"),
    "score": (_score, "compute indicators and scores for a window"),
    "serve": (_serve, "serve the HTTP API and the clinic dashboard"),
    "sim": (_sim, "simulate wearables: backfill, real-time, load"),
    "demo": (_demo, "the whole pipeline on embedded defaults"),
    "pricing": (_pricing, "rulebooks, batch quotes and portfolio reports"),
    "effect": (_effect, "the incentive's effect against the holdout: `wellrate effect report`"),
    "model": (_model, "risk model: `wellrate model train|report`"),
    "integrity": (_integrity, "anti-gaming: `wellrate integrity scan|review`"),
    "portfolio": (_portfolio, "5-year city simulation: does the design pay?"),
    "provision-device": (_provision_device, "register a device, create its broker login"),
    "audit": (_audit, "audit log: `wellrate audit verify` checks its hash chain"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"} or args[0] not in COMMANDS:
        print("usage: wellrate <command> [options]\n\ncommands:")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<8} {text}")
        return 0 if not args or args[0] in {"-h", "--help"} else 2
    logs.configure(get_settings())
    return COMMANDS[args[0]][0](args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
