"""Scoring benchmark: score a whole book, against a plain-Python loop baseline.

    python -m bench.score_bench                      # 100,000 members, 90 days, 2,000 CGMs
    python -m bench.score_bench --members 5000 --cgm-members 100   # a quick run

Loads a synthetic book server-side (INSERT ... SELECT generate_series; deterministic values
from hashes), reports the LOAD time separately, then scores the 90-day window with the real
service (``scoring.service.score_window``) in a child process and reports its wall time,
throughput and peak RSS; scores a quarter of the book the same way to show memory does not
grow with the number of members (members are streamed in chunks). The baseline computes the
same core metrics member by member in plain Python (one query per member and kind, Python
loops, no numpy) on a random sample, scaled to the book. Targets: whole book < 10 min,
>= 20x the loop baseline, memory independent of the number of members.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import queue
import random
import resource
import statistics
import time
from datetime import date, timedelta
from typing import Any

import psycopg

from core import db
from core.settings import Settings

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


# --- the plain-Python baseline: fetch a member's rows, then loops, no numpy ----------------
# It computes the same stored metrics as the service, on the same readings (BP home
# protocol, months, weeks, variability of both pressures; activity valid days, median, WHO
# minutes; CGM over the last 14 days: bands in the device unit, mean/SD/CV/GMI, LBGI/HBGI,
# GRI, events with the 45-minute gap rule).


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _sd(xs: list[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _fetch(c: psycopg.Connection[Any], mid: str, t0: Any, t1: Any) -> tuple[Any, Any, Any]:
    bp = c.execute(
        "SELECT measured_at, utc_offset_min, systolic, diastolic FROM bp_readings"
        " WHERE member_id = %s AND measured_at >= %s AND measured_at < %s AND validated"
        " ORDER BY measured_at",
        (mid, t0, t1),
    ).fetchall()
    act = c.execute(
        "SELECT start_at, utc_offset_min, duration_s, steps, active_minutes, vigorous_minutes"
        " FROM activity_readings WHERE member_id = %s AND start_at >= %s AND start_at < %s",
        (mid, t0, t1),
    ).fetchall()
    # CGM over the window's last 14 days, like the service (the consensus reporting period).
    g = c.execute(
        "SELECT measured_at, value, unit FROM glucose_readings WHERE member_id = %s"
        " AND measured_at >= %s AND measured_at < %s AND method = 'cgm' ORDER BY measured_at",
        (mid, t1 - timedelta(days=15), t1),
    ).fetchall()
    return bp, act, g


def _loop_bp(bp: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(bp)}
    if len(bp) < 2:
        return out
    for col, name in ((2, "sys"), (3, "dia")):
        xs = [float(r[col]) for r in bp]
        sd = _sd(xs)
        out[name] = (
            sd,
            100 * sd / _mean(xs),
            sum(abs(xs[k + 1] - xs[k]) for k in range(len(xs) - 1)) / (len(xs) - 1),
        )
    days: dict[Any, set[str]] = {}
    local = []
    for r in bp:
        lt = r[0] + timedelta(minutes=r[1])
        slot = "m" if 4 <= lt.hour < 12 else "e" if lt.hour >= 16 else "x"
        local.append((lt.date(), slot, r[2], r[3]))
        days.setdefault(lt.date(), set()).add(slot)
    proto = sorted(d for d, v in days.items() if {"m", "e"} <= v)
    pset = set(proto)
    weeks = {d.isocalendar()[:2] for d in proto}
    used = (
        [(s_, d_) for d, slot, s_, d_ in local if d in pset and slot != "x" and d != proto[0]]
        if proto
        else []
    )
    months: dict[Any, list[tuple[float, float]]] = {}
    mdays: dict[Any, set[Any]] = {}
    for d, slot, s_, d_ in local:
        if d in pset and slot != "x":
            months.setdefault((d.year, d.month), []).append((s_, d_))
            mdays.setdefault((d.year, d.month), set()).add(d)
    assessed = [k for k in months if len(mdays[k]) >= 3]
    ctl = [
        k
        for k in assessed
        if _mean([x[0] for x in months[k]]) < 135 and _mean([x[1] for x in months[k]]) < 85
    ]
    out.update(
        protocol_days=len(proto), weeks=len(weeks),
        mean=(_mean([u[0] for u in used]), _mean([u[1] for u in used])) if used else None,
        in_target=sum(1 for r in bp if r[2] < 135 and r[3] < 85) / len(bp),
        severe=sum(1 for r in bp if r[2] >= 180 or r[3] >= 110),
        months=(len(assessed), len(ctl)),
    )  # fmt: skip
    return out


def _loop_activity(act: list[Any]) -> dict[str, Any]:
    per_day: dict[Any, list[float]] = {}
    for r in act:
        d = (r[0] + timedelta(minutes=r[1])).date()
        acc = per_day.setdefault(d, [0.0, 0.0, 0.0])
        acc[0] += min(r[2], 86400)
        acc[1] += r[3]
        acc[2] += r[4] + r[5]
    valid = [v for v in per_day.values() if v[0] >= 36000 and v[1] > 0]
    if not valid:
        return {"valid": 0}
    return {
        "valid": len(valid),
        "median": statistics.median([v[1] for v in valid]),
        "at_target": sum(1 for v in valid if v[1] >= 7000),
        "who": sum(v[2] for v in valid) / len(valid) * 7,
        "active": sum(1 for v in valid if v[2] >= 30),
    }


def _loop_cgm(g: list[Any]) -> dict[str, Any]:
    if len(g) < 2:
        return {"n": len(g)}
    bands = [0] * 6
    mg, ts = [], []
    for t, v, unit in g:
        e = (3.0, 3.9, 7.8, 10.0, 13.9) if unit == "mmol/L" else (54.0, 70.0, 140.0, 180.0, 250.0)
        bands[0] += v < e[0]
        bands[1] += v < e[1]
        bands[2] += e[1] <= v <= e[2]
        bands[3] += e[1] <= v <= e[3]
        bands[4] += v > e[3]
        bands[5] += v > e[4]
        mg.append(v * 18.01559 if unit == "mmol/L" else v)
        ts.append(t.timestamp())
    n = len(mg)
    pct = [100 * b / n for b in bands]
    m = _mean(mg)
    sd = _sd(mg)
    f = [1.509 * (math.log(x) ** 1.084 - 5.381) for x in mg]
    lbgi = sum(10 * x * x for x in f if x < 0) / n
    hbgi = sum(10 * x * x for x in f if x > 0) / n
    gri = min(
        100.0, 3.0 * pct[0] + 2.4 * (pct[1] - pct[0]) + 1.6 * pct[5] + 0.8 * (pct[4] - pct[5])
    )
    dt = statistics.median([ts[k + 1] - ts[k] for k in range(n - 1)])

    def events(beyond: list[bool]) -> int:
        count, run_start, in_event, inside_start = 0, None, False, None
        for k in range(n):
            gap = k > 0 and ts[k] - ts[k - 1] > 45 * 60
            if gap:
                run_start, in_event, inside_start = None, False, None
            if beyond[k]:
                inside_start = None
                run_start = ts[k] if run_start is None else run_start
                if not in_event and ts[k] - run_start + dt >= 900:
                    count, in_event = count + 1, True
            else:
                run_start = None
                inside_start = ts[k] if inside_start is None else inside_start
                if in_event and ts[k] - inside_start + dt >= 900:
                    in_event = False
        return count

    hypo = events([x < 70 for x in mg])
    hyper = events([x > 180 for x in mg])
    return {"pct": pct, "mean": m, "cv": 100 * sd / m, "gmi": 3.31 + 0.02392 * m,
            "lbgi": lbgi, "hbgi": hbgi, "gri": gri, "events": (hypo, hyper)}  # fmt: skip


def _baseline(url: str, sample: list[str], start: date, end: date) -> dict[str, Any]:
    lo = start - timedelta(days=1)
    hi = end + timedelta(days=1)
    fetched = []
    t0 = time.perf_counter()
    with psycopg.connect(url) as c:
        for mid in sample:
            fetched.append(_fetch(c, mid, lo, hi))
    t1 = time.perf_counter()
    for bp, act, g in fetched:
        _loop_bp(bp)
        _loop_activity(act)
        _loop_cgm(g)
    t2 = time.perf_counter()
    rows = sum(len(b) + len(a) + len(g) for b, a, g in fetched)
    return {"members": len(sample), "load_s": t1 - t0, "compute_s": t2 - t1, "rows": rows}


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
        zero = {"load_s": 0.0, "compute_s": 0.0, "members": 0, "rows": 0}
        b_cgm = _baseline(url, s_cgm, start, end) if s_cgm else zero
        b_plain = _baseline(url, s_plain, start, end)

        def scaled(key: str) -> float:
            per_c = b_cgm[key] / max(1, b_cgm["members"])
            per_p = b_plain[key] / max(1, b_plain["members"])
            return float(per_c * n_cgm + per_p * (n - n_cgm))

        est_load, est_compute = scaled("load_s"), scaled("compute_s")
        print(
            f"baseline (plain Python, member by member) on {b_plain['members']:,} +"
            f" {b_cgm['members']:,} CGM members, scaled to the book: fetch {est_load:.0f} s,"
            f" compute {est_compute:.0f} s, total {est_load + est_compute:.0f} s"
        )
        svc_compute = full["compute_ms"] / 1000
        svc_load = full["load_ms"] / 1000
        speed_compute = est_compute / max(svc_compute, 1e-9)
        speed_total = (est_load + est_compute) / full["wall"]
        print(
            f"service split: load {svc_load:.1f} s, compute {svc_compute:.2f} s,"
            f" write {full['write_ms'] / 1000:.1f} s"
        )
        print(
            f"summary: whole book {full['wall']:.0f} s (target < 600 s:"
            f" {'met' if full['wall'] < 600 else 'NOT met'}); compute x{speed_compute:.0f} vs"
            f" loops (target >= 20: {'met' if speed_compute >= 20 else 'NOT met'});"
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
