"""The TimescaleDB path of the schema (skips, saying why, where the extension cannot be enabled).

Run against a server that preloads the library, e.g.
``WELLRATE_TEST_TIMESCALE_URL=postgresql://postgres@127.0.0.1:5433/postgres`` (docs/timescaledb.md).
The session's TimescaleDB database is shared and not truncated, so every test there uses its
own member and device ids and looks only at its own rows; tests that change settings or
need a known chunk layout make a database of their own. The tests without the marker run
on plain PostgreSQL too (CI): the same daily days, the same job reports.
"""

from __future__ import annotations

import json
import logging
import math
import re
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from api.app import create_app
from api.clinic import repository as clinic_repo
from api.clinic import visit_repository as visit_repo
from api.pricing.repository import inputs as pricing_repo
from core import db as core_db
from core import timescale
from core.settings import Settings
from scoring import repository as scoring_repo
from scoring.integrity import repository as integrity_repo
from tests import factories
from tests.conftest import (
    ADMIN_URL,
    TIMESCALE_ADMIN_URL,
    _create_db,
    _drop_db,
    make_settings,
)

READINGS = dict(timescale.READINGS)
CAGGS = timescale.CAGGS
SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def _plain_daily_sql(timezone: str = "Asia/Shanghai") -> str:
    """The plain path's daily_readings query, read from the newest migration that defines it
    (never copied here), filled in as ``upgrade`` fills it."""
    plain = [
        m.plain for m in core_db.load_migrations() if m.plain and "daily_readings AS" in m.plain
    ]
    values = core_db._template_values(make_settings(None, product_timezone=timezone))
    m = re.search(r"VIEW daily_readings AS(.*?);", plain[-1].format(**values), flags=re.S)
    assert m is not None
    return m.group(1)


def _arrange(conn: psycopg.Connection[Any], t0: datetime) -> str:
    """One member with a BP cuff, a CGM and a tracker, and readings over three days."""
    tag = uuid.uuid4().hex[:8]
    member = factories.add_member(conn, f"ts-{tag}")
    cuff = factories.add_device(conn, f"cuff-{tag}")
    cgm = factories.add_device(conn, f"cgm-{tag}", "cgm")
    band = factories.add_device(conn, f"band-{tag}", "activity_tracker")
    for dev in (cuff, cgm, band):
        factories.bind(conn, dev, member, t0 - timedelta(days=1))
    for i in range(12):
        t = t0 + timedelta(hours=6 * i)
        conn.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, validated) VALUES (%s, %s, %s, 480, %s, %s, true)",
            (cuff, t, member, 120 + 3 * i, 70 + i),
        )
        unit, value = ("mg/dL", 90.0 + 5 * i) if i % 2 else ("mmol/L", 5.0 + 0.3 * i)
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, method) VALUES (%s, %s, %s, 480, %s, %s, 'cgm')",
            (cgm, t, member, value, unit),
        )
        conn.execute(
            "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
            " utc_offset_min, steps, active_minutes) VALUES (%s, %s, 3600, %s, 480, %s, %s)",
            (band, t, member, 500 + 100 * i, i),
        )
    return member


HISTORY_DAYS = 120


def _arrange_history(
    conn: psycopg.Connection[Any], end: datetime, days: int = HISTORY_DAYS, *, consent: bool = True
) -> str:
    """A member with every kind of device and ``days`` days of readings up to ``end``: BP
    twice a day 12 hours apart, CGM every 15 minutes, two fingersticks a day, hourly
    activity. Values vary so every aggregate is checked on more than a constant."""
    tag = uuid.uuid4().hex[:8]
    member = factories.add_member(conn, f"th-{tag}", clinic_id=f"clinic-{tag}", consent=consent)
    devices = {
        "cuff": factories.add_device(conn, f"cuff-{tag}"),
        "cgm": factories.add_device(conn, f"cgm-{tag}", "cgm"),
        "meter": factories.add_device(conn, f"meter-{tag}", "glucometer"),
        "band": factories.add_device(conn, f"band-{tag}", "activity_tracker"),
    }
    start = end - timedelta(days=days)
    for dev in devices.values():
        factories.bind(conn, dev, member, start - timedelta(days=1))
    p = {"m": member, "s": start, "days": days, **devices}
    conn.execute(
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
        " systolic, diastolic, validated)"
        " SELECT %(cuff)s, %(s)s + d * interval '1 day' + h * interval '12 hours', %(m)s, 480,"
        "  118 + (d * 7 + h) %% 23, 72 + (d * 3 + h) %% 11, true"
        " FROM generate_series(0, %(days)s - 1) d, generate_series(0, 1) h",
        p,
    )
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, method)"
        " SELECT %(cgm)s, %(s)s + k * interval '15 minutes', %(m)s, 480,"
        "  round((5.5 + 2.5 * sin(k / 9.0))::numeric, 1)::float8, 'mmol/L', 'cgm'"
        " FROM generate_series(0, %(days)s * 96 - 1) k",
        p,
    )
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, method, meal_context)"
        " SELECT %(meter)s, %(s)s + d * interval '1 day' + interval '30 minutes'"
        "   + h * interval '11 hours', %(m)s, 480, 95 + (d * 5 + h) %% 40, 'mg/dL', 'smbg',"
        "  CASE h WHEN 0 THEN 'fasting' ELSE 'after_meal' END"
        " FROM generate_series(0, %(days)s - 1) d, generate_series(0, 1) h",
        p,
    )
    conn.execute(
        "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
        " utc_offset_min, steps, active_minutes)"
        " SELECT %(band)s, %(s)s + k * interval '1 hour', 3600, %(m)s, 480,"
        "  (k * 37) %% 900, (k * 7) %% 13"
        " FROM generate_series(0, %(days)s * 24 - 1) k",
        p,
    )
    return member


