"""A known simulated stream, an ingestor subprocess, and a sampler of its memory and queue.

The stream comes from ``device_sim`` (a seeded cohort, its devices' readings over two past
days, upload batches); its natural keys are computed from the generated items, not from
the ingest parser, so "stored exactly once" is checked against an independent list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from api.devices import repository as devices
from core.settings import Settings
from device_sim.clock import local_midnight
from device_sim.cohort import generate
from device_sim.payloads import OutMessage, batches, member_readings
from device_sim.publisher import Publisher
from ingest.mqtt import connect_args, make_client, subscription
from tests.faults.services import free_port

ROOT = Path(__file__).resolve().parents[2]
Key = tuple[Any, ...]
TABLES = {
    "bp": ("bp_readings", "device_id, measured_at"),
    "glucose": ("glucose_readings", "device_id, measured_at"),
    "activity": ("activity_readings", "device_id, start_at, duration_s"),
}


@dataclass
class Stream:
    messages: list[OutMessage]
    keys: dict[str, set[Key]]
    members: list[Any]
    clinics: list[Any]
    published: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)

    @property
    def readings(self) -> int:
        return sum(len(k) for k in self.keys.values())


def make_stream(prefix: str, *, members: int = 14, days: int = 2, batch: int = 6) -> Stream:
    """Readings of a seeded cohort from ``days + 1`` days ago, as upload batches."""
    start = (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=days + 1)
    people, clinics = generate(members, seed=808, start=start)
    msgs: list[OutMessage] = []
    keys: dict[str, set[Key]] = {k: set() for k in TABLES}
    for m in people:
        for dr in member_readings(m, start, days):
            msgs.extend(batches(dr, prefix, size=batch))
            for item in dr.items:
                t = datetime.fromisoformat(item["t"])
                key = (dr.device.device_id, t, item["dur"]) if dr.kind == "activity" else (
                    dr.device.device_id, t)  # fmt: skip
                keys[dr.kind].add(key)
    # Interleave devices, as many devices uploading at once would.
    msgs.sort(key=lambda m: (m.first_t, m.device_id))
    return Stream(msgs, keys, people, clinics)


def register(url: str, stream: Stream) -> None:
    """Clinics, members, devices and bindings (from a day before the first reading)."""
    first = min(m.first_t for m in stream.messages)
    bound_from = datetime.fromtimestamp(local_midnight(datetime.now(UTC).date()), UTC)
    bound_from = min(bound_from, datetime.fromtimestamp(first, UTC)) - timedelta(days=1)
    with psycopg.connect(url) as conn, conn.transaction():
        for c in stream.clinics:
            devices.upsert_clinic(conn, c.clinic_id, c.name, c.name_zh)
        for m in stream.members:
            devices.upsert_member(
                conn, m.member_id, clinic_id=m.clinic_id, birth_date=m.birth_date, sex=m.sex,
                conditions=list(m.conditions), display_name=m.display_name,
            )  # fmt: skip
            for d in m.devices:
                devices.register_device(
                    conn, d.device_id, d.device_type, model=d.model, validated=d.validated
                )
                devices.bind_device(conn, d.device_id, m.member_id, bound_from)


def publish(settings: Settings, stream: Stream, rate: float) -> threading.Thread:
    """Publish the stream at about ``rate`` messages/s in a thread (QoS 1, device_sim)."""

    def run() -> None:
        try:
            pub = Publisher(settings, window=500).connect()
            began = time.monotonic()
            for i, msg in enumerate(stream.messages):
                delay = began + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pub.publish(msg, timeout=60)
                stream.published = i + 1
            if not pub.flush(60):
                raise RuntimeError(f"{pub.unacked} publishes never acknowledged")
            pub.close()
        except BaseException as exc:
            stream.error.append(exc)
        finally:
            stream.done.set()

    thread = threading.Thread(target=run, name="fault-stream", daemon=True)
    thread.start()
    return thread


def stored_keys(url: str) -> tuple[dict[str, set[Key]], dict[str, int], int]:
    """Natural keys stored per kind, row counts per kind, dead letters."""
    keys: dict[str, set[Key]] = {}
    rows: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        for kind, (table, cols) in TABLES.items():
            got = conn.execute(f"SELECT {cols} FROM {table}").fetchall()
            keys[kind] = {tuple(r) for r in got}
            rows[kind] = len(got)
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    return keys, rows, int(dead[0]) if dead else -1


def stored_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        total = 0
        for table, _ in TABLES.values():
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            total += int(row[0]) if row else 0
        return total


def subscribe_session(settings: Settings) -> None:
    """Create the ingestor's persistent session before anything is published."""
    client = make_client(settings, manual_ack=False)
    done = threading.Event()
    client.on_subscribe = lambda *_a: done.set()
    client.connect(**connect_args(settings))
    client.loop_start()
    client.subscribe(subscription(settings), qos=1)
    assert done.wait(5), "no SUBACK"
    client.disconnect()
    client.loop_stop()


