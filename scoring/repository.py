"""All of scoring's SQL: bulk loads of readings for a chunk of members, score and alert writes.

Why columns as bytea into numpy: scoring a city book reads tens of millions of readings,
and building a Python object per row would cost more than the scoring itself. Every column
is fixed-width and non-NULL (censored glucose becomes +-infinity, a missing meal context 0),
so the server packs each column into one big-endian bytea and the client views it with
``np.frombuffer`` (see ``_column_arrays``).

The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads

from core.db import Pending, text_array
from core.payload_format import MEAL_CONTEXTS
from scoring.models.repository import CURRENT_VERSION_SQL

Conn = psycopg.Connection[Any]

_PG = {"i2": (">i2", 2), "i4": (">i4", 4), "i8": (">i8", 8), "f8": (">f8", 8), "b": ("?", 1)}


@dataclass(frozen=True)
class MemberRow:
    member_id: str
    birth_date: date
    conditions: tuple[str, ...]


def _select_members(conn: Conn, columns: str, only: Sequence[str] | None) -> list[tuple[Any, ...]]:
    """``columns`` of every member (or of ``only``), in a stable order."""
    sql = f"SELECT {columns} FROM members"  # noqa: S608  # columns are constants below
    params: tuple[Any, ...] = ()
    if only is not None:
        sql += " WHERE member_id = ANY(%s)"
        params = (list(only),)
    return conn.execute(sql + " ORDER BY member_id", params).fetchall()


def members(conn: Conn, member_ids: Sequence[str] | None = None) -> list[MemberRow]:
    """Members to score, in a stable order (so chunks and progress are repeatable)."""
    rows = _select_members(conn, "member_id, birth_date, conditions", member_ids)
    return [MemberRow(r[0], r[1], tuple(r[2])) for r in rows]


def member_ids(conn: Conn, only: Sequence[str] | None = None) -> list[str]:
    return [r[0] for r in _select_members(conn, "member_id", only)]


def glucose_counts(conn: Conn, start: date, end: date) -> dict[str, int]:
    """Glucose readings per member in a UTC date range (a CGM wearer has 288 a day).

    Used to cut a run into chunks of bounded size (readings, not members), so one chunk
    full of CGM wearers cannot exhaust memory.
    """
    # UTC instants, not dates: date -> timestamptz depends on the session's TimeZone, so
    # TimescaleDB could exclude chunks only at executor start, after planning all of them.
    t0, t1 = (datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (start, end))
    rows = conn.execute(
        "SELECT member_id, count(*) FROM glucose_readings"
        " WHERE measured_at >= %s AND measured_at < %s GROUP BY member_id",
        (t0, t1),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


# --- runs split across workers ------------------------------------------------------


def insert_run(conn: Conn, run_id: str, start: date, end: date, version: str) -> bool:
    """True when this call created the run (a concurrent creator waits, then sees it)."""
    cur = conn.execute(
        "INSERT INTO score_runs (run_id, window_start, window_end, algorithm_version)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING RETURNING run_id",
        (run_id, start, end, version),
    )
    return cur.fetchone() is not None


def insert_chunks(conn: Conn, run_id: str, chunks: Sequence[Sequence[str]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO score_run_chunks (run_id, chunk_no, member_ids) VALUES (%s, %s, %s)",
            [(run_id, i, list(c)) for i, c in enumerate(chunks)],
        )


def run_window(conn: Conn, run_id: str) -> tuple[date, date, str] | None:
    row = conn.execute(
        "SELECT window_start, window_end, algorithm_version FROM score_runs WHERE run_id = %s",
        (run_id,),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def run_size(conn: Conn, run_id: str) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(cardinality(member_ids)), 0) FROM score_run_chunks"
        " WHERE run_id = %s AND done_at IS NULL",
        (run_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def claim_chunk(conn: Conn, run_id: str) -> tuple[int, list[str]] | None:
    """Lock the next chunk nobody holds; the lock lasts the caller's transaction."""
    row = conn.execute(
        "SELECT chunk_no, member_ids FROM score_run_chunks"
        " WHERE run_id = %s AND done_at IS NULL ORDER BY chunk_no"
        " LIMIT 1 FOR UPDATE SKIP LOCKED",
        (run_id,),
    ).fetchone()
    return None if row is None else (int(row[0]), list(row[1]))