def _daily(conn: psycopg.Connection[Any], source: str, member: str) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        f"SELECT kind, day, n, mean_a, mean_b FROM ({source}) d"
        " WHERE member_id = %s ORDER BY kind, day",
        (member,),
    ).fetchall()
    return [Day(*r) for r in rows]


class Day(tuple[Any, ...]):
    """A daily_readings row that equals another when kind, day and count match and the means
    agree to 1e-9 (the aggregate and the view sum floats in different orders)."""

    def __new__(cls, *row: Any) -> Day:
        return super().__new__(cls, row)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, tuple) or len(other) != len(self):
            return False
        return self[:3] == tuple(other[:3]) and all(
            (a is None and b is None)
            or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9))
            for a, b in zip(self[3:], other[3:], strict=True)
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__


def _materialised(conn: psycopg.Connection[Any]) -> str:
    """The aggregates' materialised rows only (no real-time part), shaped like the view."""
    tables = dict(
        conn.execute(
            "SELECT view_name, format('%I.%I', materialization_hypertable_schema,"
            " materialization_hypertable_name)"
            " FROM timescaledb_information.continuous_aggregates"
        ).fetchall()
    )
    kinds = {"daily_bp": "bp", "daily_glucose": "glucose", "daily_activity": "activity"}
    return " UNION ALL ".join(
        f"SELECT member_id, '{kinds[c]}'::text AS kind, day, n, mean_a, mean_b FROM {tables[c]}"
        for c in CAGGS
    )


def _materialised_before() -> datetime:
    """Buckets before this are materialised by a refresh now: the refresh stops at now - 1 h
    (REFRESH_END_OFFSET) and materialises whole local days only."""
    cut = datetime.now(SHANGHAI) - timedelta(hours=1)
    return cut.replace(hour=0, minute=0, second=0, microsecond=0)


def _refresh(conn: psycopg.Connection[Any], cagg: str) -> None:
    """Refresh up to where the policy stops, waiting out a concurrent policy run."""
    timescale.refresh_full_history(conn, (cagg,))


@pytest.fixture
def tconn(timescale_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(timescale_url, autocommit=True) as c:
        yield c


@pytest.fixture
def own_db(timescale_url: str) -> Iterator[str]:
    """An empty database on the TimescaleDB server (not migrated), dropped afterwards."""
    name, url = _create_db(TIMESCALE_ADMIN_URL, "wellrate_tsdb_own")
    try:
        yield url
    finally:
        _drop_db(TIMESCALE_ADMIN_URL, name)


# --- schema and settings ------------------------------------------------------------------


@pytest.mark.timescale
def test_readings_are_hypertables_with_the_configured_layout(
    tconn: psycopg.Connection[Any],
) -> None:
    hyper = {
        r[0]: r[1]
        for r in tconn.execute(
            "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
        )
    }
    assert {t: True for t in READINGS} == {t: hyper.get(t) for t in READINGS}
    segments = {}
    for table, time_col in READINGS.items():
        rows = tconn.execute(
            "SELECT attname, segmentby_column_index, orderby_column_index"
            " FROM timescaledb_information.compression_settings WHERE hypertable_name = %s",
            (table,),
        ).fetchall()
        segments[table] = [r[0] for r in sorted((r for r in rows if r[1]), key=lambda r: r[1])]
        order = [r[0] for r in sorted((r for r in rows if r[2] is not None), key=lambda r: r[2])]
        assert order[0] == time_col and "device_id" in order
    # Fingersticks in batches of their own (migration 0004): item 5 of the layout.
    assert segments == {
        "bp_readings": ["member_id"],
        "glucose_readings": ["member_id", "method"],
        "activity_readings": ["member_id"],
    }
    dims = {
        r[0]: (r[1], r[2])
        for r in tconn.execute(
            "SELECT hypertable_name, column_name, extract(epoch FROM time_interval) / 86400"
            " FROM timescaledb_information.dimensions"
        )
    }
    configured = timescale.chunk_days(make_settings(None))
    assert {t: dims[t] for t in READINGS} == {t: (READINGS[t], configured[t]) for t in READINGS}


@pytest.mark.timescale
def test_policies_have_the_configured_intervals(tconn: psycopg.Connection[Any]) -> None:
    s = make_settings(None)
    for table in READINGS:
        jobs = {
            r[0]: r[1]
            for r in tconn.execute(
                "SELECT proc_name, config FROM timescaledb_information.jobs"
                " WHERE hypertable_name = %s",
                (table,),
            )
        }
        assert jobs["policy_compression"]["compress_after"] == f"{s.compress_after_days} days"
        assert jobs["policy_retention"]["drop_after"] == f"{s.retention_days} days"
    refresh = dict(
        tconn.execute(
            "SELECT hypertable_name, config->>'start_offset' FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
        ).fetchall()
    )
    # As far back as ingest accepts a late reading (ingest_max_age_days 400), plus a day.
    assert refresh == {c: f"{s.ingest_max_age_days + 1} days" for c in CAGGS}


@pytest.mark.timescale
def test_chunk_intervals_and_refresh_window_follow_the_settings(own_db: str) -> None:
    first = core_db.upgrade(own_db, make_settings(own_db))
    assert first["timescale"] is True
    changed = make_settings(own_db, bp_chunk_days=3, glucose_chunk_days=2, ingest_max_age_days=60)
    result = core_db.upgrade(own_db, changed)
    assert result["applied"] == []
    assert set(result["changed"]) == {
        "bp_readings chunks 3 days",
        "glucose_readings chunks 2 days",
        *(f"{c} refresh policy over 61 days" for c in CAGGS),
    }
    with psycopg.connect(own_db, autocommit=True) as c:
        member = factories.add_member(c, "chunky")
        factories.add_device(c, "chunky-cuff")
        t = datetime(2026, 1, 10, 12, tzinfo=UTC)
        c.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, validated) VALUES ('chunky-cuff', %s, %s, 480, 120, 80, true)",
            (t, member),
        )
        span = c.execute(
            "SELECT range_end - range_start FROM timescaledb_information.chunks"
            " WHERE hypertable_name = 'bp_readings'"
        ).fetchall()
        assert span == [(timedelta(days=3),)]
        offsets = c.execute(
            "SELECT DISTINCT config->>'start_offset' FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
        ).fetchall()
        assert offsets == [("61 days",)]
    assert core_db.upgrade(own_db, changed)["changed"] == []