class IngestorProcess:
    """``wellrate ingest`` as a child process, with its metrics endpoint on a free port."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.log = log
        self.metrics_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
        env.update({
            "WELLRATE_ENVIRONMENT": "test",
            "WELLRATE_LOG_FORMAT": "json",
            "WELLRATE_DATABASE_URL": settings.database_url or "",
            "WELLRATE_MQTT_URL": settings.mqtt_url or "",
            "WELLRATE_MQTT_TOPIC_PREFIX": settings.mqtt_topic_prefix,
            "WELLRATE_MQTT_CLIENT_ID": settings.mqtt_client_id,
            "WELLRATE_MQTT_SESSION_EXPIRY_S": "300",
            "WELLRATE_INGEST_FLUSH_MS": "30",
            "WELLRATE_INGEST_QUEUE_MESSAGES": str(settings.ingest_queue_messages),
            "WELLRATE_INGEST_BATCH_ROWS": str(settings.ingest_batch_rows),
            "WELLRATE_INGEST_RETRY_MAX_S": str(settings.ingest_retry_max_s),
            "WELLRATE_INGEST_DB_CONNECT_TIMEOUT_S": "2",
            "WELLRATE_METRICS_PORT": str(self.metrics_port),
        })  # fmt: skip
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wellrate.cli", "ingest"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
            )

    def rss(self) -> int:
        """Resident set size in bytes from /proc (0 once the process is gone)."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def metrics(self) -> dict[str, float]:
        """Sample name -> value (unlabelled samples only); empty while not up."""
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=1) as resp:
                text = resp.read().decode()
        except OSError:
            return {}
        out: dict[str, float] = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                if not s.labels:
                    out[s.name] = s.value
        return out

    def connects(self) -> list[bool]:
        """``session_present`` of each broker connection so far, from the JSON log."""
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{") and '"connected to broker"' in line:
                out.append(bool(json.loads(line).get("session_present")))
        return out

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode)


@dataclass
class Sample:
    t: float
    phase: str
    rss: int
    unacked: float
    received: float


class Sampler:
    """Every 50 ms: the current ingestor's RSS, unacknowledged and received messages."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.phase = "before"
        self.target: IngestorProcess | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            ing = self.target
            if ing is None or ing.proc.poll() is not None:
                continue
            m = ing.metrics()
            rss = ing.rss()
            if m and rss:
                self.samples.append(
                    Sample(
                        time.monotonic(),
                        self.phase,
                        rss,
                        m.get("wellrate_ingest_unacked", 0.0),
                        m.get("wellrate_ingest_messages_received_total", 0.0),
                    )
                )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def during(self, phases: Iterable[str]) -> list[Sample]:
        wanted = set(phases)
        return [s for s in self.samples if s.phase in wanted]


def mib(n: float) -> float:
    return round(n / 2**20, 1)
