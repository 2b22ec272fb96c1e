"""``wellrate provision-device`` against a real Mosquitto: own topic yes, another's no.

The broker is a private one (authenticated, the shipped ``deploy/mosquitto/acl``), so the
shared anonymous broker is untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from api.devices import repository as repo
from api.devices.provision import ProvisionError, check_acl, provision, set_broker_password
from tests import factories
from tests.faults.services import PrivateMosquitto

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None,
    reason="needs mosquitto and mosquitto_passwd on PATH",
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    acl = tmp_path / "acl"
    shutil.copy(ROOT / "deploy" / "mosquitto" / "acl", acl)
    return tmp_path / "passwd", acl


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
    env.update(
        WELLRATE_ENVIRONMENT="test", WELLRATE_DATABASE_URL=db_url, WELLRATE_LOG_LEVEL="DEBUG"
    )
    return subprocess.run(
        [sys.executable, "-m", "wellrate.cli", "provision-device", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Client:
    """A connected MQTT 5 client that records CONNACK, PUBACK reason codes and messages."""

    def __init__(self, port: int, username: str | None, password: str | None) -> None:
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"wr-prov-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self.c.username_pw_set(username, password)
        self.connack: Any = None
        self.connected = threading.Event()
        self.pubacks: dict[int, Any] = {}
        self.acked = threading.Condition()
        self.messages: list[str] = []
        self.subscribed = threading.Event()
        self.c.on_connect = self._on_connect
        self.c.on_publish = self._on_publish
        self.c.on_message = lambda _c, _u, m: self.messages.append(m.topic)
        self.c.on_subscribe = lambda *_a: self.subscribed.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert self.connected.wait(5), "no CONNACK"

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connack = rc
        self.connected.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        with self.acked:
            self.pubacks[mid] = rc
            self.acked.notify_all()

    def publish(self, topic: str) -> Any:
        info = self.c.publish(topic, b'{"t":"2026-01-01T08:00:00+08:00","sys":120,"dia":80}', 1)
        with self.acked:
            assert self.acked.wait_for(lambda: info.mid in self.pubacks, 5), "no PUBACK"
            return self.pubacks[info.mid]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()
        sock = self.c.socket()  # a refused client's socket outlives disconnect()
        if sock is not None:
            sock.close()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for c in made:
        c.close()


def test_provisioned_device_publishes_to_its_own_topic_only(
    db_url: str,
    conn: psycopg.Connection[Any],
    files: tuple[Path, Path],
    tmp_path: Path,
    clients: list[Client],
) -> None:
    passwd, acl = files
    factories.add_member(conn, "m1")
    since = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    res = _cli(
        db_url,
        *("--device-id", "cuff-a", "--type", "bp_cuff", "--member", "m1", "--from", since),
        *("--passwd-file", str(passwd), "--acl-file", str(acl)),
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    password = out["mqtt_password"]
    assert out["mqtt_username"] == "cuff-a" and len(password) >= 32
    assert res.stdout.count(password) == 1 and password not in res.stderr  # shown once, not logged
    assert password not in passwd.read_text()  # only its salted hash is stored
    assert repo.get_device(conn, "cuff-a") is not None
    binding = repo.open_binding(conn, "cuff-a")
    assert binding is not None and binding["member_id"] == "m1"

    with psycopg.connect(db_url) as c2, c2.transaction():  # a second device, in-process
        other = provision(
            c2, "cuff-b", "bp_cuff", passwd_file=passwd, acl_file=acl, topic_prefix="wearables"
        )
    assert other.password != password
    ingest_password = uuid.uuid4().hex
    set_broker_password(passwd, "wellrate-ingest-1", ingest_password)

    broker = PrivateMosquitto(tmp_path / "mqtt", passwd_file=passwd, acl_file=acl)
    try:
        reader = Client(broker.port, "wellrate-ingest-1", ingest_password)
        clients.append(reader)
        reader.c.subscribe("wearables/#", qos=1)
        assert reader.subscribed.wait(5)
        device = Client(broker.port, "cuff-a", password)
        clients.append(device)
        assert not device.connack.is_failure
        own = device.publish("wearables/cuff-a/bp")
        forged = device.publish("wearables/cuff-b/bp")
        assert not own.is_failure
        assert forged.is_failure and "authori" in str(forged).lower()  # 0x87 Not authorized
        assert device.publish("wearables/cuff-b/bp").is_failure
        # The reader sees the device's own reading; the forged one never reached the topic.
        wait = threading.Event()
        wait.wait(0.5)
        assert reader.messages == ["wearables/cuff-a/bp"]

        wrong = Client(broker.port, "cuff-a", other.password)
        clients.append(wrong)
        assert wrong.connack.is_failure
        anonymous = Client(broker.port, None, None)
        clients.append(anonymous)
        assert anonymous.connack.is_failure
    finally:
        broker.close()


def test_provisioning_again_rotates_the_password(
    db_url: str, files: tuple[Path, Path], tmp_path: Path, clients: list[Client]
) -> None:
    passwd, acl = files
    with psycopg.connect(db_url) as c, c.transaction():
        first = provision(
            c, "trk-9", "activity_tracker", passwd_file=passwd, acl_file=acl,
            topic_prefix="wearables",
        )  # fmt: skip
    with psycopg.connect(db_url) as c, c.transaction():
        second = provision(
            c, "trk-9", "activity_tracker", passwd_file=passwd, acl_file=acl,
            topic_prefix="wearables", rotate=True,
        )  # fmt: skip
    assert passwd.read_text().count("trk-9:") == 1
    broker = PrivateMosquitto(tmp_path / "mqtt", passwd_file=passwd, acl_file=acl)
    try:
        old = Client(broker.port, "trk-9", first.password)
        new = Client(broker.port, "trk-9", second.password)
        clients.extend([old, new])
        assert old.connack.is_failure and not new.connack.is_failure
    finally:
        broker.close()


def test_refuses_without_the_acl_rule_and_changes_nothing(
    db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    acl = tmp_path / "acl"
    acl.write_text("# devices may write anywhere: unsafe\npattern write wearables/#\n")
    passwd = tmp_path / "passwd"
    res = _cli(
        db_url,
        *("--device-id", "cuff-z", "--type", "bp_cuff"),
        *("--passwd-file", str(passwd), "--acl-file", str(acl)),
    )
    assert res.returncode == 2
    assert "pattern write wearables/%u/#" in res.stderr
    assert repo.get_device(conn, "cuff-z") is None
    assert not passwd.exists()


@pytest.mark.parametrize(
    ("device_id", "member"),
    [("bad:id", None), ("bad/id", None), ("bad+id", None), ("x" * 129, None), ("ok-id", "nobody")],
)
def test_refuses_bad_ids_and_unknown_members_and_rolls_back(
    db_url: str,
    conn: psycopg.Connection[Any],
    files: tuple[Path, Path],
    device_id: str,
    member: str | None,
) -> None:
    passwd, acl = files
    with pytest.raises(ProvisionError), psycopg.connect(db_url) as c, c.transaction():
        provision(
            c, device_id, "cgm", passwd_file=passwd, acl_file=acl, topic_prefix="wearables",
            member_id=member, valid_from=datetime.now(UTC),
        )  # fmt: skip
    assert repo.get_device(conn, device_id) is None
    assert not passwd.exists()


@pytest.mark.parametrize(
    ("acl", "prefix", "ok"),
    [
        ("pattern write wearables/%u/#\n", "wearables", True),
        ("  pattern readwrite wearables/%u/#  \n", "wearables", True),
        ("pattern wearables/%u/#\n", "wearables", True),  # no access word: readwrite
        ("pattern write city-a/%u/#\n", "city-a/", True),
        ("# pattern write wearables/%u/#\n", "wearables", False),  # commented out
        ("pattern read wearables/%u/#\n", "wearables", False),
        ("pattern deny wearables/%u/#\n", "wearables", False),
        ("topic write wearables/%u/#\n", "wearables", False),  # not a pattern: no %u
        ("pattern write wearables/#\n", "wearables", False),  # any device's topic
        ("pattern write wearables/%u/#\n", "other", False),
    ],
)
def test_acl_check(tmp_path: Path, acl: str, prefix: str, ok: bool) -> None:
    path = tmp_path / "acl"
    path.write_text(acl)
    if ok:
        check_acl(path, prefix)
    else:
        with pytest.raises(ProvisionError, match="has no"):
            check_acl(path, prefix)


@pytest.mark.parametrize("device_id", ["wellrate-ingest", "wellrate-ingest-1", "Wellrate-Sim"])
def test_service_identities_are_reserved(
    db_url: str,
    conn: psycopg.Connection[Any],
    files: tuple[Path, Path],
    tmp_path: Path,
    clients: list[Client],
    device_id: str,
) -> None:
    """The attack: provisioning a "device" named after the ingestor replaced its password."""
    passwd, acl = files
    ingest_password = uuid.uuid4().hex
    set_broker_password(passwd, "wellrate-ingest", ingest_password)
    set_broker_password(passwd, "wellrate-ingest-1", ingest_password)
    before = passwd.read_bytes()
    for rotate in ((), ("--rotate",)):
        res = _cli(
            db_url,
            *("--device-id", device_id, "--type", "bp_cuff", *rotate),
            *("--passwd-file", str(passwd), "--acl-file", str(acl)),
        )
        assert res.returncode == 2 and "reserved" in res.stderr, res.stderr
        assert res.stdout == ""
    assert passwd.read_bytes() == before
    assert repo.get_device(conn, device_id) is None
    broker = PrivateMosquitto(tmp_path / "mqtt", passwd_file=passwd, acl_file=acl)
    try:
        ingest = Client(broker.port, "wellrate-ingest", ingest_password)
        clients.append(ingest)
        assert not ingest.connack.is_failure  # the service still logs in with its password
    finally:
        broker.close()


def test_an_existing_id_needs_rotate(
    db_url: str, conn: psycopg.Connection[Any], files: tuple[Path, Path]
) -> None:
    passwd, acl = files
    args = ("--passwd-file", str(passwd), "--acl-file", str(acl))
    first = _cli(db_url, "--device-id", "cgm-7", "--type", "cgm", "--model", "G7", *args)
    assert first.returncode == 0, first.stderr
    before = passwd.read_bytes()
    again = _cli(db_url, "--device-id", "cgm-7", "--type", "cgm", "--not-validated", *args)
    assert again.returncode == 2 and "--rotate" in again.stderr
    assert passwd.read_bytes() == before
    # Rotating under another type is refused; the registration never changes.
    other = _cli(db_url, "--device-id", "cgm-7", "--type", "bp_cuff", "--rotate", *args)
    assert other.returncode == 2 and "registered as cgm" in other.stderr
    rotated = _cli(
        db_url, "--device-id", "cgm-7", "--type", "cgm", "--not-validated", "--rotate", *args
    )
    assert rotated.returncode == 0, rotated.stderr
    assert passwd.read_bytes() != before
    device = repo.get_device(conn, "cgm-7")
    assert device is not None and device["validated"] is True and device["model"] == "G7"
    assert json.loads(rotated.stdout)["mqtt_password"] != json.loads(first.stdout)["mqtt_password"]


def test_rotate_needs_a_registered_device(
    db_url: str, conn: psycopg.Connection[Any], files: tuple[Path, Path]
) -> None:
    passwd, acl = files
    set_broker_password(passwd, "monitor", uuid.uuid4().hex)  # an operator's own login
    before = passwd.read_bytes()
    for device_id, rotate in (("nobody-1", True), ("monitor", True), ("monitor", False)):
        with pytest.raises(ProvisionError), psycopg.connect(db_url) as c, c.transaction():
            provision(
                c, device_id, "cgm", passwd_file=passwd, acl_file=acl, topic_prefix="wearables",
                rotate=rotate,
            )  # fmt: skip
        assert repo.get_device(conn, device_id) is None
    assert passwd.read_bytes() == before