# --- daily_readings: the whole history, local days, late data ----------------------------


@pytest.mark.timescale
def test_daily_readings_equals_the_plain_query(tconn: psycopg.Connection[Any]) -> None:
    t0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=5)
    member = _arrange(tconn, t0)
    for cagg in CAGGS:
        _refresh(tconn, cagg)
    expected = _daily(tconn, _plain_daily_sql(), member)
    assert {r[0] for r in expected} == {"bp", "glucose", "activity"}
    assert _daily(tconn, "SELECT * FROM daily_readings", member) == expected
    assert _daily(tconn, _materialised(tconn), member) == expected


@pytest.mark.timescale
def test_days_are_calendar_days_in_the_product_zone(tconn: psycopg.Connection[Any]) -> None:
    """23:30 and 00:30 Beijing time are two days; a UTC day would have put them in one."""
    member = factories.add_member(tconn, f"tz-{uuid.uuid4().hex[:8]}")
    cuff = factories.add_device(tconn, f"{member}-cuff")
    day = (datetime.now(SHANGHAI) - timedelta(days=10)).date()
    late = datetime(day.year, day.month, day.day, 23, 30, tzinfo=SHANGHAI)
    for t, sys_ in ((late, 130), (late + timedelta(hours=1), 140)):
        tconn.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, validated) VALUES (%s, %s, %s, 480, %s, 80, true)",
            (cuff, t, member, sys_),
        )
    _refresh(tconn, "daily_bp")
    midnight = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    want = [("bp", midnight, 1, 130.0, 80.0), ("bp", midnight + timedelta(days=1), 1, 140.0, 80.0)]
    tconn.execute("SET TimeZone = 'America/New_York'")  # the session's zone plays no part
    assert _daily(tconn, "SELECT * FROM daily_readings", member) == want
    assert _daily(tconn, _materialised(tconn), member) == want
    assert _daily(tconn, _plain_daily_sql(), member) == want
    assert timescale.daily_timezone(tconn) == "Asia/Shanghai"