def finish_chunk(
    conn: Conn, run_id: str, chunk_no: int, worker: str, stats: Mapping[str, int]
) -> None:
    conn.execute(
        "UPDATE score_run_chunks SET done_at = now(), worker = %s, stats = %s"
        " WHERE run_id = %s AND chunk_no = %s",
        (worker, json.dumps(dict(stats)), run_id, chunk_no),
    )


def finish_run_if_done(conn: Conn, run_id: str) -> None:
    conn.execute(
        "UPDATE score_runs SET finished_at = now() WHERE run_id = %s AND finished_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM score_run_chunks WHERE run_id = %s AND done_at IS NULL)",
        (run_id, run_id),
    )


_SEND = {"i2": "int2send", "i4": "int4send", "i8": "int8send", "f8": "float8send", "b": "boolsend"}


def _column_arrays(
    conn: Conn,
    select: str,
    params: Mapping[str, Any],
    cols: Sequence[tuple[str, str]],
    days: tuple[int, int] | None = None,
) -> npt.NDArray[Any]:
    """Run ``select`` and return its rows as a structured array, one bytea per column.

    Why not one Python object per row (or per COPY row: psycopg reads COPY data a row at a
    time): the server packs each column into one big-endian bytea (``string_agg`` of
    ``<type>send``), the client views it with ``np.frombuffer``; millions of readings cost
    a few large values on the wire instead of millions of small reads.
    """
    names = [f"c{i}" for i in range(len(cols))]
    aggs = ", ".join(
        f"string_agg({_SEND[kind]}({n}), ''::bytea)"
        for n, (_, kind) in zip(names, cols, strict=True)
    )
    sql = f"SELECT count(*), {aggs} FROM ({select}) AS q({', '.join(names)})"  # noqa: S608
    # No JIT: the per-member LATERAL plan is estimated expensive enough to trigger it, and
    # compiling took longer (~0.1 s a query) than running these queries. SET LOCAL: until
    # the caller's transaction ends.
    conn.execute("SET LOCAL jit = off")
    row = conn.execute(sql, params, binary=True).fetchone()
    assert row is not None
    n = int(row[0])
    out = np.empty(
        n, dtype=[(name, np.dtype(_PG[kind][0]).newbyteorder("=")) for name, kind in cols]
    )
    for (name, kind), data in zip(cols, row[1:], strict=True):
        if n:
            out[name] = np.frombuffer(data, dtype=_PG[kind][0])
    fields = out.dtype.names or ()
    if n > 1 and "idx" in fields and "t" in fields:
        # The loads carry no ORDER BY (see _EPOCH): rows come in the server's join order.
        i, t = out["idx"], out["t"]
        if not bool(np.all((i[1:] > i[:-1]) | ((i[1:] == i[:-1]) & (t[1:] >= t[:-1])))):
            out = out[np.lexsort((t, i))]
    if days is not None and n:
        # Keep member-local calendar days [d0, d1) (each reading's own UTC offset). Done
        # here rather than in SQL, where it was a second per-row epoch computation.
        local_day = (out["t"] + out["off"].astype(np.int64) * 60) // 86_400
        out = out[(local_day >= days[0]) & (local_day < days[1])]
    return out


