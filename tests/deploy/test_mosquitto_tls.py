"""The shipped Mosquitto config really enforces TLS, authentication, the per-device ACL and
the tie between a login and its client id.

Renders deploy/mosquitto/mosquitto.conf with temporary paths and a free loopback port,
starts a private mosquitto child process (never the shared broker on 1883), and checks with
paho over TLS what a device and the ingest users can do, with the real ingestor for the
session-takeover attack.
"""

from __future__ import annotations

import getpass
import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.settings import Settings
from ingest.service import Ingestor
from tests import factories
from tests.conftest import make_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BINDING = "use_username_as_clientid true"
# The ingestor replicas' logins (deploy/mosquitto/acl), and two devices.
USERS = {
    "d1": "pw-d1",
    "d2": "pw-d2",
    "wellrate-ingest-1": "pw-ingest-1",
    "wellrate-ingest-2": "pw-ingest-2",
}

pytestmark = pytest.mark.skipif(
    not (
        shutil.which("mosquitto") and shutil.which("mosquitto_passwd") and shutil.which("openssl")
    ),
    reason="needs mosquitto, mosquitto_passwd and openssl",
)


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=20)


def _make_certs(d: Path) -> None:
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=wellrate-test-ca",
        cwd=d,
    )
    _run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
        cwd=d,
    )
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        cwd=d,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_broker(d: Path, *, tie_client_ids: bool = True) -> Iterator[tuple[int, Path]]:
    _make_certs(d)
    passwd = d / "passwd"
    passwd.touch()
    for user, pw in USERS.items():
        _run("mosquitto_passwd", "-b", str(passwd), user, pw, cwd=d)
    port = _free_port()
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    replacements = [
        ("/mosquitto/config/passwd", str(passwd)),
        ("/mosquitto/config/acl", str(DEPLOY / "mosquitto" / "acl")),
        ("/mosquitto/certs/", f"{d}/"),
        ("/mosquitto/data/", f"{d}/"),
        ("listener 8883", f"listener {port} 127.0.0.1"),
    ]
    if not tie_client_ids:  # the config before the fix: client ids free for anyone
        replacements.append((BINDING, ""))
    for old, new in replacements:
        assert old in conf, old
        conf = conf.replace(old, new)
    # Run as the current user: as root mosquitto would drop to "mosquitto", who cannot read tmp.
    (d / "mosquitto.conf").write_text(f"user {getpass.getuser()}\n{conf}")
    log = (d / "mosquitto.log").open("w")
    proc = subprocess.Popen(["mosquitto", "-c", str(d / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((d / "mosquitto.log").read_text()) from None
                time.sleep(0.05)
        yield port, d / "ca.crt"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    yield from _start_broker(tmp_path_factory.mktemp("mosq"))


@pytest.fixture
def untied_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The shipped config without ``use_username_as_clientid``: what the attack met."""
    yield from _start_broker(tmp_path, tie_client_ids=False)


def _client(port: int, ca: Path, user: str | None, pw: str | None) -> tuple[mqtt.Client, int]:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:10]}")
    c.tls_set(ca_certs=str(ca))
    if user is not None:
        c.username_pw_set(user, pw)
    result: dict[str, Any] = {}
    done = threading.Event()

    def on_connect(_c: Any, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        result["rc"] = rc.value if hasattr(rc, "value") else int(rc)
        done.set()

    c.on_connect = on_connect
    c.connect("localhost", port, keepalive=10)
    c.loop_start()
    assert done.wait(5), "no CONNACK"
    return c, int(result["rc"])


def test_device_publishes_only_to_its_own_topics(broker: tuple[int, Path]) -> None:
    port, ca = broker
    got: list[str] = []
    subscribed = threading.Event()
    ingest, rc = _client(port, ca, "wellrate-ingest-1", USERS["wellrate-ingest-1"])
    assert rc == 0
    ingest.on_message = lambda _c, _u, m: got.append(m.topic)
    ingest.on_subscribe = lambda *_a: subscribed.set()
    ingest.subscribe("$share/ingest/wearables/+/+", qos=1)
    assert subscribed.wait(5)
    device, rc = _client(port, ca, "d1", "pw-d1")
    assert rc == 0
    device.publish("wearables/d2/bp", b"{}", qos=1).wait_for_publish(5)
    device.publish("wearables/d1/bp", b"{}", qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 5
    while "wearables/d1/bp" not in got and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # let a wrongly allowed message arrive too
    for c in (device, ingest):
        c.loop_stop()
        c.disconnect()
    assert got == ["wearables/d1/bp"]


def test_anonymous_and_wrong_password_refused(broker: tuple[int, Path]) -> None:
    port, ca = broker
    for user, pw in ((None, None), ("d1", "wrong")):
        c, rc = _client(port, ca, user, pw)
        c.loop_stop()
        c.disconnect()
        assert rc != 0


def test_plain_tcp_to_tls_port_fails(broker: tuple[int, Path]) -> None:
    port, _ca = broker
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:10]}")
    connected = threading.Event()
    c.on_connect = lambda *_a: connected.set()
    try:
        c.connect("127.0.0.1", port, keepalive=5)
        c.loop_start()
        assert not connected.wait(2)
    except (OSError, ssl.SSLError):
        pass
    finally:
        c.loop_stop()
        c.disconnect()


# --- session takeover: a device connecting with the ingestor's client id ------------------


def _ingestor(
    db_url: str, port: int, ca: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> tuple[Ingestor, Settings]:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the ingestor trusts the system store
    login = overrides.pop("login", "wellrate-ingest-1")
    settings = make_settings(
        db_url,
        mqtt_url=f"mqtts://{login}:{USERS[login]}@localhost:{port}",
        mqtt_client_id=login,
        mqtt_topic_prefix="wearables",
        mqtt_shared_group="ingest",
        ingest_flush_ms=30,
        mqtt_session_expiry_s=120,
        **overrides,
    )
    ing = Ingestor(settings)
    ing.start()
    assert ing.wait_ready(10), "ingestor did not subscribe"
    return ing, settings


class _Intruder:
    """Logs in as device d1 and keeps connecting with the ingestor's client id, asking to
    resume its persistent session, counting what it is handed."""

    def __init__(self, port: int, ca: Path, client_id: str, *, v5: bool = True) -> None:
        self.port, self.ca, self.client_id, self.v5 = port, ca, client_id, v5
        self.login = ("d1", USERS["d1"])
        self.received: list[str] = []
        self.connacks: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            c = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
                clean_session=None if self.v5 else False,
            )
            c.tls_set(ca_certs=str(self.ca))
            c.username_pw_set(*self.login)
            c.on_message = lambda _c, _u, m: self.received.append(m.topic)
            c.on_connect = lambda _c, _u, _f, rc, _p: self.connacks.append(int(rc.value))
            kwargs: dict[str, Any] = {}
            if self.v5:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho untyped
                props.SessionExpiryInterval = 120
                kwargs = {"clean_start": False, "properties": props}
            c.connect("localhost", self.port, keepalive=10, **kwargs)
            c.loop_start()
            self.stop.wait(1.2)
            c.disconnect()
            c.loop_stop()

    def __enter__(self) -> _Intruder:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def _arrange(conn: psycopg.Connection[Any]) -> None:
    factories.add_member(conn, "m1")
    for dev in ("d1", "d2"):
        factories.add_device(conn, dev)
        factories.bind(conn, dev, "m1", datetime.now(UTC) - timedelta(days=3))


def _send_readings(port: int, ca: Path, n: int, every_s: float) -> None:
    """Device d2 sends ``n`` readings, one every ``every_s``, each acknowledged (QoS 1)."""
    dev, rc = _client(port, ca, "d2", USERS["d2"])
    assert rc == 0
    start = datetime.now(UTC) - timedelta(hours=1)
    try:
        for i in range(n):
            t = (start + timedelta(minutes=i)).isoformat()
            body = json.dumps({"t": t, "sys": 120 + i, "dia": 80}).encode()
            dev.publish("wearables/d2/bp", body, qos=1).wait_for_publish(5)
            time.sleep(every_s)
    finally:
        dev.loop_stop()
        dev.disconnect()


def _stored(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM bp_readings WHERE device_id = 'd2'").fetchone()
    return int(row[0]) if row else 0


def _wait_stored(conn: psycopg.Connection[Any], n: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while _stored(conn) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more may arrive either
    return _stored(conn)


def _sample(ing: Ingestor, name: str) -> float:
    total = 0.0
    for metric in ing.metrics.registry.collect():
        for s in metric.samples:
            if s.name == f"{name}_total":
                total += s.value
    return total


def test_a_device_cannot_take_the_ingestors_session(
    broker: tuple[int, Path],
    db_url: str,
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack: device d1 connects as client "wellrate-ingest-1" over and over while
    device d2 sends 20 readings. Before, the broker handed d1 the ingestor's session and
    half the readings went with it; now the broker makes d1's client id "d1"."""
    port, ca = broker
    _arrange(conn)
    ing, _settings = _ingestor(db_url, port, ca, monkeypatch)
    try:
        with _Intruder(port, ca, "wellrate-ingest-1") as intruder:
            _send_readings(port, ca, 20, every_s=0.15)
        assert _wait_stored(conn, 20) == 20
        assert intruder.connacks and set(intruder.connacks) == {0}  # it did log in, as d1
        assert intruder.received == []
        assert _sample(ing, "wellrate_ingest_broker_disconnects") == 0
        assert _sample(ing, "wellrate_ingest_session_takeovers") == 0
    finally:
        ing.stop(timeout=5)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_taken_over_session_raises_the_alarm(
    untied_broker: tuple[int, Path],
    db_url: str,
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    protocol: str,
) -> None:
    """Without the tie (or with the ingestor's own login stolen) the takeover happens; the
    ingestor must say so: the counter, and one warning naming the client id, no secret."""
    port, ca = untied_broker
    _arrange(conn)
    caplog.set_level(logging.WARNING, logger="ingest.service")
    ing, settings = _ingestor(db_url, port, ca, monkeypatch, mqtt_protocol=protocol)
    try:
        with _Intruder(port, ca, settings.mqtt_client_id, v5=protocol == "5"):
            deadline = time.monotonic() + 20
            while (
                _sample(ing, "wellrate_ingest_session_takeovers") == 0
                and time.monotonic() < deadline
            ):
                time.sleep(0.1)
        assert _sample(ing, "wellrate_ingest_session_takeovers") >= 1
        alarms = [r.getMessage() for r in caplog.records if "taken over" in r.getMessage()]
        assert alarms and all(settings.mqtt_client_id in a for a in alarms)
        assert all(pw not in caplog.text for pw in USERS.values())
    finally:
        ing.stop(timeout=5)