@pytest.mark.timescale
def test_aggregates_hold_the_whole_history_and_late_readings(
    own_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database migrated before 0003 (aggregates created empty, refreshed over 30 days)
    holding 120 days: `db upgrade` rebuilds the aggregates over all of it, and the refresh
    policy (run by `wellrate db maintain`) takes in readings that arrive 40 and 200 days late.
    """
    before_0003 = [m for m in core_db.load_migrations() if m.version < "0003"]
    with monkeypatch.context() as m:
        m.setattr(core_db, "load_migrations", lambda: before_0003)
        core_db.upgrade(own_db, make_settings(own_db))
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(own_db, autocommit=True) as c:
        # No consent record yet (migration 0052 is still to run): the upgrade records the
        # clinic-care consent the member had implicitly, from its first device binding.
        member = _arrange_history(c, end, consent=False)
    result = core_db.upgrade(own_db, make_settings(own_db))
    assert "0003_daily_local_days (timescale)" in result["applied"]
    assert f"{', '.join(CAGGS)} refreshed over their whole history" in result["changed"]
    plain = _plain_daily_sql()
    with psycopg.connect(own_db, autocommit=True) as c:
        expected = _daily(c, plain, member)
        assert len([r for r in expected if r[0] == "glucose"]) >= HISTORY_DAYS
        assert _daily(c, "SELECT * FROM daily_readings", member) == expected
        # Materialised, not merely computed at query time: everything but today's bucket.
        cut = _materialised_before()
        assert _daily(c, _materialised(c), member) == [r for r in expected if r[1] < cut]
        # The clinic's 90-day view sees 90 days of glucose (30 before this change).
        since = end - timedelta(days=90)
        trend = clinic_repo.daily_trends(c, member, since)
        assert len([r for r in trend if r["kind"] == "glucose"]) >= 90
        late = {40: end - timedelta(days=40, minutes=7), 200: end - timedelta(days=200)}
        for days_late, t in late.items():
            c.execute(
                "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
                " systolic, diastolic, validated) VALUES (%s, %s, %s, 480, 201, 90, true)",
                (f"late-{days_late}", t, member),
            )
        bp_days = {r[1]: r[2] for r in expected if r[0] == "bp"}
    report = timescale.maintain(own_db)
    assert report["skipped"] is None
    assert {(r["proc_name"], r["target"]) for r in report["runs"]} >= {
        ("policy_refresh_continuous_aggregate", c) for c in CAGGS
    }
    assert all(r["ok"] for r in report["runs"]), report
    with psycopg.connect(own_db, autocommit=True) as c:
        expected = _daily(c, plain, member)
        assert _daily(c, "SELECT * FROM daily_readings", member) == expected
        cut = _materialised_before()
        assert _daily(c, _materialised(c), member) == [r for r in expected if r[1] < cut]
    after = {r[1]: r[2] for r in expected if r[0] == "bp"}
    day40, day200 = (
        t.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
        for t in late.values()
    )
    assert after[day40] == bp_days[day40] + 1  # in the history: one reading more
    assert day200 not in bp_days and after[day200] == 1  # before it: a day of its own


@pytest.mark.timescale
def test_plain_schema_is_converted_in_place(
    timescale_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Base migrations on plain PostgreSQL, extension enabled later, then `upgrade` again."""
    name, url = _create_db(TIMESCALE_ADMIN_URL, "wellrate_tsdb_inplace")
    try:
        with monkeypatch.context() as m:  # the server preloads it; pretend it is absent
            m.setattr(core_db, "_probe_timescale", lambda _url: False)
            first = core_db.upgrade(url, make_settings(url))
        assert first["timescale"] is False
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        with psycopg.connect(url, autocommit=True) as c:
            member = _arrange_history(c, end, days=60)
            before = _daily(c, "SELECT * FROM daily_readings", member)
        second = core_db.upgrade(url, make_settings(url))
        assert second["timescale"] is True and "0001_core (timescale)" in second["applied"]
        with psycopg.connect(url, autocommit=True) as c:
            hyper = {
                r[0]
                for r in c.execute(
                    "SELECT hypertable_name FROM timescaledb_information.hypertables"
                )
            }
            assert set(READINGS) <= hyper
            flags = c.execute(
                "SELECT version, timescale FROM schema_migrations"
                " WHERE version IN ('0001', '0003', '0004') ORDER BY version"
            ).fetchall()
            assert flags == [("0001", True), ("0003", True), ("0004", True)]
            assert _daily(c, "SELECT * FROM daily_readings", member) == before
            cut = _materialised_before()
            assert _daily(c, _materialised(c), member) == [r for r in before if r[1] < cut]
            deps = c.execute(
                "SELECT count(DISTINCT t.relname) FROM pg_rewrite r"
                " JOIN pg_depend d ON d.objid = r.oid JOIN pg_class v ON v.oid = r.ev_class"
                " JOIN pg_class t ON t.oid = d.refobjid"
                " WHERE v.relname = 'daily_readings' AND t.relname = ANY(%s)",
                (list(CAGGS),),
            ).fetchone()
            assert deps is not None and deps[0] == len(CAGGS)
            assert c.execute("SELECT to_regclass('bp_readings_time_brin')").fetchone() == (None,)
        again = core_db.upgrade(url, make_settings(url))
        assert again["applied"] == [] and again["changed"] == []
    finally:
        _drop_db(TIMESCALE_ADMIN_URL, name)


# --- compressed chunks --------------------------------------------------------------------


def _chunk_of(conn: psycopg.Connection[Any], table: str, t: datetime) -> str:
    row = conn.execute(
        "SELECT format('%%I.%%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks"
        " WHERE hypertable_name = %s AND range_start <= %s AND range_end > %s",
        (table, t, t),
    ).fetchone()
    assert row is not None
    return str(row[0])


def _partial(conn: psycopg.Connection[Any], chunk: str) -> bool:
    """TimescaleDB's "partially compressed" flag (chunk status bit 8): rows outside the
    columnar batches, which the compression policy recompresses."""
    row = conn.execute(
        "SELECT status & 8 <> 0 FROM _timescaledb_catalog.chunk"
        " WHERE format('%%I.%%I', schema_name, table_name) = %s",
        (chunk,),
    ).fetchone()
    return bool(row and row[0])


@pytest.mark.timescale
def test_on_conflict_do_nothing_into_a_compressed_chunk(tconn: psycopg.Connection[Any]) -> None:
    t0 = datetime.now(UTC) - timedelta(days=60)
    member = _arrange(tconn, t0)
    cuff = f"cuff-{member.removeprefix('ts-')}"
    chunk = _chunk_of(tconn, "bp_readings", t0)
    tconn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (chunk,))
    assert not _partial(tconn, chunk)
    insert = (
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
        " systolic, diastolic, validated) VALUES (%s, %s, %s, 480, 199, 95, true)"
        " ON CONFLICT DO NOTHING"
    )
    with tconn.cursor() as cur:
        cur.execute(insert, (cuff, t0, member))  # the first reading again
        assert cur.rowcount == 0
    # A duplicate stores nothing, yet the batch it was checked against was decompressed:
    # replaying old readings flags every compressed chunk it touches (docs/timescaledb.md).
    assert _partial(tconn, chunk)
    with tconn.cursor() as cur:
        cur.execute(insert, (cuff, t0 + timedelta(minutes=7), member))
        assert cur.rowcount == 1
    rows = tconn.execute(
        "SELECT count(*), count(*) FILTER (WHERE systolic = 199) FROM bp_readings"
        " WHERE member_id = %s",
        (member,),
    ).fetchone()
    assert rows == (13, 1)
    original = tconn.execute(
        "SELECT systolic FROM bp_readings WHERE device_id = %s AND measured_at = %s", (cuff, t0)
    ).fetchone()
    assert original == (120,)
    compressed = tconn.execute(
        "SELECT is_compressed FROM timescaledb_information.chunks"
        " WHERE format('%%I.%%I', chunk_schema, chunk_name) = %s",
        (chunk,),
    ).fetchone()
    assert compressed == (True,)


