"""TimescaleDB chunk layouts: compression and scoring read times per setting, side by side.

    python -m bench.tsdb_chunks                       # the demo cohort: 300 members, 120 days
    python -m bench.tsdb_chunks --reps 7 --layouts "before,defaults,g1,g14,bp7,a1"
    python -m bench.tsdb_chunks --members 1000 --layouts "defaults,a1"

Needs a PostgreSQL server that preloads TimescaleDB (``--admin-url``, default the local
5433 cluster of docs/timescaledb.md) and, for the ``plain`` layout, one without it
(``--plain-admin-url``, default 5432). The cohort is device_sim's (``generate(members,
seed)``, readings from ``device_sim.payloads.member_readings``), the demo's by default, so a
run reproduces; it is written straight into the tables with COPY, not through MQTT, and
ends yesterday.

Per layout, one database: ``wellrate db upgrade`` with the layout's settings, the same
rows, every chunk older than ``compress_after_days`` compressed as the policy would, then:

* sizes: each table before and after compression, and the ratio on the compressed chunks
  (``hypertable_compression_stats``);
* the scoring reads of a 90-day window for the whole cohort, with the real
  ``scoring.repository`` loads (BP, CGM = the last 14 days, SMBG = fingersticks over the
  window, activity), each statement timed from the client (planning included), median
  over ``--reps`` runs interleaved across layouts (this machine's speed drifts ~10 %);
  every layout must return the same rows (checked);
* the clinic's recent-glucose read for the CGM wearer with the most chunks: planning and
  execution time, with its time bound and without (the read before the bound).

Layouts are (BP, glucose, activity) chunk days and the glucose segments. ``plain`` is plain
PostgreSQL (the same reads must return the same rows); ``before`` is the layout before chunk
intervals became settings (7, 1, 7 days; glucose segmented by member only); ``defaults`` is
what ``Settings()`` says now; the others change one thing from ``defaults``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import psycopg
from psycopg import sql

from core import db
from core.settings import Settings


@dataclass(frozen=True)
class Layout:
    name: str
    bp: int
    glucose: int
    activity: int
    glucose_segments: str = "member_id, method"
    plain: bool = False  # plain PostgreSQL (--plain-admin-url): the same reads, no chunks


def _layouts(defaults: Settings) -> dict[str, Layout]:
    d = (defaults.bp_chunk_days, defaults.glucose_chunk_days, defaults.activity_chunk_days)
    return {
        "plain": Layout("plain", 0, 0, 0, "", plain=True),
        "before": Layout("before", 7, 1, 7, "member_id"),
        "defaults": Layout("defaults", *d),
        "g1": Layout("g1", d[0], 1, d[2]),
        "g1-member": Layout("g1-member", d[0], 1, d[2], "member_id"),
        "g7-member": Layout("g7-member", d[0], 7, d[2], "member_id"),
        "g2": Layout("g2", d[0], 2, d[2]),
        "g14": Layout("g14", d[0], 14, d[2]),
        "bp7": Layout("bp7", 7, d[1], d[2]),
        "bp14": Layout("bp14", 14, d[1], d[2]),
        "a1": Layout("a1", d[0], d[1], 1),
        "a3": Layout("a3", d[0], d[1], 3),
        "a14": Layout("a14", d[0], d[1], 14),
    }


# --- the cohort ----------------------------------------------------------------------------


@dataclass
class Cohort:
    members: list[tuple[Any, ...]]
    devices: list[tuple[Any, ...]]
    rows: dict[str, list[tuple[Any, ...]]]
    start: date
    end: date
    cgm_members: list[str]


def _cohort(n: int, seed: int, days: int) -> Cohort:
    from device_sim.cohort import generate
    from device_sim.payloads import member_readings

    end = datetime.now(UTC).date()  # history up to yesterday, local days
    start = end - timedelta(days=days)
    members, _ = generate(n, seed=seed, start=start)
    rows: dict[str, list[tuple[Any, ...]]] = {"bp": [], "glucose": [], "activity": []}
    seen: set[tuple[str, int]] = set()
    cgm: list[str] = []
    for m in members:
        for dr in member_readings(m, start, days):
            dev = dr.device.device_id
            if dr.device.device_type == "cgm":
                cgm.append(m.member_id)
            for t, it in zip(dr.t.tolist(), dr.items, strict=True):
                if (dev, t) in seen:  # the natural key, as ingest's ON CONFLICT would
                    continue
                seen.add((dev, t))
                at = datetime.fromtimestamp(t, UTC)
                if dr.kind == "bp":
                    ok = dr.device.validated
                    rows["bp"].append((dev, at, m.member_id, 480, it["sys"], it["dia"],
                                       it["pulse"], ok))  # fmt: skip
                elif dr.kind == "glucose":
                    v = it["v"]
                    cens = v if isinstance(v, str) else None
                    rows["glucose"].append((dev, at, m.member_id, 480,
                                            None if cens else float(v), it["u"], cens, it["m"],
                                            it.get("meal")))  # fmt: skip
                else:
                    rows["activity"].append(
                        (dev, at, it["dur"], m.member_id, 480, it["steps"], it["active_min"],
                         it["vig_min"], it["hr"])
                    )  # fmt: skip
    return Cohort(
        members=[(m.member_id, m.birth_date, m.sex, list(m.conditions)) for m in members],
        devices=[(d.device_id, d.device_type, d.validated) for m in members for d in m.devices],
        rows=rows,
        start=start,
        end=end,
        cgm_members=sorted(set(cgm)),
    )


_COPY = {
    "bp": "COPY bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
    " diastolic, pulse, validated) FROM STDIN",
    "glucose": "COPY glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
    " value, unit, censored, method, meal_context) FROM STDIN",
    "activity": "COPY activity_readings (device_id, start_at, duration_s, member_id,"
    " utc_offset_min, steps, active_minutes, vigorous_minutes, heart_rate) FROM STDIN",
}
TABLES = {"bp": "bp_readings", "glucose": "glucose_readings", "activity": "activity_readings"}


def _url(admin: str, name: str) -> str:
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}"


def _load(admin: str, layout: Layout, cohort: Cohort, tag: str) -> dict[str, Any]:
    """Create, migrate and fill the layout's database; compress as the policy would."""
    name = f"wellrate_bench_tsdb_{tag}_{layout.name.replace('-', '_')}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    url = _url(admin, name)
    settings = Settings(database_url=url)
    if not layout.plain:
        settings = Settings(
            database_url=url,
            bp_chunk_days=layout.bp,
            glucose_chunk_days=layout.glucose,
            activity_chunk_days=layout.activity,
        )
    if db.upgrade(url, settings)["timescale"] == layout.plain:
        sys.exit(f"{admin}: TimescaleDB is {'on' if layout.plain else 'off'} (docs/timescaledb.md)")
    res: dict[str, Any] = {"url": url, "name": name, "admin": admin, "compress_s": 0.0}
    with psycopg.connect(url, autocommit=True) as c:
        if not layout.plain:
            # Policies off while we measure: the bench compresses, the scheduler must not.
            c.execute(
                "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
                " WHERE hypertable_schema = 'public'"
            )
            c.execute(
                sql.SQL("ALTER TABLE glucose_readings SET (timescaledb.compress_segmentby = {})")
                .format(sql.Literal(layout.glucose_segments))
            )  # fmt: skip
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO members (member_id, birth_date, sex, conditions)"
                " VALUES (%s, %s, %s, %s)",
                cohort.members,
            )
            cur.execute(  # scoring reads under the members' clinic-care consent
                "INSERT INTO consents (member_id, purpose, notice_version, given_at)"
                " SELECT member_id, 'clinic_care', 'bench', '2000-01-01Z' FROM members"
            )
            cur.executemany(
                "INSERT INTO devices (device_id, device_type, validated) VALUES (%s, %s, %s)",
                cohort.devices,
            )
        t0 = time.perf_counter()
        for kind, copy_sql in _COPY.items():
            with c.cursor().copy(copy_sql) as cp:
                for r in cohort.rows[kind]:
                    cp.write_row(r)
        res["loaded_s"] = time.perf_counter() - t0
        c.execute("VACUUM ANALYZE")
        res["before"] = res["after"] = _sizes(c, layout.plain)
        res["stats"] = {t: (0, 0, 0, 0) for t in TABLES.values()}
        if layout.plain:
            return res
        # create_hypertable's own index on (time DESC), in every uncompressed chunk.
        res["time_idx"] = {
            t: int(c.execute(
                "SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0) FROM pg_index i"
                " JOIN pg_class x ON x.oid = i.indexrelid WHERE x.relname LIKE %s",
                (f"%{t}_{col}_idx",),
            ).fetchone()[0])  # type: ignore[index]
            for t, col in (("bp_readings", "measured_at"), ("glucose_readings", "measured_at"),
                           ("activity_readings", "start_at"))
        }  # fmt: skip
        t0 = time.perf_counter()
        for table in TABLES.values():
            c.execute(
                "SELECT compress_chunk(ch) FROM show_chunks(%s::regclass,"
                " older_than => make_interval(days => %s)) ch",
                (table, settings.compress_after_days),
            )
        res["compress_s"] = time.perf_counter() - t0
        c.execute("VACUUM ANALYZE")
        res["after"] = _sizes(c, False)
        res["stats"] = {
            r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4]))
            for r in c.execute(
                "SELECT t, s.total_chunks, s.number_compressed_chunks,"
                " s.before_compression_total_bytes, s.after_compression_total_bytes"
                " FROM unnest(%s::text[]) t, hypertable_compression_stats(t::regclass) s",
                (list(TABLES.values()),),
            )
        }
    return res


