"""Nothing acknowledged is lost: a database outage and a SIGKILL between receive and commit.

Both rely on the broker's persistent session: unacknowledged QoS 1 messages are redelivered
when the same client id reconnects with clean start off. Tests stay well under Mosquitto's
1000 queued messages per offline session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from core.settings import Settings
from ingest.service import Ingestor
from tests.ingest.conftest import Publisher, count, forget_session, wait_for
from tests.ingest.tcpproxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]


def readings(n: int, start: datetime) -> list[dict[str, Any]]:
    return [
        {"t": (start + timedelta(minutes=i)).isoformat(), "sys": 110 + i % 50, "dia": 70}
        for i in range(n)
    ]


def test_database_outage_neither_acks_nor_loses(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    start_ingestor: Callable[[Settings], Ingestor],
    conn: psycopg.Connection[Any],
) -> None:
    url = urlsplit(ingest_settings.database_url or "")
    proxy = TcpProxy((url.hostname or "127.0.0.1", url.port or 5432))
    via_proxy = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}"))
    s = ingest_settings.model_copy(update={"database_url": via_proxy, "ingest_retry_max_s": 0.3})
    try:
        first = start_ingestor(s)
        start = datetime.now(UTC) - timedelta(days=5)
        publisher.send(world["cuff"], "bp", readings(1, start - timedelta(hours=1))[0])
        wait_for(lambda: count(conn, "bp_readings") == 1)

        proxy.cut()
        batch = readings(120, start)
        publisher.send_many([(world["cuff"], "bp", r) for r in batch])
        wait_for(lambda: first.stats()["received"] == 121)
        errors = first.metrics.registry.get_sample_value
        wait_for(lambda: (errors("wellrate_ingest_db_errors_total") or 0) >= 2)
        assert first.stats()["pending"] == 120  # held, not acknowledged, not dropped
        assert count(conn, "bp_readings") == 1
        first.stop(timeout=0.5)  # gives up: the 120 stay unacknowledged in the session

        proxy.restore()
        second = start_ingestor(s)  # same client id: the broker redelivers
        wait_for(lambda: count(conn, "bp_readings") == 121)
        assert second.wait_idle(5)
        assert second.stats()["received"] == 120
        assert count(conn, "dead_letters") == 0
    finally:
        proxy.close()


def _spawn(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
    env.update({
        "WELLRATE_ENVIRONMENT": "test",
        "WELLRATE_DATABASE_URL": settings.database_url or "",
        "WELLRATE_MQTT_URL": settings.mqtt_url or "",
        "WELLRATE_MQTT_TOPIC_PREFIX": settings.mqtt_topic_prefix,
        "WELLRATE_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "WELLRATE_MQTT_SESSION_EXPIRY_S": "120",
        "WELLRATE_INGEST_FLUSH_MS": "30",
        "WELLRATE_METRICS_PORT": "0",
    })  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "wellrate.cli", "ingest", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )


def _subscribe_session(settings: Settings) -> None:
    """Create the ingestor's persistent session (subscribed) before anything is published,
    so the test needs no readiness signal from the subprocess."""
    from ingest.mqtt import connect_args, make_client, subscription

    client = make_client(settings, manual_ack=False)
    done: list[bool] = []
    client.on_subscribe = lambda *_a: done.append(True)
    client.connect(**connect_args(settings))
    client.loop_start()
    client.subscribe(subscription(settings), qos=1)
    wait_for(lambda: done, timeout=5)
    client.disconnect()
    client.loop_stop()


def test_sigkill_between_receive_and_commit_loses_nothing(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    conn: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    s = ingest_settings
    _subscribe_session(s)
    log = tmp_path / "ingest.log"
    proc = _spawn(s, log)
    try:
        with psycopg.connect(s.database_url or "") as locker:
            locker.execute("LOCK TABLE bp_readings IN ACCESS EXCLUSIVE MODE")
            batch = readings(300, datetime.now(UTC) - timedelta(days=2))
            publisher.send_many([(world["cuff"], "bp", r) for r in batch])
            # The writer is inside its INSERT, waiting for our lock: received, not committed.
            wait_for(lambda: conn.execute(
                "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE NOT l.granted AND a.application_name = 'wellrate-ingest'"
                " AND a.datname = current_database()").fetchone(), timeout=20)  # fmt: skip
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            locker.rollback()
        assert count(conn, "bp_readings") == 0
        proc = _spawn(s, log)
        wait_for(lambda: count(conn, "bp_readings") == 300, timeout=30)
        time.sleep(0.3)  # any straggling redelivery would have landed by now
        assert count(conn, "bp_readings") == 300
        distinct = conn.execute("SELECT count(DISTINCT measured_at) FROM bp_readings").fetchone()
        assert distinct == (300,)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        forget_session(s)


def test_broker_connection_lost_mid_batch_redelivers_without_doubling(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    conn: psycopg.Connection[Any],
) -> None:
    broker = urlsplit(ingest_settings.mqtt_url or "")
    proxy = TcpProxy((broker.hostname or "127.0.0.1", broker.port or 1883))
    s = ingest_settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{proxy.port}"})
    ing = Ingestor(s)
    try:
        ing.start()
        assert ing.wait_ready(10)
        with psycopg.connect(s.database_url or "") as locker:
            locker.execute("LOCK TABLE bp_readings IN ACCESS EXCLUSIVE MODE")
            batch = readings(50, datetime.now(UTC) - timedelta(days=1))
            publisher.send_many([(world["cuff"], "bp", r) for r in batch])
            wait_for(lambda: ing.stats()["received"] == 50)
            proxy.cut()  # the broker connection drops while the batch waits on the database
            wait_for(lambda: not ing.wait_ready(0))
            proxy.restore()
            assert ing.wait_ready(15), "did not reconnect"
            locker.rollback()
        # The first copies commit but are not acknowledged on the new connection (their
        # packet ids belong to the old one); the broker's redelivered copies are absorbed.
        wait_for(lambda: ing.stats()["duplicates"] == 50)
        assert ing.wait_idle(5)
        assert count(conn, "bp_readings") == 50
        assert ing.stats()["received"] == 100
    finally:
        ing.stop(timeout=2)
        proxy.close()
        forget_session(ingest_settings)


def test_cli_migrate_then_graceful_sigterm(
    ingest_settings: Settings, mqtt_broker: str, tmp_path: Path
) -> None:
    from tests.conftest import ADMIN_URL, _create_db, _drop_db

    name, url = _create_db(ADMIN_URL, "wellrate_ingest_cli")
    s = ingest_settings.model_copy(update={"database_url": url})
    log = tmp_path / "ingest.log"
    proc = _spawn(s, log, "--migrate")
    try:
        wait_for(
            lambda: "connected to broker" in log.read_text() or proc.poll() is not None,
            timeout=20,
        )
        assert proc.poll() is None, log.read_text()
        with psycopg.connect(url, autocommit=True) as c:
            assert c.execute("SELECT to_regclass('bp_readings') IS NOT NULL").fetchone() == (True,)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()
        assert "ingestor stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        forget_session(s)
        _drop_db(ADMIN_URL, name)
