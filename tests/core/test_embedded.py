"""Embedded services: PostgreSQL in a data dir, mosquitto child, amqtt fallback, owner file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from core import embedded
from core.embedded import EmbeddedError
from core.settings import Settings


@pytest.fixture
def root() -> Iterator[Path]:
    """A data directory others can traverse (the embedded server runs as its own user)."""
    path = Path(tempfile.mkdtemp(prefix="wr-emb-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _roundtrip(url: str, protocol: MQTTProtocolVersion) -> bytes:
    host, port = url.split("//")[1].split(":")
    got: list[bytes] = []
    done = threading.Event()
    subscribed = threading.Event()
    topic = f"wr-test-{uuid.uuid4().hex[:8]}/x"

    def on_message(_c: object, _u: object, m: mqtt.MQTTMessage) -> None:
        got.append(bytes(m.payload))
        done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect(host, int(port))
    sub.loop_start()
    sub.subscribe(topic, qos=1)
    assert subscribed.wait(5)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    pub.connect(host, int(port))
    pub.loop_start()
    pub.publish(topic, b"hello", qos=1).wait_for_publish(5)
    assert done.wait(5)
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return got[0]


def test_embedded_postgres_starts_answers_and_stops(root: Path) -> None:
    with embedded.embedded_postgres(root) as url:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT current_database(), current_setting('server_version_num')")
            name, version = row.fetchone()  # type: ignore[misc]
        assert name == "wellrate" and int(version) >= 180000
    assert not (root / "pg" / "postmaster.pid").exists()  # stopped cleanly
    with embedded.embedded_postgres(root) as url, psycopg.connect(url) as conn:  # reused
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not installed")
def test_mosquitto_child_passes_a_message_and_stops(root: Path) -> None:
    record: dict[str, object] = {"pid": os.getpid()}
    with embedded.mosquitto_broker(root, record) as url:
        assert _roundtrip(url, mqtt.MQTTv5) == b"hello"
        pid = int(str(record["mosquitto_pid"]))
        conf = (root / "mqtt" / "mosquitto.conf").read_text()
        assert "127.0.0.1" in conf and "listener" in conf
    assert not embedded._alive(pid) or "mosquitto" not in embedded._cmdline(pid)


def test_amqtt_fallback_passes_a_message() -> None:
    with embedded.amqtt_broker() as url:
        assert _roundtrip(url, mqtt.MQTTv311) == b"hello"


def test_a_killed_runs_broker_is_stopped_and_a_live_owner_refused(root: Path) -> None:
    conf = embedded.mosquitto_config(root, embedded._free_port())
    stale = subprocess.Popen(["mosquitto", "-c", str(conf)], start_new_session=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (root / embedded.PID_FILE).write_text(json.dumps({"pid": dead.pid, "mosquitto_pid": stale.pid}))
    try:
        with embedded._owner(root) as record:
            # Stopped: SIGTERM, then SIGKILL after 5 s (a bound, not a timing assertion).
            assert stale.wait(30) is not None
            assert record["pid"] == os.getpid()
        assert not (root / embedded.PID_FILE).exists()
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()
    (root / embedded.PID_FILE).write_text(json.dumps({"pid": os.getppid()}))
    with pytest.raises(EmbeddedError, match="another `wellrate demo`"), embedded._owner(root):
        pass


def test_an_exited_process_not_yet_reaped_is_not_alive() -> None:
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 30
        while not embedded._zombie(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert embedded._zombie(child.pid)  # exited; its parent (this test) has not reaped it
        assert not embedded._alive(child.pid)
    finally:
        child.wait()
    assert embedded._alive(os.getpid())


def test_configured_services_start_nothing(root: Path) -> None:
    settings = Settings(
        data_dir=str(root), database_url="postgresql://x@h/db", mqtt_url="mqtt://h:1"
    )
    with embedded.services(settings) as svc:
        assert (svc.database, svc.broker) == ("configured", "configured")
        assert svc.apply(settings).mqtt_url == "mqtt://h:1"
    assert not (root / "pg").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the chmod guard applies only to root")
def test_root_refuses_to_open_a_private_parent(root: Path) -> None:
    private = root / "private"
    private.mkdir(mode=0o700)
    target = private / "data"
    target.mkdir(mode=0o755)
    with pytest.raises(EmbeddedError, match=str(private)), embedded.embedded_postgres(target):
        pass
    assert private.stat().st_mode & 0o777 == 0o700  # untouched
    assert not (target / "pg").exists()
