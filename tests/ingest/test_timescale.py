"""The same ingest path on TimescaleDB hypertables (skips, saying why, without the extension)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from ingest.service import Ingestor
from tests import factories
from tests.conftest import make_settings
from tests.ingest.conftest import Publisher, count, wait_for

pytestmark = pytest.mark.timescale


def test_publish_to_hypertable(
    timescale_url: str,
    topic_prefix: str,
    start_ingestor: Callable[[Settings], Ingestor],
) -> None:
    s = make_settings(
        timescale_url,
        mqtt_topic_prefix=topic_prefix,
        mqtt_client_id=f"wr-test-{uuid.uuid4().hex[:10]}",
        ingest_flush_ms=30,
        mqtt_session_expiry_s=120,
    )
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE bp_readings, dead_letters, device_bindings, devices, members CASCADE"
        )
        factories.add_member(conn, "ts-m1")
        factories.add_device(conn, "ts-cuff")
        factories.bind(conn, "ts-cuff", "ts-m1", datetime.now(UTC) - timedelta(days=120))
        start_ingestor(s)
        pub = Publisher(s)
        try:
            t0 = datetime.now(UTC) - timedelta(days=100)  # several 28-day chunks back
            items: list[tuple[str, str, Any]] = [
                ("ts-cuff", "bp", {"t": (t0 + timedelta(days=5 * i)).isoformat(),
                                   "sys": 120 + i, "dia": 80})
                for i in range(20)
            ]  # fmt: skip
            pub.send_many(items + items[:5])
        finally:
            pub.close()
        wait_for(lambda: count(conn, "bp_readings") == 20)
        chunks = conn.execute(
            "SELECT count(*) FROM timescaledb_information.chunks"
            " WHERE hypertable_name = 'bp_readings'"
        ).fetchone()
        assert chunks is not None and chunks[0] >= 3