# One index range scan per member, always: the LATERAL subquery with OFFSET 0 cannot be
# flattened into a join the planner may turn around. As a plain join, a chunk of 2,000
# members without a CGM made the planner expect few CGM rows per member and pick a
# parallel sequential scan (with JIT) of all of glucose_readings: 0.85 s instead of 0.05 s.
# Consent (PIPL; migration 0052): readings count only inside the member's clinic-care
# consent span, a multirange. It is unnested into its ranges (disjoint, usually one) and
# each range bounds the time scan. The earlier `measured_at <@ c.span`, with the span from
# an inlined LATERAL, ran consent_span() again for every reading: ~27 us a reading, 14 s
# instead of 0.4 s for 2,000 members' 90 days of BP (found by bench/score_bench.py).
_MEMBERS_JOIN = """
    FROM unnest(%(ids)b::text[]) WITH ORDINALITY AS u(member_id, idx)
    JOIN members m ON m.member_id = u.member_id
    CROSS JOIN LATERAL unnest(consent_span(m.member_id, 'clinic_care')) AS c(span)
    CROSS JOIN LATERAL (
        SELECT * FROM {table} r
         WHERE r.member_id = m.member_id AND r.{ts} >= %(t0)s AND r.{ts} < %(t1)s
           AND r.{ts} >= lower(c.span) AND r.{ts} < coalesce(upper(c.span), 'infinity')
{extra}
        OFFSET 0) r
"""
# Fingersticks are a few a day: one scan of each chunk for all the chunk's members
# (member_id = ANY) instead of one probe per member and chunk. On TimescaleDB a probe of a
# compressed chunk scans that chunk's list of segments: the demo cohort's 300 members over
# 92 daily chunks took 937 ms that way and 278 ms this way, 181 and 51 ms on 7-day chunks
# (bench/tsdb_chunks.py; docs/timescaledb.md, "Fingersticks on compressed chunks"). On
# plain PostgreSQL both shapes use the partial index of migration 0012 (12 and 8 ms).
_MEMBERS_ANY = """
    FROM unnest(%(ids)b::text[]) WITH ORDINALITY AS u(member_id, idx)
    JOIN members m ON m.member_id = u.member_id
    CROSS JOIN LATERAL unnest(consent_span(m.member_id, 'clinic_care')) AS c(span)
    JOIN {table} r ON r.member_id = m.member_id
   WHERE r.member_id = ANY(%(ids)b::text[]) AND r.{ts} >= %(t0)s AND r.{ts} < %(t1)s
     AND r.{ts} >= lower(c.span) AND r.{ts} < coalesce(upper(c.span), 'infinity')
{extra}
"""
# Whole seconds since 1970 as int8, in float8 and integer arithmetic: extract() returns
# numeric since PostgreSQL 14, and numeric arithmetic on every row was most of the load
# time. floor() of the float8 is exact at microsecond resolution (the spacing of float8
# near 2e9 is 2.4e-7 s). The member-local day window is applied to these whole seconds
# in numpy (_column_arrays), not per row in SQL. No ORDER BY either: _column_arrays sorts
# by (member, time) in numpy when the server's order differs, which costs less than a
# server-side sort that spills to disk.
_EPOCH = "floor(date_part('epoch', r.{ts}))::int8"


def load_bp(
    conn: Conn, ids: Sequence[str], t0: datetime, t1: datetime, d0: int, d1: int
) -> npt.NDArray[Any]:
    """BP readings of ``ids`` on member-local days [d0, d1) (days since 1970-01-01), before
    any consent withdrawal; [t0, t1) is the UTC range that contains them (index range).
    ``idx`` is the member's 0-based position in ``ids``."""
    sel = (
        "SELECT (u.idx - 1)::int4, " + _EPOCH.format(ts="measured_at") + ","
        " r.utc_offset_min, r.systolic, r.diastolic, r.validated, r.source = 'clinic'"
        + _MEMBERS_JOIN.format(table="bp_readings", ts="measured_at", extra="")
    )
    cols = [("idx", "i4"), ("t", "i8"), ("off", "i2"), ("sys", "i2"), ("dia", "i2"), ("ok", "b"),
            ("clinic", "b")]  # fmt: skip
    return _column_arrays(conn, sel, {"ids": list(ids), "t0": t0, "t1": t1}, cols, (d0, d1))


