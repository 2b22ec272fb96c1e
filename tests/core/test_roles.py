"""Least-privilege database roles (migration 0055), each tried for real.

Every role is tried on what it must do and on what it must not. The real ingestor under
``wellrate_ingest`` is tests/ingest/test_roles.py, the API's smoke run under
``wellrate_api`` tests/api/test_least_privilege.py, and the audit log's protection
tests/api/audit/test_chain.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests import factories
from tests.roles import login_as

NOW = datetime.now(UTC)


def _refused(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    with (
        psycopg.connect(url, autocommit=True) as c,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        c.execute(sql, params)


def _allowed(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(sql, params)


def test_api_role_reads_readings_but_never_writes_them(db_url: str) -> None:
    with login_as(db_url, "wellrate_api") as url:
        _allowed(url, "SELECT * FROM bp_readings, dead_letters LIMIT 1")
        _allowed(url, "INSERT INTO clinics (clinic_id, name) VALUES ('c9', 'Nine')")
        _allowed(url, "UPDATE clinics SET name = 'Nine B' WHERE clinic_id = 'c9'")
        for sql in (
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, validated) VALUES ('d', now(), 'm', 0, 120, 80, true)",
            "UPDATE glucose_readings SET value = 1",
            "DELETE FROM activity_readings",
            "DELETE FROM dead_letters",
            "TRUNCATE clinics",
            "DELETE FROM schema_migrations",
            "CREATE TABLE public.x (a int)",
            "ALTER TABLE clinics ADD COLUMN x int",
        ):
            _refused(url, sql)


def test_reporting_role_reads_but_never_credentials_nor_writes(db_url: str) -> None:
    with login_as(db_url, "wellrate_reporting") as url:
        _allowed(url, "SELECT * FROM scores, quotes, members, audit_log, audit_chain LIMIT 1")
        _allowed(url, "SELECT * FROM daily_readings LIMIT 1")
        for sql in (
            "SELECT * FROM api_principals",
            "SELECT * FROM api_sessions",
            "INSERT INTO clinics (clinic_id, name) VALUES ('c9', 'Nine')",
            "UPDATE members SET sex = 'M'",
            "DELETE FROM scores",
        ):
            _refused(url, sql)


@pytest.mark.timescale
def test_roles_on_hypertables_and_compressed_chunks(timescale_url: str) -> None:
    """Grants on a hypertable reach its chunks, compressed ones included."""
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE bp_readings, dead_letters, device_bindings, devices, members CASCADE"
        )
        factories.add_member(conn, "ts-r1")
        factories.add_device(conn, "ts-r-cuff")
        factories.bind(conn, "ts-r-cuff", "ts-r1", NOW - timedelta(days=90))
        old = NOW - timedelta(days=40)
        row = "('ts-r-cuff', %s, 'ts-r1', 480, 120, 80, true)"
        cols = "(device_id, measured_at, member_id, utc_offset_min, systolic, diastolic, validated)"
        conn.execute(f"INSERT INTO bp_readings {cols} VALUES {row}", (old,))
        conn.execute(
            "SELECT compress_chunk(c, if_not_compressed => true)"
            " FROM show_chunks('bp_readings', older_than => now() - interval '30 days') c"
        )
        with login_as(timescale_url, "wellrate_ingest") as url:
            # Late readings into the compressed chunk and into a new one, as ingest does.
            insert = f"INSERT INTO bp_readings {cols} VALUES {row} ON CONFLICT DO NOTHING"
            for t in (old + timedelta(hours=1), old, NOW - timedelta(minutes=5)):
                _allowed(url, insert, (t,))
            _refused(url, "DELETE FROM bp_readings")
        with login_as(timescale_url, "wellrate_reporting") as url:
            _allowed(url, "SELECT * FROM daily_readings, daily_bp LIMIT 1")
            _refused(url, "SELECT * FROM api_principals")
        with login_as(timescale_url, "wellrate_api") as url:
            _allowed(url, "SELECT count(*) FROM bp_readings")
            _refused(url, insert, (NOW,))
        n = conn.execute("SELECT count(*) FROM bp_readings").fetchone()
        assert n is not None and n[0] == 3
        conn.execute("TRUNCATE bp_readings, device_bindings, devices, members CASCADE")


def test_roles_exist_without_login(conn: psycopg.Connection[Any]) -> None:
    """The migration makes groups, never logins: a login needs a password (deploy/postgres)."""
    rows = conn.execute(
        "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles"
        " WHERE rolname IN ('wellrate_api', 'wellrate_ingest', 'wellrate_reporting')"
    ).fetchall()
    assert len(rows) == 3
    assert all(not any(r[2:]) for r in rows)
