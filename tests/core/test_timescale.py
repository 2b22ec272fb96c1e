"""The TimescaleDB path of the schema (skips, saying why, where the extension cannot be enabled).

Run against a server that preloads the library, e.g.
``WELLRATE_TEST_TIMESCALE_URL=postgresql://postgres@127.0.0.1:5433/postgres`` (docs/timescaledb.md).
The session's TimescaleDB database is shared and not truncated, so every test uses its own
member and device ids and looks only at its own rows.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core import db as core_db
from tests import factories
from tests.conftest import (
    ADMIN_URL,
    TIMESCALE_ADMIN_URL,
    _create_db,
    _drop_db,
    make_settings,
)

READINGS = {"bp_readings": "measured_at", "glucose_readings": "measured_at"}
READINGS["activity_readings"] = "start_at"
CAGGS = ("daily_bp", "daily_glucose", "daily_activity")


def _plain_daily_sql() -> str:
    """The plain path's daily_readings query, read from its migration (never copied here)."""
    mig = next(m for m in core_db.load_migrations() if m.version == "0001")
    assert mig.plain is not None
    m = re.search(r"CREATE VIEW daily_readings AS(.*?);", mig.plain, flags=re.S)
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


@pytest.fixture
def tconn(timescale_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(timescale_url, autocommit=True) as c:
        yield c


@pytest.mark.timescale
def test_readings_are_hypertables_segmented_by_member(tconn: psycopg.Connection[Any]) -> None:
    hyper = {
        r[0]: r[1]
        for r in tconn.execute(
            "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
        )
    }
    assert {t: True for t in READINGS} == {t: hyper.get(t) for t in READINGS}
    for table, time_col in READINGS.items():
        rows = tconn.execute(
            "SELECT attname, segmentby_column_index, orderby_column_index"
            " FROM timescaledb_information.compression_settings WHERE hypertable_name = %s",
            (table,),
        ).fetchall()
        segment = [r[0] for r in rows if r[1] is not None]
        order = [r[0] for r in sorted((r for r in rows if r[2] is not None), key=lambda r: r[2])]
        assert segment == ["member_id"]
        assert order[0] == time_col and "device_id" in order
    dims = tconn.execute(
        "SELECT hypertable_name, column_name FROM timescaledb_information.dimensions"
    ).fetchall()
    assert set(READINGS.items()) <= set(dims)


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
    caggs = {
        r[0]
        for r in tconn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates"
        )
    }
    assert set(CAGGS) <= caggs
    refresh = tconn.execute(
        "SELECT config->>'start_offset', config->>'end_offset' FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
    ).fetchall()
    assert refresh == [("30 days", "01:00:00")] * len(CAGGS)


def _daily(conn: psycopg.Connection[Any], source: str, member: str) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        f"SELECT kind, day, n, mean_a, mean_b FROM ({source}) d"
        " WHERE member_id = %s ORDER BY kind, day",
        (member,),
    ).fetchall()
    return [
        (k, d, n, round(a, 6) if a is not None else None, round(b, 6) if b is not None else None)
        for k, d, n, a, b in rows
    ]


def _refresh(conn: psycopg.Connection[Any], cagg: str) -> None:
    """Refresh, waiting out the policy job: its first run starts right after the migration
    and TimescaleDB refuses a second refresh of an overlapping window meanwhile."""
    deadline = time.monotonic() + 15
    while True:
        try:
            conn.execute("CALL refresh_continuous_aggregate(%s, NULL, NULL)", (cagg,))
            return
        except psycopg.errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.timescale
def test_daily_readings_equals_the_plain_query(tconn: psycopg.Connection[Any]) -> None:
    t0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=5)
    member = _arrange(tconn, t0)
    for cagg in CAGGS:
        _refresh(tconn, cagg)
    expected = _daily(tconn, _plain_daily_sql(), member)
    assert {r[0] for r in expected} == {"bp", "glucose", "activity"} and len(expected) == 9
    assert _daily(tconn, "SELECT * FROM daily_readings", member) == expected
    materialised = tconn.execute(
        "SELECT count(*) FROM daily_bp WHERE member_id = %s", (member,)
    ).fetchone()
    assert materialised is not None and materialised[0] == 3


@pytest.mark.timescale
def test_on_conflict_do_nothing_into_a_compressed_chunk(tconn: psycopg.Connection[Any]) -> None:
    t0 = datetime.now(UTC) - timedelta(days=20)
    member = _arrange(tconn, t0)
    cuff = f"cuff-{member.removeprefix('ts-')}"
    chunk = tconn.execute(
        "SELECT format('%%I.%%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'bp_readings' AND range_start <= %s AND range_end > %s",
        (t0, t0),
    ).fetchone()
    assert chunk is not None
    tconn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (chunk[0],))
    insert = (
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
        " systolic, diastolic, validated) VALUES (%s, %s, %s, 480, 199, 95, true)"
        " ON CONFLICT DO NOTHING"
    )
    with tconn.cursor() as cur:
        cur.execute(insert, (cuff, t0, member))  # the first reading again
        assert cur.rowcount == 0
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
        (chunk[0],),
    ).fetchone()
    assert compressed == (True,)


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
        with psycopg.connect(url, autocommit=True) as c:
            t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
            member = _arrange(c, t0)
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
                "SELECT bool_and(timescale) FROM schema_migrations WHERE version = '0001'"
            )
            assert flags.fetchone() == (True,)
            assert _daily(c, "SELECT * FROM daily_readings", member) == before
            deps = c.execute(
                "SELECT count(DISTINCT t.relname) FROM pg_rewrite r"
                " JOIN pg_depend d ON d.objid = r.oid JOIN pg_class v ON v.oid = r.ev_class"
                " JOIN pg_class t ON t.oid = d.refobjid"
                " WHERE v.relname = 'daily_readings' AND t.relname = ANY(%s)",
                (list(CAGGS),),
            ).fetchone()
            assert deps is not None and deps[0] == len(CAGGS)
            assert c.execute("SELECT to_regclass('bp_readings_time_brin')").fetchone() == (None,)
        assert core_db.upgrade(url, make_settings(url))["applied"] == []
    finally:
        _drop_db(TIMESCALE_ADMIN_URL, name)


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