def load_glucose(
    conn: Conn,
    ids: Sequence[str],
    t0: datetime,
    t1: datetime,
    d0: int,
    d1: int,
    cgm_d0: int,
) -> npt.NDArray[Any]:
    """Glucose readings: LO/HI as -inf/+inf, ``meal`` is 1 + index in MEAL_CONTEXTS or 0.

    Two reads, concatenated per member (CGM first, then fingersticks, each in time order):
    CGM only from local day ``cgm_d0`` on (the CGM metrics use the window's last 14 days;
    the other 76 days of a 90-day window would be ~80 % of all the rows scoring reads), and
    fingersticks over the whole window through the partial index of migration 0012, so the
    older CGM rows are never touched.
    """

    def sel(method: str) -> str:
        # The method is a literal, not a parameter, so the planner can use the partial
        # index (a generic plan could not prove method = 'smbg').
        return (
            "SELECT (u.idx - 1)::int4, " + _EPOCH.format(ts="measured_at") + ","
            " r.utc_offset_min,"
            " coalesce(r.value, CASE r.censored WHEN 'LO' THEN '-Infinity'::float8"
            "   ELSE 'Infinity'::float8 END),"
            " r.unit = 'mmol/L', r.method = 'cgm',"
            " coalesce(array_position(%(meals)s::text[], r.meal_context), 0)::int2"
            + (_MEMBERS_JOIN if method == "cgm" else _MEMBERS_ANY).format(
                table="glucose_readings",
                ts="measured_at",
                extra=f"\n     AND r.method = '{method}'",
            )
        )

    cols = [
        ("idx", "i4"),
        ("t", "i8"),
        ("off", "i2"),
        ("v", "f8"),
        ("mmol", "b"),
        ("cgm", "b"),
        ("meal", "i2"),
    ]
    base = {"ids": list(ids), "t1": t1, "meals": list(MEAL_CONTEXTS)}
    cgm_t0 = datetime(1970, 1, 1, tzinfo=t0.tzinfo) + timedelta(days=cgm_d0, hours=-14)
    cgm = _column_arrays(conn, sel("cgm"), {**base, "t0": max(t0, cgm_t0)}, cols, (cgm_d0, d1))
    smbg = _column_arrays(conn, sel("smbg"), {**base, "t0": t0}, cols, (d0, d1))
    both = np.concatenate([cgm, smbg])
    # Group by member, keeping each part's time order (stable sort on the member index).
    out: npt.NDArray[Any] = both[np.argsort(both["idx"], kind="stable")]
    return out


def load_activity(
    conn: Conn, ids: Sequence[str], t0: datetime, t1: datetime, d0: int, d1: int
) -> npt.NDArray[Any]:
    sel = (
        "SELECT (u.idx - 1)::int4, " + _EPOCH.format(ts="start_at") + ","
        " r.utc_offset_min, r.duration_s, r.steps, r.active_minutes, r.vigorous_minutes,"
        " hashtext(r.device_id)::int8"
        + _MEMBERS_JOIN.format(table="activity_readings", ts="start_at", extra="")
    )
    cols = [
        ("idx", "i4"),
        ("t", "i8"),
        ("off", "i2"),
        ("dur", "i4"),
        ("steps", "i4"),
        ("act", "i4"),
        ("vig", "i4"),
        ("dev", "i8"),  # a code per device: one source per member-day (activity.one_source)
    ]
    return _column_arrays(conn, sel, {"ids": list(ids), "t0": t0, "t1": t1}, cols, (d0, d1))


def lab_results(
    conn: Conn, ids: Sequence[str], since: datetime, until: datetime
) -> dict[str, dict[str, list[tuple[int, float, str]]]]:
    """member -> LOINC -> [(epoch seconds, value, unit)] taken in [since, until) while the
    member's clinic-care consent was in force (migration 0061)."""
    rows = conn.execute(
        "SELECT l.member_id, l.loinc, floor(date_part('epoch', l.taken_at))::int8, l.value,"
        "       l.unit"
        "  FROM lab_results l"
        " WHERE l.member_id = ANY(%(ids)s) AND l.taken_at >= %(since)s AND l.taken_at < %(until)s"
        "   AND l.taken_at <@ consent_span(l.member_id, 'clinic_care')",
        {"ids": list(ids), "since": since, "until": until},
    ).fetchall()
    out: dict[str, dict[str, list[tuple[int, float, str]]]] = {}
    for member, loinc, ts, value, unit in rows:
        out.setdefault(member, {}).setdefault(loinc, []).append((int(ts), float(value), unit))
    return out