def _sizes(c: psycopg.Connection[Any], plain: bool) -> dict[str, int]:
    """Bytes of each table with its indexes (every chunk, compressed ones included)."""
    fn = "pg_total_relation_size" if plain else "hypertable_size"
    out = {}
    for t in TABLES.values():
        row = c.execute(f"SELECT {fn}(%s::regclass)", (t,)).fetchone()
        out[t] = int(row[0]) if row else 0
    return out


# --- the reads -----------------------------------------------------------------------------


class _Timed(psycopg.Cursor[Any]):
    """Times every statement from the client: send, plan, run, receive."""

    log: ClassVar[list[tuple[str, Any, float]]] = []

    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
        t0 = time.perf_counter()
        out = super().execute(query, params, **kw)
        _Timed.log.append((str(query), params, time.perf_counter() - t0))
        return out


def _label(sql: str) -> str | None:
    if "bp_readings" in sql:
        return "bp"
    if "activity_readings" in sql:
        return "activity"
    if "glucose_readings" in sql:
        return "smbg" if "'smbg'" in sql else "cgm"
    return None


def _window(cohort: Cohort) -> tuple[datetime, datetime, int, int, int]:
    end = cohort.end
    start = end - timedelta(days=90)
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=14)
    t1 = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(hours=14)
    epoch = date(1970, 1, 1)
    d0, d1 = (start - epoch).days, (end - epoch).days
    return t0, t1, d0, d1, d1 - 14


