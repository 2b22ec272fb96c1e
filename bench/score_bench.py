"""Scoring benchmark: score a whole book, against a plain-Python loop baseline.

    python -m bench.score_bench                      # 100,000 members, 90 days, 2,000 CGMs
    python -m bench.score_bench --members 5000 --cgm-members 100   # a quick run

Loads a synthetic book server-side (INSERT ... SELECT generate_series; deterministic values
from hashes), reports the LOAD time separately, then scores the 90-day window with the real
service (``scoring.service.score_window``) in a child process and reports its wall time,
throughput and peak RSS; scores a quarter of the book the same way to show memory does not
grow with the number of members (members are streamed in chunks). The baseline
(``tests.scoring.loops``) computes the same stored indicators member by member in plain
Python (one query per member and kind, Python loops, no numpy) on a random sample, best of
three runs, scaled to the book; its numbers are compared value by value with the rows the
service stored, and the speed-up counts only when they agree. Targets: whole book < 10 min,
>= 20x the loop baseline, memory independent of the number of members.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import random
import resource
import time
from datetime import date, timedelta
from typing import Any

import psycopg

from core import db
from core.settings import Settings
from tests.scoring.loops import agreement, baseline

WINDOW_END = date(2026, 11, 1)


def _url(admin: str, name: str) -> str:
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}"


def _load(url: str, members: int, cgm: int, days: int) -> dict[str, Any]:
    start = WINDOW_END - timedelta(days=days)
    t0 = time.perf_counter()
    counts: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            "INSERT INTO members (member_id, birth_date, sex, conditions)"
            " SELECT 'b' || lpad(i::text, 7, '0'), date '1945-01-01' + (abs(hashint4(i)) %% 18000),"
            "  CASE WHEN i %% 2 = 0 THEN 'F' ELSE 'M' END,"
            "  CASE WHEN i <= %(cgm)s THEN ARRAY['diabetes', 'hypertension']"
            "       WHEN i %% 3 = 0 THEN ARRAY['hypertension']"
            "       WHEN i %% 7 = 0 THEN ARRAY['diabetes']"
            "       ELSE '{}'::text[] END"
            " FROM generate_series(1, %(n)s::int) i",
            {"n": members, "cgm": cgm},
        )
        c.execute(  # every member consented to clinic care, which scoring reads under
            "INSERT INTO consents (member_id, purpose, notice_version, given_at)"
            " SELECT member_id, 'clinic_care', 'bench', '2000-01-01Z' FROM members"
        )
        c.execute(
            "INSERT INTO devices (device_id, device_type, validated)"
            " SELECT 'cuff-' || i, 'bp_cuff', true FROM generate_series(1, %(n)s::int) i"
            " UNION ALL SELECT 'band-' || i, 'activity_tracker', true"
            "  FROM generate_series(1, %(n)s::int) i"
            " UNION ALL SELECT 'cgm-' || i, 'cgm', true FROM generate_series(1, %(cgm)s::int) i",
            {"n": members, "cgm": cgm},
        )
        step = 10_000
        for lo in range(1, members + 1, step):
            hi = min(members, lo + step - 1)
            p = {"lo": lo, "hi": hi, "start": start, "days": days}
            # BP twice a day, 07:xx and 19:xx member-local (UTC+08:00), per-member level.
            c.execute(
                "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
                " systolic, diastolic, pulse, validated)"
                " SELECT 'cuff-' || i, %(start)s::timestamptz + d * interval '1 day'"
                "   + (h - 8) * interval '1 hour'"
                "   + (abs(hashint4(i * 7 + d)) %% 50) * interval '1 minute',"
                "  'b' || lpad(i::text, 7, '0'), 480,"
                "  115 + abs(hashint4(i)) %% 40 + abs(hashint4(i * 31 + d * 2 + h)) %% 15,"
                "  70 + abs(hashint4(i)) %% 20 + abs(hashint4(i * 17 + d + h)) %% 8,"
                "  60 + abs(hashint4(i + d)) %% 30, true"
                " FROM generate_series(%(lo)s::int, %(hi)s::int) i,"
                "  generate_series(0, %(days)s::int - 1) d,"
                "  (VALUES (7), (19)) AS hh(h)",
                p,
            )
            # One daily activity summary per member and day.
            c.execute(
                "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
                " utc_offset_min, steps, active_minutes, vigorous_minutes)"
                " SELECT 'band-' || i, %(start)s::timestamptz + d * interval '1 day'"
                "   - interval '8 hours', 86400, 'b' || lpad(i::text, 7, '0'), 480,"
                "  2000 + abs(hashint4(i * 13 + d)) %% 9000, abs(hashint4(i + d * 3)) %% 60,"
                "  abs(hashint4(i * 5 + d)) %% 10"
                " FROM generate_series(%(lo)s::int, %(hi)s::int) i,"
                "  generate_series(0, %(days)s::int - 1) d",
                p,
            )
        # CGM every 5 minutes, mmol/L for most, mg/dL for every 7th device.
        for lo in range(1, cgm + 1, 100):
            hi = min(cgm, lo + 99)
            c.execute(
                "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
                " value, unit, method)"
                " SELECT 'cgm-' || i, %(start)s::timestamptz + k * interval '5 minutes',"
                "  'b' || lpad(i::text, 7, '0'), 480,"
                "  CASE WHEN i %% 7 = 0 THEN round(g::numeric)::float8"
                "       ELSE round((g / 18.01559)::numeric, 1)::float8 END,"
                "  CASE WHEN i %% 7 = 0 THEN 'mg/dL' ELSE 'mmol/L' END, 'cgm'"
                " FROM generate_series(%(lo)s::int, %(hi)s::int) i,"
                "  generate_series(0, %(days)s::int * 288 - 1) k,"
                "  LATERAL (SELECT 105 + abs(hashint4(i)) %% 50"
                "    + 40 * sin(k * 2 * pi() / 288 + i) + abs(hashint4(i * 101 + k)) %% 25 AS g) v",
                {"lo": lo, "hi": hi, "start": start, "days": days},
            )
        for t in ("bp_readings", "activity_readings", "glucose_readings"):
            row = c.execute(f"SELECT count(*) FROM {t}").fetchone()
            counts[t] = int(row[0]) if row else 0
        c.execute("ANALYZE")
        size = c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    secs = time.perf_counter() - t0
    total = sum(counts.values())
    return {"rows": counts, "total": total, "seconds": secs, "db_size": size[0] if size else "?"}


def _score_child(url: str, start: date, end: date, ids: list[str] | None, q: Any) -> None:
    from scoring.service import score_window

    settings = Settings(database_url=url)
    t0 = time.perf_counter()
    out = score_window(url, settings, start, end, member_ids=ids)
    out["wall"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put(out)


def _score(url: str, start: date, end: date, ids: list[str] | None) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_score_child, args=(url, start, end, ids, q))
    p.start()
    while True:
        try:
            out: dict[str, Any] = q.get(timeout=2)
            break
        except queue.Empty:
            if not p.is_alive():
                raise RuntimeError(f"the scoring process died (exit code {p.exitcode})") from None
    p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--cgm-members", type=int, default=2_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--sample", type=int, default=1_000, help="baseline sample (members)")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db", default="wellrate_bench_score")
    ap.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    ap.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    a = ap.parse_args()
    url = _url(a.admin_url, a.db)
    start, end = WINDOW_END - timedelta(days=a.days), WINDOW_END
    with psycopg.connect(a.admin_url, autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (a.db,)).fetchone()
        if exists and not a.reuse:
            c.execute(f'DROP DATABASE "{a.db}"')
            exists = None
        if not exists:
            c.execute(f'CREATE DATABASE "{a.db}"')
    try:
        if not exists:
            db.upgrade(url, Settings(database_url=url))
            ld = _load(url, a.members, a.cgm_members, a.days)
            print(
                f"load: {ld['total']:,} readings {ld['rows']} in {ld['seconds']:.1f} s"
                f" ({ld['total'] / ld['seconds']:,.0f} rows/s), database {ld['db_size']}"
            )
        with psycopg.connect(url) as c:
            ids = [r[0] for r in c.execute("SELECT member_id FROM members ORDER BY member_id")]
            cgm_ids = [r[0] for r in c.execute("SELECT DISTINCT member_id FROM glucose_readings")]
        n, n_cgm = len(ids), len(cgm_ids)
        full = _score(url, start, end, None)
        print(
            f"score, whole book: {full['members']:,} members, {full['readings']:,} readings in"
            f" {full['wall']:.1f} s ({full['members'] / full['wall']:,.0f} members/s,"
            f" {full['readings'] / full['wall']:,.0f} readings/s),"
            f" peak RSS {full['peak_rss_mb']:.0f} MB"
        )
        quarter_ids = ids[: max(1, n // 4)]
        quarter = _score(url, start, end, quarter_ids)
        print(
            f"score, quarter book: {quarter['members']:,} members in {quarter['wall']:.1f} s,"
            f" peak RSS {quarter['peak_rss_mb']:.0f} MB (memory vs members:"
            f" x{full['peak_rss_mb'] / quarter['peak_rss_mb']:.2f} for x{n / len(quarter_ids):.1f})"
        )
        rng = random.Random(1)
        share = n_cgm / n
        k_cgm = max(1, round(a.sample * share)) if n_cgm else 0
        plain = [m for m in ids if m not in set(cgm_ids)]
        s_cgm = rng.sample(cgm_ids, min(k_cgm, n_cgm))
        s_plain = rng.sample(plain, min(a.sample - len(s_cgm), len(plain)))
        zero: dict[str, Any] = {
            "load_s": 0.0,
            "compute_s": 0.0,
            "members": 0,
            "rows": 0,
            "result": {},
        }
        b_cgm = baseline(url, s_cgm, start, end) if s_cgm else zero
        b_plain = baseline(url, s_plain, start, end)
        compared, members_compared, disagree = agreement(
            url, {**b_cgm["result"], **b_plain["result"]}, start, end
        )
        print(
            f"baseline vs the service's stored indicators: {compared:,} values of"
            f" {members_compared:,} members compared, {len(disagree)} disagree"
            + "".join(f"\n  {line}" for line in disagree[:10])
        )

        def scaled(key: str) -> float:
            per_c = b_cgm[key] / max(1, b_cgm["members"])
            per_p = b_plain[key] / max(1, b_plain["members"])
            return float(per_c * n_cgm + per_p * (n - n_cgm))

        est_load, est_compute = scaled("load_s"), scaled("compute_s")
        print(
            f"baseline (plain Python, member by member) on {b_plain['members']:,} +"
            f" {b_cgm['members']:,} CGM members, scaled to the book: fetch {est_load:.0f} s,"
            f" compute {est_compute:.0f} s (best of 3), total {est_load + est_compute:.0f} s"
        )
        svc_compute = full["compute_ms"] / 1000
        svc_load = full["load_ms"] / 1000
        speed_compute = est_compute / max(svc_compute, 1e-9)
        speed_total = (est_load + est_compute) / full["wall"]
        met = speed_compute >= 20 and not disagree  # a baseline doing other work proves nothing
        print(
            f"service split: load {svc_load:.1f} s, compute {svc_compute:.2f} s,"
            f" write {full['write_ms'] / 1000:.1f} s"
        )
        print(
            f"summary: whole book {full['wall']:.0f} s (target < 600 s:"
            f" {'met' if full['wall'] < 600 else 'NOT met'}); compute x{speed_compute:.0f} vs"
            f" loops (target >= 20: {'met' if met else 'NOT met'});"
            f" end to end x{speed_total:.1f} vs fetch+loops; peak RSS"
            f" {full['peak_rss_mb']:.0f} MB whole vs {quarter['peak_rss_mb']:.0f} MB quarter"
            f" (cpu count {os.cpu_count()})"
        )
    finally:
        if not a.keep:
            with psycopg.connect(a.admin_url, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{a.db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
