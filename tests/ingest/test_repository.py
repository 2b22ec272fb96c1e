"""write_readings against real PostgreSQL: the fast path and the redelivery path agree.

A batch without redelivered readings goes in through the savepointed inner-join INSERT; a
batch holding one is rolled back to the savepoint and re-inserted with ON CONFLICT DO
NOTHING. Both must store the same rows, attribute them to the same members and name the
same unattributed readings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from ingest import repository
from ingest.kinds.activity import ActivityReading
from ingest.kinds.bp import BPReading
from ingest.kinds.glucose import GlucoseReading
from tests import factories

T0 = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


def _arrange(conn: psycopg.Connection[Any]) -> None:
    factories.add_member(conn, "m-a")
    factories.add_member(conn, "m-b")
    factories.add_device(conn, "cuff")
    factories.add_device(conn, "cgm", "cgm")
    factories.add_device(conn, "band", "activity_tracker")
    factories.add_device(conn, "spare")  # registered, never bound
    # the cuff changes hands at T0 + 1 day
    factories.bind(conn, "cuff", "m-a", T0 - timedelta(days=1), T0 + timedelta(days=1))
    factories.bind(conn, "cuff", "m-b", T0 + timedelta(days=1))
    factories.bind(conn, "cgm", "m-a", T0 - timedelta(days=1))
    factories.bind(conn, "band", "m-b", T0 - timedelta(days=1))


def _bp(dev: str, at: datetime, sys_: int = 120) -> BPReading:
    return BPReading(dev, at, 480, sys_, 80, 70)


def _write(db_url: str, messages: list[list[Any]]) -> repository.BatchResult:
    with psycopg.connect(db_url, autocommit=True) as writer, writer.transaction():
        return repository.write_readings(writer, messages)


def test_fast_path_attributes_and_reports_orphans(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    _arrange(conn)
    messages: list[list[Any]] = [
        [_bp("cuff", T0), _bp("cuff", T0 + timedelta(days=2))],
        [GlucoseReading("cgm", T0, 480, 6.1, "mmol/L", None, "cgm", None)],
        [ActivityReading("band", T0, 480, 3600, 4000, 20, 5, None)],
        [_bp("spare", T0), _bp("ghost", T0)],
    ]
    result = _write(db_url, messages)
    assert (result.stored, result.duplicates) == (4, 0)
    assert sorted((u.msg, u.index, u.reason) for u in result.unattributed) == [
        (3, 0, "unbound_device"),
        (3, 1, "unknown_device"),
    ]
    owners = conn.execute(
        "SELECT measured_at, member_id, validated FROM bp_readings ORDER BY measured_at"
    ).fetchall()
    assert owners == [(T0, "m-a", True), (T0 + timedelta(days=2), "m-b", True)]
    assert conn.execute("SELECT member_id FROM glucose_readings").fetchall() == [("m-a",)]
    assert conn.execute("SELECT member_id FROM activity_readings").fetchall() == [("m-b",)]


def test_redelivery_takes_the_conflict_path_and_counts_duplicates(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    _arrange(conn)
    first = [_bp("cuff", T0)]
    assert _write(db_url, [first]).stored == 1
    # the same reading again (with a different value: the first stored copy wins), a new
    # one, an unbound one, and a duplicate inside the batch itself
    again = [_bp("cuff", T0, sys_=150), _bp("cuff", T0 + timedelta(hours=1))]
    twice = [_bp("cuff", T0 + timedelta(hours=2)), _bp("cuff", T0 + timedelta(hours=2))]
    result = _write(db_url, [again, [_bp("spare", T0)], twice])
    assert (result.stored, result.duplicates) == (2, 2)
    assert [(u.msg, u.index, u.reason) for u in result.unattributed] == [(1, 0, "unbound_device")]
    rows = conn.execute("SELECT measured_at, systolic FROM bp_readings ORDER BY 1").fetchall()
    assert rows == [
        (T0, 120),
        (T0 + timedelta(hours=1), 120),
        (T0 + timedelta(hours=2), 120),
    ]
