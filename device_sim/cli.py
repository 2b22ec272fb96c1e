"""``wellrate sim backfill|realtime|load|cohort``: drive simulated wearables over MQTT.

The broker comes from ``WELLRATE_MQTT_URL`` and the topic prefix from
``WELLRATE_MQTT_TOPIC_PREFIX``. The devices must be registered and bound for the ingestor
to attribute their readings: ``wellrate demo`` does that; otherwise export the cohort
(``wellrate sim cohort --out cohort.json``) and register it through the API.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any

from core.settings import get_settings
from device_sim import modes
from device_sim.cohort import generate
from device_sim.faults import FaultInjector, FaultPlan
from device_sim.publisher import MAX_WINDOW


def _cohort_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--members", type=int, default=100, help="cohort size (default 100)")
    p.add_argument("--seed", type=int, default=2026, help="cohort seed (default 2026)")
    p.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    p.add_argument(
        "--omh-share", type=float, default=0.25, help="share of devices speaking Open mHealth"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wellrate sim", description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    bf = sub.add_parser("backfill", help="publish N days of history as fast as allowed")
    _cohort_args(bf)
    bf.add_argument("--batch", type=int, default=100, help="readings per upload message")
    bf.add_argument(
        "--window", type=int, default=1000, help=f"unacked QoS 1 publishes (max {MAX_WINDOW})"
    )
    bf.add_argument("--faults", default="", help="e.g. duplicates=3,malformed=2,clock_skew=1")
    rt = sub.add_parser("realtime", help="publish readings as their time arrives")
    _cohort_args(rt)
    rt.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    rt.add_argument("--catch-up", type=float, default=3600.0, help="seconds of recent backlog")
    ld = sub.add_parser("load", help="N synthetic devices at a total rate (benchmarks)")
    ld.add_argument("--devices", type=int, default=1000)
    ld.add_argument("--rate", type=float, default=2000.0, help="messages per second in total")
    ld.add_argument("--duration", type=float, default=10.0, help="seconds to run")
    ld.add_argument("--window", type=int, default=1000)
    co = sub.add_parser("cohort", help="write the cohort (members, clinics, devices) as JSON")
    _cohort_args(co)
    co.add_argument("--out", default="-", help="file, or - for stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(argv or []))
    settings = get_settings()
    if args.mode == "load":
        stats = modes.load(
            settings,
            devices=args.devices,
            rate=args.rate,
            duration_s=args.duration,
            window=args.window,
        )
        print(json.dumps(_summary(stats)))
        return 0
    start = modes.history_start(args.days)
    members, clinics = generate(args.members, seed=args.seed, start=start, omh_share=args.omh_share)
    if args.mode == "cohort":
        doc = {
            "seed": args.seed,
            "start": start.isoformat(),
            "clinics": [dataclasses.asdict(c) for c in clinics],
            "members": [dataclasses.asdict(m) for m in members],
        }
        text = json.dumps(doc, default=str, ensure_ascii=False, indent=1)
        if args.out == "-":
            print(text)
        else:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        return 0
    if not settings.mqtt_url:
        print("wellrate sim: set WELLRATE_MQTT_URL (or run `wellrate demo`)", file=sys.stderr)
        return 2
    if args.mode == "backfill":
        try:
            plan = FaultPlan.parse(args.faults)
        except ValueError as exc:
            print(f"wellrate sim: {exc}", file=sys.stderr)
            return 2
        spacing = modes.fault_spacing(members, args.days, args.batch, plan.total)
        injector = FaultInjector(plan, seed=args.seed, spacing=spacing) if plan.total else None
        stats = modes.backfill(
            settings,
            members,
            start,
            args.days,
            batch=args.batch,
            window=args.window,
            faults=injector,
            progress=sys.stderr.isatty(),
        )
        out = _summary(stats)
        if injector is not None:
            out["injected"] = [
                {"kind": f.kind, "device_id": f.device_id, "detail": f.detail}
                for f in injector.injected
            ]
        print(json.dumps(out))
        return 0
    stats = modes.realtime(
        settings, members, duration_s=args.duration, catch_up_s=args.catch_up, seed=args.seed
    )
    print(json.dumps(_summary(stats)))
    return 0


def _summary(stats: modes.RunStats) -> dict[str, Any]:
    return {
        "messages": stats.messages,
        "readings": stats.readings,
        "seconds": round(stats.seconds, 3),
        "messages_per_s": round(stats.rate, 1),
        "by_kind": stats.by_kind,
        "faults": stats.faults,
        "peak_unacked": stats.peak_unacked,
    }