def dispensings(
    conn: Conn, ids: Sequence[str], since: date, until: date
) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """member -> drug class -> [(day since 1970, days' supply)] of fills whose supply reaches
    into [since, until) (a fill of up to a year before the window may still cover it)."""
    rows = conn.execute(
        "SELECT member_id, drug_class, dispensed_on - DATE '1970-01-01', days_supply"
        "  FROM dispensings"
        " WHERE member_id = ANY(%(ids)s) AND dispensed_on < %(until)s"
        "   AND dispensed_on + days_supply > %(since)s"
        "   AND dispensed_on::timestamp AT TIME ZONE 'UTC'"
        "       <@ consent_span(member_id, 'clinic_care')",
        {"ids": list(ids), "since": since, "until": until},
    ).fetchall()
    out: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for member, cls, day, supply in rows:
        out.setdefault(member, {}).setdefault(cls, []).append((int(day), int(supply)))
    return out


def cgm_nominal_intervals(
    conn: Conn, ids: Sequence[str], t0: datetime, t1: datetime
) -> dict[str, float]:
    """Each member's CGM nominal sampling interval in seconds (``device_models``, migration
    0060), from the CGMs bound to them at any time in [t0, t1). With several sensors the
    shortest interval wins (the most readings expected: the conservative choice); members
    absent here use ``rules.CGM_NOMINAL_INTERVAL_S``."""
    rows = conn.execute(
        "SELECT b.member_id, min(dm.nominal_interval_s)"
        "  FROM device_bindings b"
        "  JOIN devices d ON d.device_id = b.device_id AND d.device_type = 'cgm'"
        "  JOIN device_models dm ON dm.model = lower(d.model)"
        " WHERE b.member_id = ANY(%(ids)s) AND b.valid_from < %(t1)s"
        "   AND (b.valid_to IS NULL OR b.valid_to > %(t0)s)"
        " GROUP BY b.member_id",
        {"ids": list(ids), "t0": t0, "t1": t1},
    ).fetchall()
    return {r[0]: float(r[1]) for r in rows}