def _reads(url: str, ids: list[str], cohort: Cohort) -> tuple[dict[str, float], str]:
    """One scoring load of the whole cohort, on a fresh connection (nothing prepared):
    seconds per read and a digest of everything loaded. Also ``smbg-probes``: the
    fingerstick read as it was before it became one scan per chunk (one probe per member
    and chunk, ``scoring.repository._MEMBERS_JOIN``), timed after the current read warmed
    a fresh connection's catalog caches as the CGM read warms them for the current one."""
    from scoring import repository as repo

    t0, t1, d0, d1, c0 = _window(cohort)
    _Timed.log = []
    digest = hashlib.sha256()
    with psycopg.connect(url, cursor_factory=_Timed) as conn:
        for arr in (
            repo.load_bp(conn, ids, t0, t1, d0, d1),
            repo.load_glucose(conn, ids, t0, t1, d0, d1, c0),
            repo.load_activity(conn, ids, t0, t1, d0, d1),
        ):
            digest.update(np.ascontiguousarray(arr).tobytes())
        conn.rollback()
    times: dict[str, float] = {}
    smbg: tuple[str, Any] | None = None
    for text, params, secs in _Timed.log:
        label = _label(text)
        if label:
            times[label] = times.get(label, 0.0) + secs
        if label == "smbg":
            smbg = (text, params)
    assert smbg is not None
    parts = {"table": "glucose_readings", "ts": "measured_at",
             "extra": "\n     AND r.method = 'smbg'"}  # fmt: skip
    probes = smbg[0].replace(repo._MEMBERS_ANY.format(**parts), repo._MEMBERS_JOIN.format(**parts))
    assert probes != smbg[0]
    with psycopg.connect(url) as conn:
        conn.execute("SET jit = off")
        new = conn.execute(smbg[0], smbg[1], binary=True).fetchone()  # warms the catalog
        began = time.perf_counter()
        old = conn.execute(probes, smbg[1], binary=True).fetchone()
        times["smbg-probes"] = time.perf_counter() - began
        assert old is not None and new is not None and old[0] == new[0]  # as many rows
    return times, digest.hexdigest()[:16]