# --- every read on a hypertable is bounded in time ----------------------------------------


@pytest.fixture(scope="module")
def day_chunks(timescale_url: str) -> Iterator[tuple[str, str]]:
    """A database with 1-day chunks and 120 days of one member's readings, everything older
    than a week compressed: (url, member)."""
    name, url = _create_db(TIMESCALE_ADMIN_URL, "wellrate_tsdb_days")
    try:
        s = make_settings(url, bp_chunk_days=1, glucose_chunk_days=1, activity_chunk_days=1)
        core_db.upgrade(url, s)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        with psycopg.connect(url, autocommit=True) as c:
            member = _arrange_history(c, end)
            factories.add_member(c, "day-chunks-other", clinic_id=f"clinic-{member[3:]}")
            for table in READINGS:
                c.execute(
                    "SELECT compress_chunk(ch) FROM show_chunks(%s::regclass,"
                    " older_than => interval '7 days') ch",
                    (table,),
                )
            c.execute("ANALYZE")
        yield url, member
    finally:
        _drop_db(TIMESCALE_ADMIN_URL, name)


HYPERTABLE_SQL = re.compile(
    r"\b(bp_readings|glucose_readings|activity_readings|daily_readings|daily_bp|daily_glucose"
    r"|daily_activity)\b"
)
CHUNK = re.compile(r"^(?:compress)?_hyper_(\d+)_\d+_chunk$")


