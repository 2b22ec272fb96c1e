"""Fixtures for the ingest tests: members with bound devices, a publisher, ingestors.

Every test gets its own topic prefix and client ids; each ingestor's persistent session is
deleted from the broker afterwards (connect with clean start and session expiry 0), so the
shared Mosquitto does not accumulate sessions.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.settings import Settings
from ingest.mqtt import connect_args
from ingest.service import Ingestor
from tests import factories

BOUND_FROM = datetime.now(UTC) - timedelta(days=30)


def wait_for(check: Callable[[], Any], timeout: float = 15.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    assert value, f"condition not met within {timeout} s (last value {value!r})"
    return value


def count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def forget_session(settings: Settings) -> None:
    """Delete the broker's persistent session for ``settings.mqtt_client_id``."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=settings.mqtt_client_id, protocol=mqtt.MQTTv5
    )
    args = connect_args(settings)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho untyped
    props.SessionExpiryInterval = 0
    args.update(clean_start=True, properties=props)
    client.connect(**args)
    client.loop_start()
    time.sleep(0.1)
    client.disconnect()
    client.loop_stop()


class Publisher:
    """A QoS 1 publisher that waits for each PUBACK window (mids are 16-bit)."""

    def __init__(self, url_settings: Settings) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"wr-pub-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_inflight_messages_set(200)
        args = connect_args(url_settings)
        self.client.connect(args["host"], args["port"])
        self.client.loop_start()
        self.prefix = url_settings.mqtt_topic_prefix

    def send(self, device_id: str, kind: str, payload: Any) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(f"{self.prefix}/{device_id}/{kind}", body, qos=1)
        info.wait_for_publish(10)

    def send_many(self, items: list[tuple[str, str, Any]]) -> None:
        infos = []
        for device_id, kind, payload in items:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            infos.append(self.client.publish(f"{self.prefix}/{device_id}/{kind}", body, qos=1))
            if len(infos) >= 500:
                infos.pop(0).wait_for_publish(10)
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def ingest_settings(settings: Settings) -> Settings:
    """Fast flushes and a short-lived broker session for tests."""
    return settings.model_copy(update={"ingest_flush_ms": 30, "mqtt_session_expiry_s": 120})


@pytest.fixture
def world(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Members m1, m2; a validated cuff, a cuffless watch, a CGM, a tracker bound to m1."""
    factories.add_member(conn, "m1")
    factories.add_member(conn, "m2")
    devices = {
        "cuff": ("bp-cuff-1", "bp_cuff", True),
        "watch": ("bp-watch-1", "bp_cuffless", False),
        "cgm": ("cgm-1", "cgm", True),
        "tracker": ("trk-1", "activity_tracker", True),
    }
    for device_id, device_type, validated in devices.values():
        factories.add_device(conn, device_id, device_type, validated=validated)
        factories.bind(conn, device_id, "m1", BOUND_FROM)
    factories.add_device(conn, "bp-spare-1", "bp_cuff")  # registered, never bound
    return {k: v[0] for k, v in devices.items()}


@pytest.fixture
def publisher(ingest_settings: Settings, mqtt_broker: str) -> Iterator[Publisher]:
    pub = Publisher(ingest_settings)
    yield pub
    pub.close()


@pytest.fixture
def start_ingestor(mqtt_broker: str) -> Iterator[Callable[[Settings], Ingestor]]:
    """Start ingestors (subscribed before returning); stop them and forget their sessions."""
    started: list[tuple[Ingestor, Settings]] = []

    def _start(s: Settings) -> Ingestor:
        ing = Ingestor(s)
        ing.start()
        assert ing.wait_ready(10), "ingestor did not subscribe"
        started.append((ing, s))
        return ing

    yield _start
    for ing, _ in started:
        ing.stop(timeout=2)
    for s in {s.mqtt_client_id: s for _, s in started}.values():
        forget_session(s)