def hospitalisations(conn: Conn, ids: Sequence[str], start: date, end: date) -> dict[str, int]:
    """Admissions that started in [start, end), per member (the claims feed)."""
    rows = conn.execute(
        "SELECT member_id, count(*) FROM hospitalisations"
        " WHERE member_id = ANY(%s) AND admitted_on >= %s AND admitted_on < %s"
        " GROUP BY member_id",
        (list(ids), start, end),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def baselines(
    conn: Conn, ids: Sequence[str], version: str, before: date
) -> dict[str, float | None]:
    """Each member's first scored window (same algorithm version) starting before ``before``."""
    rows = conn.execute(
        "SELECT DISTINCT ON (member_id) member_id, composite FROM scores"
        " WHERE member_id = ANY(%s) AND algorithm_version = %s AND window_start < %s"
        " ORDER BY member_id, window_start, window_end",
        (list(ids), version, before),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


Columns = dict[str, npt.NDArray[Any]]  # one chunk's indicator columns, a value per member


class ScoreOut(NamedTuple):
    """One member's row for ``scores``. A tuple: a frozen dataclass cost ~1.5 µs a member."""

    member_id: str
    composite: float | None
    improvement: float | None
    components: dict[str, Any]
    indicators: dict[str, Any]


def upsert_scores(
    conn: Conn, window_start: date, window_end: date, version: str, rows: Sequence[ScoreOut]
) -> int:
    """Write one row per member; recomputing the same window and version replaces it.

    One statement over arrays (not one per member), so a chunk costs one round trip.
    """
    if not rows:
        return 0
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version,"
        " composite, improvement, components, indicators)"
        " SELECT u.m, %s, %s, %s, u.c, u.i, u.comp::jsonb, u.ind::jsonb"
        " FROM unnest(%b::text[], %b::float8[], %b::float8[], %b::text[], %b::text[])"
        "   AS u(m, c, i, comp, ind)"
        " ON CONFLICT (member_id, window_start, window_end, algorithm_version) DO UPDATE"
        " SET computed_at = now(), composite = EXCLUDED.composite,"
        " improvement = EXCLUDED.improvement, components = EXCLUDED.components,"
        " indicators = EXCLUDED.indicators",
        (
            window_start,
            window_end,
            version,
            [r.member_id for r in rows],
            [r.composite for r in rows],
            [r.improvement for r in rows],
            [json.dumps(r.components) for r in rows],
            [json.dumps(r.indicators, allow_nan=False) for r in rows],
        ),
    )
    return len(rows)


@dataclass(frozen=True)
class AlertOut:
    member_id: str
    kind: str
    severity: str
    observed_at: datetime
    detail: dict[str, Any]


def insert_alerts(conn: Conn, alerts: Sequence[AlertOut]) -> int:
    """Insert new alerts; returns how many were new (rescoring never duplicates one)."""
    if not alerts:
        return 0
    cur = conn.execute(
        "INSERT INTO alerts (member_id, kind, severity, observed_at, detail)"
        " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamptz[],"
        "   %b::text[]::jsonb[])"
        " ON CONFLICT (member_id, kind, observed_at) DO NOTHING RETURNING alert_id",
        (
            [a.member_id for a in alerts],
            [a.kind for a in alerts],
            [a.severity for a in alerts],
            [a.observed_at for a in alerts],
            [json.dumps(a.detail) for a in alerts],
        ),
    )
    return len(cur.fetchall())


# --- reads other packages use ------------------------------------------------------------
# Pricing and the API's audiences read scores only through these functions, never through
# SQL of their own or scoring's SQL strings: the scores table has one home.


def latest_score(
    conn: Conn, member_id: str, *, ended_by: date | None = None
) -> dict[str, Any] | None:
    """The member's newest score row (latest window end, then latest computation), or None;
    with ``ended_by``, the newest whose window ended on or before that day (the score that
    stood then: the visit report's comparison)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT window_start, window_end, algorithm_version, computed_at, composite,"
            " improvement, components, indicators FROM scores WHERE member_id = %s"
            " AND (%s::date IS NULL OR window_end <= %s::date)"
            " ORDER BY window_end DESC, computed_at DESC LIMIT 1",
            (member_id, ended_by, ended_by),
        ).fetchone()


class LatestScores(NamedTuple):
    """What a quote reads from scoring: per member, the newest computation of each score
    window overlapping a period (in window order), and the risk model in force."""

    by_member: dict[str, list[dict[str, Any]]]
    model_version: str | None


# The model version rides on the score rows (a one-row LEFT JOIN, so it comes back even for
# members without scores): a quote already sends this statement, and a statement fewer is
# ~45 us less CPU per quote (docs/api.md). Per window only the newest computation counts.
_LATEST_SCORES = (
    f"SELECT v.model_version, s.* FROM (SELECT ({CURRENT_VERSION_SQL}) AS model_version) v"  # noqa: S608 (constants)
    " LEFT JOIN (SELECT DISTINCT ON (member_id, window_start, window_end) member_id,"
    " window_start, window_end, algorithm_version, composite, improvement, indicators"
    " FROM scores WHERE member_id = ANY(%(m)s::text[]) AND window_end > %(s)s"
    " AND window_start < %(e)s"
    " ORDER BY member_id, window_start, window_end, computed_at DESC, algorithm_version) s"
    " ON true ORDER BY s.member_id, s.window_start, s.window_end"
)
# One member (a single quote): plain equality, so the prepared statement's generic plan is
# reused instead of re-planning an ANY() match on every execution (docs/api.md).
_LATEST_SCORES_FOR_ONE = _LATEST_SCORES.replace(
    "member_id = ANY(%(m)s::text[])", "member_id = %(one)s"
)


def send_latest_scores(
    conn: Conn, member_ids: Sequence[str], start: date, end: date
) -> Pending[LatestScores]:
    """Score windows overlapping [start, end) and the model in force, sent now, read later
    (pricing pipelines it with its own reads: one wait for all of them)."""
    cur = conn.cursor(row_factory=dict_row)
    set_json_loads(orjson.loads, cur)  # the indicators documents: a batch reads millions
    if len(member_ids) == 1:
        cur.execute(_LATEST_SCORES_FOR_ONE, {"one": member_ids[0], "s": start, "e": end})
    else:
        cur.execute(_LATEST_SCORES, {"m": text_array(member_ids), "s": start, "e": end})
    return Pending(cur, _latest_scores)


def _latest_scores(cur: psycopg.Cursor[Any]) -> LatestScores:
    by_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
    model: str | None = None
    for row in cur.fetchall():
        model = row.pop("model_version")
        if row["member_id"] is not None:  # the one row of a read that matched no score
            by_member[row["member_id"]].append(row)
    return LatestScores(by_member, model)