def _recorder(seen: list[tuple[str, Any]]) -> type[psycopg.Cursor[Any]]:
    """A cursor class that keeps every statement it runs, for EXPLAIN afterwards."""

    class Recording(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            seen.append((query if isinstance(query, str) else query.as_string(self), params))
            return super().execute(query, params, **kw)

    return Recording


def _planned_chunks(plan: Any) -> tuple[dict[int, int], dict[int, int]]:
    """hypertable id -> how many of its chunks the plan scans; and hypertable id -> how many
    of its chunks were left out only at executor start (planned first: what a time bound
    should avoid). A startup count is charged to every hypertable under its node (a
    ChunkAppend over a table's chunks and its compressed twin's), erring strict."""
    found: dict[int, set[str]] = {}
    at_startup: dict[int, int] = {}

    def walk(node: Any) -> set[int]:
        """The hypertables whose chunks appear at or under ``node``."""
        seen: set[int] = set()
        if isinstance(node, dict):
            m = CHUNK.match(str(node.get("Relation Name", "")))
            if m:
                found.setdefault(int(m.group(1)), set()).add(node["Relation Name"])
                seen.add(int(m.group(1)))
            for v in node.values():
                seen |= walk(v)
            excluded = int(node.get("Chunks excluded during startup", 0))
            for hyper in seen if excluded else ():  # a table and its compressed twin
                at_startup[hyper] = at_startup.get(hyper, 0) + excluded
        elif isinstance(node, list):
            for v in node:
                seen |= walk(v)
        return seen

    walk(plan)
    return {k: len(v) for k, v in found.items()}, at_startup


# Modules that read readings tables or daily_readings. The test below calls their reads; a
# new module that reads them fails test_every_reading_module_is_covered until added there.
READING_MODULES = {
    "api/clinic/repository.py",
    "api/clinic/visit_repository.py",
    "api/pricing/repository/inputs.py",
    "scoring/repository.py",
    "scoring/integrity/repository.py",
}
_READ_SQL = re.compile(
    r"(?:FROM|JOIN)\s+(?:(?:bp|glucose|activity)_readings|daily_readings|daily_bp"
    r"|daily_glucose|daily_activity)\b|table=\"(?:bp|glucose|activity)_readings\""
)


def test_every_reading_module_is_covered() -> None:
    found = {
        p.relative_to(ROOT).as_posix()
        for pkg in ("core", "ingest", "scoring", "api")
        for p in (ROOT / pkg).rglob("*.py")
        if _READ_SQL.search(p.read_text(encoding="utf-8"))
    }
    assert found == READING_MODULES


def _all_reads(conn: psycopg.Connection[Any], member: str, clinic: str) -> None:
    """Every read of READING_MODULES that touches readings, with realistic arguments."""
    now = datetime.now(UTC)
    clinic_repo.list_patients(conn, clinic, status="all", after="", limit=50)
    clinic_repo.patient(conn, member)
    clinic_repo.worklist(
        conn, clinic, status="no_data_7d", sort="last_reading", descending=False, search="",
        offset=0, limit=20,
    )  # fmt: skip
    clinic_repo.follow_up(conn, clinic, 20)
    visit_repo.last_visit(conn, member, now.date(), "Asia/Shanghai")
    clinic_repo.daily_trends(conn, member, now - timedelta(days=30))
    clinic_repo.recent_glucose(conn, member, 96)
    clinic_repo.readings(conn, member, now - timedelta(days=30), now)
    clinic_repo.bp_readings(conn, member, now - timedelta(days=90))
    for method in ("cgm", "smbg"):
        clinic_repo.glucose_series(conn, member, method, now - timedelta(days=30), now)
    end = now.date()
    start = end - timedelta(days=90)
    scoring_repo.glucose_counts(conn, start, end)
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=14)
    t1 = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(hours=14)
    d0, d1 = (start - date(1970, 1, 1)).days, (end - date(1970, 1, 1)).days
    scoring_repo.load_bp(conn, [member], t0, t1, d0, d1)
    scoring_repo.load_glucose(conn, [member], t0, t1, d0, d1, d1 - 14)
    scoring_repo.load_activity(conn, [member], t0, t1, d0, d1)
    integrity_repo.activity(conn, now - timedelta(days=28), now)
    integrity_repo.bp_by_device(conn, now - timedelta(days=28), now)
    for ids in ([member], [member, "day-chunks-other"]):  # one member, and a batch
        pricing_repo.send_inputs(conn, ids, start, end, "demo-city", end.year)()


@pytest.mark.timescale
def test_every_hypertable_read_excludes_chunks(day_chunks: tuple[str, str]) -> None:
    """EXPLAIN each read: it plans only the chunks its time bound can reach. The longest
    bound is 90 days (+ the 14-hour margin scoring adds), so of 120+ daily chunks at least
    the oldest 25 must be left out, compressed ones included, and by the planner: a bound
    TimescaleDB can only evaluate at executor start still costs planning every chunk, so
    chunks excluded at startup count as planned."""
    url, member = day_chunks
    seen: list[tuple[str, Any]] = []
    with psycopg.connect(url, cursor_factory=_recorder(seen)) as conn:
        clinic = f"clinic-{member[3:]}"
        _all_reads(conn, member, clinic)
        conn.rollback()
        totals = dict(
            conn.execute(
                "SELECT hypertable_id, count(*) FROM _timescaledb_catalog.chunk"
                " GROUP BY hypertable_id"
            ).fetchall()
        )
        raw: set[int] = set()  # the readings hypertables and their compressed twins
        for r in conn.execute(
            "SELECT id, compressed_hypertable_id FROM _timescaledb_catalog.hypertable"
            " WHERE table_name = ANY(%s)",
            (list(READINGS),),
        ):
            raw |= {r[0], r[1]}
        reads = [(q, p) for q, p in seen if HYPERTABLE_SQL.search(q)]
        assert len(reads) >= 20
        for query, params in reads:
            row = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()
            assert row is not None
            planned, at_startup = _planned_chunks(row[0])
            # Chunks left out at executor start were planned first, so they count against
            # the bound. A few may be: the clinic-care consent span (a per-member value)
            # trims chunks beyond the time bound, on top of it, never instead of it.
            for hyper, n in planned.items():
                if hyper in raw:
                    late = at_startup.get(hyper, 0)
                    assert n + late <= totals[hyper] - 25, (n, late, query)
                else:  # an aggregate's materialised chunks (10x the raw interval)
                    assert n < totals[hyper] or totals[hyper] == 1, (n, query)
        conn.rollback()


