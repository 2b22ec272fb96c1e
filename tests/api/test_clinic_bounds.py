"""The clinic's reads of readings carry time bounds (chunk exclusion on TimescaleDB, checked
with EXPLAIN in tests/core/test_timescale.py); here, on any server, what the bounds mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from api.clinic import repository as repo
from tests import factories


def _bp(conn: psycopg.Connection[Any], device: str, member: str, t: datetime) -> None:
    conn.execute(
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
        " systolic, diastolic, validated) VALUES (%s, %s, %s, 480, 128, 81, true)",
        (device, t, member),
    )


def _glucose(conn: psycopg.Connection[Any], device: str, member: str, t: datetime) -> None:
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, method) VALUES (%s, %s, %s, 480, 6.1, 'mmol/L', 'smbg')",
        (device, t, member),
    )


def test_last_reading_looks_back_a_scoring_window(conn: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)
    recent = factories.add_member(conn, "b-recent", clinic_id="cb")
    silent = factories.add_member(conn, "b-silent", clinic_id="cb")
    inside = now - timedelta(days=repo.LAST_DATA_DAYS - 1)
    _bp(conn, "cuff-r", recent, inside)
    _bp(conn, "cuff-s", silent, now - timedelta(days=repo.LAST_DATA_DAYS + 1))
    rows = {r["member_id"]: r for r in repo.list_patients(conn, "cb", status="all", after="",
                                                          limit=10)}  # fmt: skip
    assert rows[recent]["last_data_at"] == inside
    assert rows[silent]["last_data_at"] is None  # none in the last 90 days
    # Both are "no data for 7 days", as before the bound.
    no_data = repo.list_patients(conn, "cb", status="no_data_7d", after="", limit=10)
    assert [r["member_id"] for r in no_data] == [recent, silent]


def test_recent_glucose_is_the_newest_of_the_last_two_weeks(
    conn: psycopg.Connection[Any],
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    member = factories.add_member(conn, "b-meter", clinic_id="cb")
    times = [now - timedelta(days=d, hours=1) for d in (0, 3, 13, 15, 40)]
    for t in times:
        _glucose(conn, "meter-b", member, t)
    got = [r["measured_at"] for r in repo.recent_glucose(conn, member, 10)]
    assert got == times[:3]  # newest first, nothing older than RECENT_GLUCOSE_DAYS (14)
    assert [r["measured_at"] for r in repo.recent_glucose(conn, member, 2)] == times[:2]
