"""Run the demo pipeline into a fresh database and print a canonical digest of what it stored.

A refactor that should not change behaviour is checked by running this before and after
and comparing: the stored scores, alerts, quotes and smoothing-ledger entries must be
identical (ids, clocks and run bookkeeping are left out; everything a member, clinic or
insurer reads is in). Same calendar day for both runs: the demo's history ends yesterday.

    python -m bench.demo_snapshot --out /tmp/before.json           # at the old revision
    python -m bench.demo_snapshot --out /tmp/after.json --compare /tmp/before.json

It needs the real PostgreSQL (``--admin-url``) and ``mosquitto`` on PATH (the demo starts
its own on a free port in a temporary data directory, so concurrent runs never share a
broker session). The ``wellrate`` command of the current checkout's venv is used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

# Each table as (name, query): ordered by a natural key so the dump is canonical.
TABLES: list[tuple[str, str]] = [
    (
        "scores",
        "SELECT member_id, window_start::text, window_end::text, algorithm_version,"
        " composite, improvement, components::text, indicators::text FROM scores"
        " ORDER BY member_id, window_start, window_end, algorithm_version",
    ),
    (
        "alerts",
        "SELECT member_id, kind, severity, observed_at::text, detail::text FROM alerts"
        " ORDER BY member_id, kind, observed_at",
    ),
    (
        "quotes",
        "SELECT member_id, product_id, plan_year, rulebook_version, rulebook_sha256,"
        " base_fen, unsmoothed_fen, premium_fen, discount_fen, components::text,"
        " smoothing::text, inputs::text FROM quotes"
        " ORDER BY member_id, product_id, plan_year, created_at, quote_id",
    ),
    (
        "smoothing_ledger",
        "SELECT product_id, plan_year, member_id, amount_fen FROM smoothing_ledger"
        " ORDER BY product_id, plan_year, member_id",
    ),
]


def _canonical(value: Any) -> Any:
    """JSON text columns re-serialised with sorted keys, so key order never differs."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def dump(url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with psycopg.connect(url) as conn:
        for name, sql in TABLES:
            rows = [[_canonical(v) for v in r] for r in conn.execute(sql)]
            text = json.dumps(rows, sort_keys=True, default=str, ensure_ascii=False)
            out[name] = {
                "rows": len(rows),
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "data": rows,
            }
    return out


def run_demo(admin_url: str, members: int, days: int) -> dict[str, Any]:
    name = f"wellrate_snapshot_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="wellrate-snapshot-") as data_dir:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
            env.update(WELLRATE_DATABASE_URL=url, WELLRATE_DATA_DIR=data_dir)
            wellrate = Path(sys.executable).with_name("wellrate")
            cmd = [str(wellrate), "demo", "--no-serve", "--members", str(members)]
            cmd += ["--days", str(days)]
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
            if res.returncode != 0:
                sys.stderr.write(res.stdout[-4000:] + res.stderr[-4000:])
                raise SystemExit(f"the demo failed with exit code {res.returncode}")
        return dump(url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable differences, table by table (first differing row shown)."""
    diffs = []
    for name, _ in TABLES:
        a, b = before.get(name), after.get(name)
        if a is None or b is None:
            diffs.append(f"{name}: missing in one snapshot")
            continue
        if a["sha256"] == b["sha256"]:
            continue
        diffs.append(f"{name}: {a['rows']} rows before, {b['rows']} after")
        for i, (ra, rb) in enumerate(zip(a["data"], b["data"], strict=False)):
            if ra != rb:
                diffs.append(f"  first difference at row {i}:\n    before {ra}\n    after  {rb}")
                break
    return diffs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--members", type=int, default=120)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--out", type=Path, required=True, help="where to write the snapshot")
    p.add_argument("--compare", type=Path, help="an earlier snapshot to compare with")
    args = p.parse_args()
    snap = run_demo(args.admin_url, args.members, args.days)
    args.out.write_text(json.dumps(snap, ensure_ascii=False, default=str))
    for name, _ in TABLES:
        print(f"{name:<17} {snap[name]['rows']:>7} rows  sha256 {snap[name]['sha256'][:16]}")
    if args.compare:
        diffs = compare(json.loads(args.compare.read_text()), snap)
        print("identical" if not diffs else "DIFFERENT:\n" + "\n".join(diffs))
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