@pytest.mark.timescale
def test_fingerstick_read_decompresses_no_cgm_row(day_chunks: tuple[str, str]) -> None:
    """The SMBG read on compressed chunks opens only the fingerstick batches: with the
    member-only segments it decompressed the day's 96 CGM rows in every chunk (item 5)."""
    url, member = day_chunks
    seen: list[tuple[str, Any]] = []
    end = datetime.now(UTC).date()
    start = end - timedelta(days=90)
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=14)
    t1 = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(hours=14)
    d0, d1 = (start - date(1970, 1, 1)).days, (end - date(1970, 1, 1)).days
    with psycopg.connect(url, cursor_factory=_recorder(seen)) as conn:
        out = scoring_repo.load_glucose(conn, [member], t0, t1, d0, d1, d1 - 14)
        assert int((~out["cgm"]).sum()) >= 2 * 88  # two fingersticks a day
        smbg = next((q, p) for q, p in seen if "'smbg'" in q)
        row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + smbg[0], smbg[1]).fetchone()
        assert row is not None
        conn.rollback()
    scans: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("Custom Plan Provider") in {"ColumnarScan", "DecompressChunk"}:
                scans.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(row[0])
    assert len(scans) >= 70  # the compressed chunks of the window
    decompressed = sum(
        (s["Actual Rows"] + s.get("Rows Removed by Filter", 0)) * s["Actual Loops"] for s in scans
    )
    assert decompressed <= 2 * len(scans) + 2, decompressed


# --- jobs: maintain, status, readiness ----------------------------------------------------


def _ready(settings: Settings) -> Any:
    """The API's readiness report (the test client as tests/api/conftest.py imports it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Using `httpx` with `starlette.testclient`", category=Warning
        )
        from fastapi.testclient import TestClient
    with TestClient(create_app(settings)) as client:
        return client.get("/ready").json()


def _wait_for_scheduler(url: str, seconds: float = 20) -> None:
    """Give the background scheduler time to run each new job once (it starts them right
    after they are created); a server without a scheduler just takes the whole wait."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(url, autocommit=True) as c:
        while time.monotonic() < deadline:
            pending = c.execute(
                "SELECT count(*) FROM timescaledb_information.job_stats"
                " WHERE hypertable_schema = 'public' AND coalesce(total_runs, 0) = 0"
            ).fetchone()
            if pending == (0,):
                return
            time.sleep(0.5)


@pytest.mark.timescale
def test_maintain_runs_every_policy_and_the_reports_say_so(own_db: str) -> None:
    core_db.upgrade(own_db, make_settings(own_db))
    _wait_for_scheduler(own_db)
    report = timescale.maintain(own_db)
    assert report["timescale"] is True and report["skipped"] is None
    kinds = {(r["proc_name"], r["target"]) for r in report["runs"]}
    assert kinds == (
        {("policy_compression", t) for t in READINGS}
        | {("policy_retention", t) for t in READINGS}
        | {("policy_refresh_continuous_aggregate", c) for c in CAGGS}
    )
    assert all(r["ok"] for r in report["runs"]), report
    order = [r["proc_name"] for r in report["runs"]]
    assert order == sorted(order, key=lambda p: timescale._PROC_ORDER[p])

    def scheduler_failed(c: psycopg.Connection[Any]) -> set[int]:
        return {
            j["job_id"]
            for j in timescale.job_state(c)
            if j["scheduler"]["last_run_status"] == "Failed"
        }

    # The scheduler keeps running jobs meanwhile (on PostgreSQL 15.20 each run fails, on
    # another server it may not): every report must lie between a state read before it and
    # one read after it.
    with psycopg.connect(own_db, autocommit=True) as c:
        state = {j["job_id"]: j for j in timescale.job_state(c)}
        assert {r["job_id"] for r in report["runs"]} == set(state)
        assert all(j["maintain"]["last_ok"] and j["covered"] for j in state.values())
        before = scheduler_failed(c)
        failing = timescale.failing_jobs(c)
        status = timescale.status(c, make_settings(own_db))
        body = _ready(make_settings(own_db))
        after = scheduler_failed(c)
    for reported in (
        {f["job_id"] for f in failing},
        set(status["scheduler_failing"]),
        {j["job_id"] for j in body.get("timescale_jobs_failing", [])},
    ):
        assert before <= reported <= after
    assert all(f["covered"] and f["maintained_at"] for f in failing)
    assert status["uncovered"] == [] and status["daily_timezone"] == "Asia/Shanghai"
    assert body["status"] == "ready"


