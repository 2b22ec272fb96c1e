"""Clinic dashboard benchmark: the pages' API calls for a 5,000-member clinic.

    python -m bench.dashboard_bench                 # 5,000 members, 30 requests a call
    python -m bench.dashboard_bench --members 300   # a quick run

Creates a fresh database, seeds one clinic with N members (conditions mixed, one score each
with BP and CGM indicators, 90 days of daily home BP, open alerts for one member in ten,
clinic-care consent; then ANALYZE, as autovacuum would), then
calls, in one process through the app (FastAPI's TestClient,
so "server time" is the request's wall time in the app, without a network), each call the
dashboard's pages make, interleaved round by round: ``GET /health`` (the baseline: the
framework alone), the patient list's first page (default sort, by BP, filtered by
condition), a late page, the alerts worklist, the overview and one patient's page calls.
Prints the median and p95 per call. Target: the list page under 300 ms server time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADMIN_URL = os.environ.get(
    "WELLRATE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _seed(url: str, n: int) -> str:
    from api.auth.service import create_principal

    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("INSERT INTO clinics (clinic_id, name) VALUES ('c1', 'Bench clinic')")
        conn.execute(
            "INSERT INTO members (member_id, clinic_id, display_name, birth_date, sex, conditions)"
            " SELECT 'p' || lpad(i::text, 5, '0'), 'c1', '患者' || i,"
            " date '1940-01-01' + (i * 37 %% 18000), CASE WHEN i %% 2 = 0 THEN 'F' ELSE 'M' END,"
            " CASE i %% 5 WHEN 0 THEN ARRAY[]::text[] WHEN 1 THEN ARRAY['hypertension']"
            " WHEN 2 THEN ARRAY['diabetes'] ELSE ARRAY['hypertension', 'diabetes'] END"
            " FROM generate_series(1, %s) i",
            (n,),
        )
        conn.execute(
            "INSERT INTO consents (member_id, purpose, notice_version, given_at)"
            " SELECT member_id, 'clinic_care', 'bench', '2000-01-01Z' FROM members"
        )
        conn.execute(
            "INSERT INTO scores (member_id, window_start, window_end, algorithm_version,"
            " composite, components, indicators) SELECT member_id, current_date - 90,"
            " current_date, 'bench', 50 + (hashtext(member_id) % 40), '{}', jsonb_build_object("
            " 'bp', jsonb_build_object('sufficient', true, 'home_mean_sys',"
            "  120 + abs(hashtext(member_id)) % 50, 'home_mean_dia', 80, 'controlled',"
            "  abs(hashtext(member_id)) % 3 = 0),"
            " 'cgm', jsonb_build_object('sufficient', true, 'tir', abs(hashtext(member_id)) % 100,"
            "  'tbr70', abs(hashtext(member_id)) % 7))"
            " FROM members"
        )
        conn.execute(
            "INSERT INTO devices (device_id, device_type, validated)"
            " SELECT 'cuff-' || member_id, 'bp_cuff', true FROM members"
        )
        conn.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, validated) SELECT 'cuff-' || member_id,"
            " now() - d * interval '1 day',"
            " member_id, 480, 125 + d % 20, 80, true FROM members, generate_series(1, 90) d"
            # In time order, as ingest stores them: the tables' BRIN time indexes (and
            # TimescaleDB's chunks) rely on it; member by member, "the last 7 days" read
            # the whole table.
            " ORDER BY d DESC, member_id"
        )
        conn.execute(
            "INSERT INTO alerts (member_id, kind, severity, observed_at, detail)"
            " SELECT member_id, 'bp_grade3', CASE WHEN k % 2 = 0 THEN 'critical' ELSE 'warning'"
            " END, now() - k * interval '1 hour', '{\"systolic\": 182, \"diastolic\": 112}'"
            " FROM members, generate_series(1, 3) k WHERE hashtext(member_id) % 10 = 0"
        )
        token = create_principal(conn, role="clinic", tenant_id="c1", name="bench-clinic")
    # Statistics, as autovacuum keeps them in a running database: right after a bulk load the
    # planner knows nothing of the tables and the list's plan is ~20x slower.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return token


def _time(client: Any, path: str, token: str) -> float:
    t = time.perf_counter()
    resp = client.get(path, headers={"Authorization": f"Bearer {token}"})
    ms = (time.perf_counter() - t) * 1000
    if resp.status_code != 200:
        raise SystemExit(f"{path}: {resp.status_code} {resp.text[:200]}")
    return ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from api.app import create_app
    from core import db
    from core.settings import Settings

    name = f"wellrate_dash_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        settings = Settings(environment="test", database_url=url, metrics_port=0)
        db.upgrade(url, settings)
        t = time.perf_counter()
        token = _seed(url, args.members)
        print(f"seeded {args.members} members in {time.perf_counter() - t:.1f} s")
        calls = {
            "GET /health (baseline)": "/health",
            "list, first page (alerts first)": "/clinic/worklist?limit=50",
            "list, by latest BP": "/clinic/worklist?sort=bp&desc=true&limit=50",
            "list, diabetes only": "/clinic/worklist?condition=diabetes&limit=50",
            "list, page 80": "/clinic/worklist?offset=3950&limit=50",
            "list, no data for 7 days": "/clinic/worklist?status=no_data_7d&limit=50",
            "alerts worklist": "/clinic/alerts?limit=50",
            "overview": "/clinic/overview",
            "patient: detail": "/clinic/patients/p00042?days=30",
            "patient: BP": "/clinic/patients/p00042/bp?days=90",
            "patient: glucose": "/clinic/patients/p00042/glucose?days=30",
        }
        times: dict[str, list[float]] = {k: [] for k in calls}
        with TestClient(create_app(settings)) as client:
            for path in calls.values():  # warm-up
                _time(client, path, token)
            for _ in range(args.rounds):  # interleaved: every call once a round
                for label, path in calls.items():
                    times[label].append(_time(client, path, token))
        print(f"\n{'call':<34} {'median ms':>10} {'p95 ms':>8}")
        for label, ts in times.items():
            p95 = sorted(ts)[max(0, int(0.95 * len(ts)) - 1)]
            print(f"{label:<34} {statistics.median(ts):>10.1f} {p95:>8.1f}")
        worst = max(statistics.median(times[k]) for k in calls if k.startswith("list"))
        verdict = "met" if worst < 300 else "NOT met"
        print(f"\nlist page, slowest median: {worst:.1f} ms (target < 300 ms: {verdict})")
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
