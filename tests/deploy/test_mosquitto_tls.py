"""The shipped Mosquitto config really enforces TLS, authentication and the per-device ACL.

Renders deploy/mosquitto/mosquitto.conf with temporary paths and a free loopback port,
starts a private mosquitto child process (never the shared broker on 1883), and checks with
paho over TLS what a device and the ingest user can do.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

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


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    d = tmp_path_factory.mktemp("mosq")
    _make_certs(d)
    passwd = d / "passwd"
    passwd.touch()
    for user, pw in (("d1", "pw-d1"), ("d2", "pw-d2"), ("wellrate-ingest", "pw-ingest")):
        _run("mosquitto_passwd", "-b", str(passwd), user, pw, cwd=d)
    port = _free_port()
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    for old, new in (
        ("/mosquitto/config/passwd", str(passwd)),
        ("/mosquitto/config/acl", str(DEPLOY / "mosquitto" / "acl")),
        ("/mosquitto/certs/", f"{d}/"),
        ("/mosquitto/data/", f"{d}/"),
        ("listener 8883", f"listener {port} 127.0.0.1"),
    ):
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


def _client(port: int, ca: Path, user: str | None, pw: str | None) -> tuple[mqtt.Client, int]:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:10]}")
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
    ingest, rc = _client(port, ca, "wellrate-ingest", "pw-ingest")
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
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:10]}")
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