def _recent_glucose(url: str, member: str) -> dict[str, tuple[float, float]]:
    """Planning and execution ms of the clinic's recent-glucose read, bounded and not."""
    from api.clinic import repository as clinic

    seen: list[tuple[str, Any]] = []

    class Rec(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            seen.append((str(query), params))
            return super().execute(query, params, **kw)

    out: dict[str, tuple[float, float]] = {}
    with psycopg.connect(url, cursor_factory=Rec) as conn:
        clinic.recent_glucose(conn, member, 96)
        query, params = seen[-1]
        unbounded_sql, n = re.subn(r"AND measured_at > now\(\) - interval '\d+ days'", "", query)
        assert n == 1, query
        for label, (q, p) in {
            "bounded": (query, params),
            "unbounded": (unbounded_sql, params),
        }.items():
            plans = [
                conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + q, p).fetchone()[0][0]  # type: ignore[index]
                for _ in range(5)
            ]
            out[label] = (
                statistics.median(x["Planning Time"] for x in plans),
                statistics.median(x["Execution Time"] for x in plans),
            )
        conn.rollback()
    return out


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--members", type=int, default=300)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--layouts", default="plain,before,defaults,g1,g1-member,g14,bp7,a1,a14")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5433/postgres")
    ap.add_argument(
        "--plain-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a server without TimescaleDB, for the 'plain' layout",
    )
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    a = ap.parse_args()
    defaults = Settings()
    known = _layouts(defaults)
    layouts = [known[n] for n in a.layouts.split(",")]
    print(
        f"defaults: BP {defaults.bp_chunk_days} d, glucose {defaults.glucose_chunk_days} d,"
        f" activity {defaults.activity_chunk_days} d chunks; compress after"
        f" {defaults.compress_after_days} d"
    )
    t0 = time.perf_counter()
    cohort = _cohort(a.members, a.seed, a.days)
    counts = {k: len(v) for k, v in cohort.rows.items()}
    print(
        f"cohort: {a.members} members (seed {a.seed}), {len(cohort.cgm_members)} CGM,"
        f" {a.days} days to {cohort.end}: {counts} readings"
        f" (generated in {time.perf_counter() - t0:.0f} s)"
    )
    tag = f"{a.members}_{a.days}"
    loaded: dict[str, dict[str, Any]] = {}
    try:
        for lay in layouts:
            admin = a.plain_admin_url if lay.plain else a.admin_url
            loaded[lay.name] = _load(admin, lay, cohort, tag)
            print(f"loaded {lay.name}: {loaded[lay.name]['loaded_s']:.0f} s COPY,"
                  f" {loaded[lay.name]['compress_s']:.0f} s compression")  # fmt: skip
        print("\nsizes (MB, tables + indexes; ratio = before/after on the compressed chunks):")
        print(f"{'layout':<10} {'chunks d':>9} {'glu seg':>9}  " + "  ".join(
            f"{k:>22}" for k in TABLES) + f"  {'total after':>11}")  # fmt: skip
        for lay in layouts:
            res = loaded[lay.name]
            cells = []
            for t in TABLES.values():
                total, comp, b, af = res["stats"][t]
                ratio = b / af if af else 1.0
                cells.append(
                    f"{_mb(res['before'][t]):>6}->{_mb(res['after'][t]):>5} {ratio:4.1f}x"
                    f" {comp:>3}/{total:<3}"
                )
            seg = "-" if lay.plain else "m+method" if "method" in lay.glucose_segments else "member"
            print(
                f"{lay.name:<10} {lay.bp:>2}/{lay.glucose:>2}/{lay.activity:>2}  {seg:>9}  "
                + "  ".join(f"{c:>22}" for c in cells)
                + f"  {_mb(sum(res['after'].values())):>11}"
            )
        for lay in layouts:
            if "time_idx" in loaded[lay.name]:
                res = loaded[lay.name]
                print(f"{lay.name:<10} before compression, the (time DESC) index create_hypertable"
                      " adds: " + ", ".join(
                          f"{t} {_mb(v)} MB ({100 * v / res['before'][t]:.0f} %)"
                          for t, v in res["time_idx"].items()))  # fmt: skip
        ids = [m[0] for m in cohort.members]
        times: dict[str, dict[str, list[float]]] = {lay.name: {} for lay in layouts}
        digests: dict[str, set[str]] = {lay.name: set() for lay in layouts}
        for _ in range(a.reps):  # interleaved: each rep visits every layout once
            for lay in layouts:
                got, digest = _reads(loaded[lay.name]["url"], ids, cohort)
                digests[lay.name].add(digest)
                for k, v in got.items():
                    times[lay.name].setdefault(k, []).append(v * 1000)
        print(f"\nscoring reads, 90-day window, {len(ids)} members, ms (median of {a.reps}):")
        print(f"{'layout':<10} {'bp':>8} {'cgm':>8} {'smbg':>8} {'activity':>8} {'total':>8}"
              f"  {'smbg, probes':>12}  rows digest")  # fmt: skip
        for lay in layouts:
            med = {k: statistics.median(v) for k, v in times[lay.name].items()}
            total = med["bp"] + med["cgm"] + med["smbg"] + med["activity"]
            print(
                f"{lay.name:<10} {med['bp']:8.1f} {med['cgm']:8.1f} {med['smbg']:8.1f}"
                f" {med['activity']:8.1f} {total:8.1f}  {med['smbg-probes']:12.1f}"
                f"  {','.join(sorted(digests[lay.name]))}"
            )
        same = len(set().union(*digests.values())) == 1
        print(f"same rows on every layout: {'yes' if same else 'NO'}")
        if cohort.cgm_members:
            member = cohort.cgm_members[0]
            print(f"\nclinic recent glucose ({member}), planning / execution ms (median of 5):")
            for lay in layouts:
                if lay.plain:
                    continue
                r = _recent_glucose(loaded[lay.name]["url"], member)
                print(
                    f"{lay.name:<10} bounded {r['bounded'][0]:6.2f} / {r['bounded'][1]:6.2f}"
                    f"   unbounded {r['unbounded'][0]:6.2f} / {r['unbounded'][1]:6.2f}"
                )
        if not same:
            sys.exit(1)
    finally:
        if not a.keep:
            for res in loaded.values():
                with psycopg.connect(res["admin"], autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{res["name"]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
