"""The ingestor runs as the least-privilege ``wellrate_ingest`` role (migration 0055)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from ingest.service import Ingestor
from tests import factories
from tests.ingest.conftest import Publisher, count, wait_for
from tests.roles import login_as

NOW = datetime.now(UTC)


def _refused(url: str, sql: str) -> None:
    with (
        psycopg.connect(url, autocommit=True) as c,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        c.execute(sql)


def test_the_ingestor_runs_as_the_ingest_role(
    db_url: str,
    conn: psycopg.Connection[Any],
    settings: Settings,
    mqtt_broker: str,
    start_ingestor: Callable[[Settings], Ingestor],
) -> None:
    factories.add_member(conn, "m1")
    factories.add_device(conn, "cuff-1")
    factories.bind(conn, "cuff-1", "m1", NOW - timedelta(days=3))
    with login_as(db_url, "wellrate_ingest") as url:
        s = settings.model_copy(
            update={"database_url": url, "ingest_flush_ms": 30, "mqtt_session_expiry_s": 120}
        )
        ingestor = start_ingestor(s)
        pub = Publisher(s)
        try:
            t = (NOW - timedelta(hours=1)).isoformat()
            pub.send("cuff-1", "bp", {"t": t, "sys": 130, "dia": 85})
            pub.send("cuff-1", "bp", {"t": t, "sys": 130, "dia": 85})  # a resend: absorbed
            pub.send("unknown-9", "bp", {"t": t, "sys": 130, "dia": 85})  # dead letter
            pub.send("cuff-1", "bp", b"{not json")  # dead letter
        finally:
            pub.close()
        wait_for(lambda: count(conn, "bp_readings") == 1 and count(conn, "dead_letters") == 2)
        for sql in (
            "UPDATE bp_readings SET systolic = 90",
            "DELETE FROM bp_readings",
            "DELETE FROM dead_letters",
            "SELECT * FROM members",
            "SELECT * FROM scores",
            "SELECT * FROM audit_log",
            "INSERT INTO devices (device_id, device_type) VALUES ('rogue', 'cgm')",
            "UPDATE device_bindings SET member_id = 'm1'",
            "TRUNCATE bp_readings",
            "CREATE TABLE public.x (a int)",
        ):
            _refused(url, sql)
        ingestor.stop(timeout=5)
    assert count(conn, "bp_readings") == 1