@pytest.mark.timescale
def test_job_report_before_the_maintenance_table_exists(
    own_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API replica newer than the schema (0005 not applied yet) still reports jobs."""
    before_0005 = [m for m in core_db.load_migrations() if m.version < "0005"]
    with monkeypatch.context() as m:
        m.setattr(core_db, "load_migrations", lambda: before_0005)
        core_db.upgrade(own_db, make_settings(own_db))
    with psycopg.connect(own_db, autocommit=True) as c:
        state = timescale.job_state(c)
        assert len(state) == 9 and all(j["maintain"]["last_success_at"] is None for j in state)
        assert all(not f["covered"] for f in timescale.failing_jobs(c))
    assert _ready(make_settings(own_db))["status"] == "ready"


@pytest.mark.timescale
def test_db_cli_upgrade_maintain_and_status(own_db: str) -> None:
    env = {"WELLRATE_DATABASE_URL": own_db, "PATH": "/usr/bin:/bin"}
    for action in ("upgrade", "maintain", "status"):
        res = subprocess.run(
            [sys.executable, "-m", "wellrate.cli", "db", action],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert res.returncode == 0, res.stdout + res.stderr
        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert out["timescale"] is True
        if action == "maintain":
            assert out["runs"] and all(r["ok"] for r in out["runs"])


def test_jobs_on_plain_postgresql(db_url: str) -> None:
    """Plain PostgreSQL has no policy jobs: maintain skips, nothing fails, /ready says so."""
    with psycopg.connect(db_url) as c:
        if timescale.enabled(c):
            pytest.skip("the test database has TimescaleDB (WELLRATE_TEST_DATABASE_URL)")
    assert timescale.maintain(db_url) == {
        "timescale": False,
        "skipped": "not TimescaleDB",
        "runs": [],
    }
    with psycopg.connect(db_url, autocommit=True) as c:
        assert timescale.failing_jobs(c) == []
        status = timescale.status(c, make_settings(db_url))
    assert status == {"timescale": False, "daily_timezone": "Asia/Shanghai"}
    assert _ready(make_settings(db_url)) == {"status": "ready"}


# --- plain PostgreSQL: the same days ------------------------------------------------------


def test_plain_daily_readings_counts_local_days(conn: psycopg.Connection[Any]) -> None:
    """The plain view buckets by the product's zone, whatever the session's zone, and its
    numbers are the readings' own (checked against a computation in Python)."""
    if timescale.enabled(conn):
        pytest.skip(
            "the test database has TimescaleDB (WELLRATE_TEST_DATABASE_URL): its"
            " daily_readings is the aggregate, checked by the TimescaleDB tests"
        )
    # BP at 20:00 and 08:00 UTC: 04:00 and 16:00 in Beijing, one local day, two UTC days.
    end = datetime(2026, 3, 1, 20, tzinfo=UTC)
    member = _arrange_history(conn, end, days=5)
    by_day: dict[datetime, list[int]] = {}
    for t, sys_ in conn.execute(
        "SELECT measured_at, systolic FROM bp_readings WHERE member_id = %s", (member,)
    ).fetchall():
        local = t.astimezone(SHANGHAI)
        key = datetime(local.year, local.month, local.day, tzinfo=SHANGHAI)
        by_day.setdefault(key, []).append(sys_)
    want = [(d, len(v), round(sum(v) / len(v), 6)) for d, v in sorted(by_day.items())]
    for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
        conn.execute("SELECT set_config('TimeZone', %s, false)", (zone,))
        got = [(r[1], r[2], r[3]) for r in _daily(conn, "SELECT * FROM daily_readings", member)
               if r[0] == "bp"]  # fmt: skip
        assert got == want, zone
    assert [n for _, n, _ in want] == [2] * 5
    assert timescale.daily_timezone(conn) == "Asia/Shanghai"


def test_timezone_setting_is_checked() -> None:
    from pydantic import ValidationError

    assert make_settings(None, product_timezone="Asia/Urumqi").product_timezone == "Asia/Urumqi"
    for bad in ("Mars/Olympus", "Asia/Shanghai'; DROP TABLE members; --", ""):
        with pytest.raises(ValidationError):
            make_settings(None, product_timezone=bad)


def test_upgrade_warns_when_the_zone_setting_changes(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.db"):
        core_db.upgrade(db_url, make_settings(db_url, product_timezone="Asia/Urumqi"))
    assert any("Asia/Urumqi" in r.getMessage() for r in caplog.records)


def test_main_server_without_preload_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    """Extension files present but library not preloaded: plain PostgreSQL, a warning, and
    the connection survives (TimescaleDB answers CREATE EXTENSION there with FATAL)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as c:
        avail = c.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        preload = c.execute("SHOW shared_preload_libraries").fetchone()
    if not avail:
        pytest.skip(f"timescaledb is not installed on {ADMIN_URL}")
    if preload and "timescaledb" in str(preload[0]):
        pytest.skip(f"{ADMIN_URL} preloads timescaledb")
    name, url = _create_db(ADMIN_URL, "wellrate_nopreload")
    try:
        with psycopg.connect(url, autocommit=True) as c:
            with caplog.at_level(logging.WARNING, logger="core.db"):
                assert core_db.timescale_available(c) is False
            assert c.execute("SELECT 1").fetchone() == (1,)
            assert not c.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
        assert any("shared_preload_libraries" in r.getMessage() for r in caplog.records)
        assert core_db.upgrade(url, make_settings(url))["timescale"] is False
    finally:
        _drop_db(ADMIN_URL, name)
