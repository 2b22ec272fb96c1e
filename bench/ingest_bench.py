"""Ingest benchmark: one run, the same messages for every contender.

    python -m bench.ingest_bench --messages 20000

(a) the broker's own publish -> subscribe rate (paho-mqtt, QoS 1, one reading per message);
(b) Wellrate end to end, publish -> committed rows, same stream; then p50/p99
    publish -> commit latency with the stream paced at half of (b);
(c) a naive ingestor: one INSERT + commit (+ ack) per message (first --naive-messages);
(d) psycopg COPY of the same readings straight into bp_readings (the store's limit);
(e) Wellrate with batched payloads, 50 readings per message, in readings/s.
Targets: (b) >= 70% of (a) and >= 10x (c); (e) >= 50% of (d). Also the ingestor's peak RSS,
and its RSS and unacknowledged messages while the database is unreachable (bounded memory).

Uses a fresh database on the local server (created and dropped), the local Mosquitto and
unique topics/client ids. Consumers run as separate processes, like the real ingestor.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parents[1]
Message = tuple[str, bytes]


# --- helpers ---------------------------------------------------------------------------------
def _client(client_id: str, *, manual_ack: bool = False, receive_max: int = 0) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                    manual_ack=manual_ack)  # fmt: skip
    c.max_inflight_messages_set(1000)
    c._bench_props = None  # type: ignore[attr-defined]
    if receive_max:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho untyped
        props.ReceiveMaximum = receive_max
        c._bench_props = props  # type: ignore[attr-defined]
    return c


def _connect(c: mqtt.Client, host: str, port: int) -> None:
    c.connect(host, port, keepalive=60, clean_start=True, properties=c._bench_props)  # type: ignore[attr-defined]
    c.loop_start()


def publish(host: str, port: int, n: int, make: Callable[[int], Message],
            rate: float | None = None) -> tuple[float, float]:  # fmt: skip
    """Publish ``make(i)`` for i < n at QoS 1 (optionally paced); returns (start, end) wall time.

    At most 20,000 publishes are unacknowledged at once: paho's message ids are 16-bit."""
    c = _client(f"bench-pub-{uuid.uuid4().hex[:8]}")
    _connect(c, host, port)
    window: deque[mqtt.MQTTMessageInfo] = deque()
    t0 = time.time()
    for i in range(n):
        if rate:
            delay = t0 + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        topic, body = make(i)
        window.append(c.publish(topic, body, qos=1))
        if len(window) >= 20_000:
            window.popleft().wait_for_publish(60)
    for info in window:
        info.wait_for_publish(60)
    t1 = time.time()
    c.disconnect()
    c.loop_stop()
    return t0, t1


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_rows(url: str, n: int, timeout: float) -> float:
    """Poll until bp_readings holds n rows; return the last row's ingested_at (epoch)."""
    deadline = time.time() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.time() < deadline:
            got = conn.execute("SELECT count(*), max(ingested_at) FROM bp_readings").fetchone()
            assert got is not None
            if got[0] >= n:
                return float(got[1].timestamp())
            time.sleep(0.05)
    assert got is not None
    raise TimeoutError(f"only {got[0]} of {n} rows after {timeout} s")


def truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE bp_readings, dead_letters")


def forget_session(host: str, port: int, client_id: str) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho untyped
    props.SessionExpiryInterval = 0
    c.connect(host, port, clean_start=True, properties=props)
    c.loop_start()
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


# --- roles run as subprocesses ---------------------------------------------------------------
def role_subscriber(args: argparse.Namespace) -> int:
    """(a): count messages; print the wall time of the last one."""
    got = 0
    done = time.time()

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        nonlocal got, done
        got += 1
        done = time.time()

    c = _client(f"bench-sub-{uuid.uuid4().hex[:8]}", receive_max=65535)
    c.on_message = on_message
    c.on_subscribe = lambda *_a: print("ready", flush=True)
    _connect(c, args.host, args.port)
    c.subscribe(f"{args.prefix}/+/+", qos=1)
    deadline = time.time() + args.timeout
    while got < args.count and time.time() < deadline:
        time.sleep(0.01)
    print(json.dumps({"received": got, "last": done}), flush=True)
    c.disconnect()
    c.loop_stop()
    return 0


def role_naive(args: argparse.Namespace) -> int:
    """(c): what one writes first: INSERT + commit per message, then ack."""
    conn = psycopg.connect(args.db, autocommit=True)
    sql = (
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
        " diastolic, pulse, validated)"
        " SELECT d.device_id, %s, b.member_id, %s, %s, %s, %s, d.validated FROM devices d"
        " JOIN device_bindings b ON b.device_id = d.device_id AND b.valid_from <= %s"
        " AND (b.valid_to IS NULL OR %s < b.valid_to) WHERE d.device_id = %s"
        " ON CONFLICT DO NOTHING"
    )

    def on_message(client: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
        r = json.loads(m.payload)
        ts = datetime.fromisoformat(r["t"])
        off = int((ts.utcoffset() or timedelta()).total_seconds() // 60)
        device = m.topic.split("/")[-2]
        conn.execute(sql, (ts, off, r["sys"], r["dia"], r.get("pulse"), ts, ts, device))
        client.ack(m.mid, m.qos)

    c = _client(f"bench-naive-{uuid.uuid4().hex[:8]}", manual_ack=True, receive_max=65535)
    c.on_message = on_message
    c.on_subscribe = lambda *_a: print("ready", flush=True)
    _connect(c, args.host, args.port)
    c.subscribe(f"{args.prefix}/+/+", qos=1)
    signal.sigwait({signal.SIGTERM})
    c.disconnect()
    c.loop_stop()
    return 0


def _spawn_role(role: str, extra: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_bench", "--role", role, *extra],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError(f"{role} did not start: {line!r}")
    return proc


class IngestorProcess:
    """``python -m wellrate.cli ingest`` with WELLRATE_* settings; started once it is subscribed."""

    def __init__(self, db: str, mqtt_url: str, prefix: str, **env: str) -> None:
        self.client_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"
        full = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
        full.update({
            "WELLRATE_DATABASE_URL": db, "WELLRATE_MQTT_URL": mqtt_url,
            "WELLRATE_MQTT_TOPIC_PREFIX": prefix, "WELLRATE_MQTT_CLIENT_ID": self.client_id,
            "WELLRATE_MQTT_SESSION_EXPIRY_S": "300", "WELLRATE_METRICS_PORT": "0",
            "WELLRATE_LOG_LEVEL": "INFO",
        })  # fmt: skip
        full.update({f"WELLRATE_{k.upper()}": v for k, v in env.items()})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wellrate.cli", "ingest"], cwd=ROOT, env=full,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stderr is not None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("ingestor exited during start-up")
            if "connected to broker" in line:
                break
        time.sleep(0.3)  # the SUBACK follows the CONNACK
        self.pid = self.proc.pid

    def stop(self, host: str, port: int) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        forget_session(host, port, self.client_id)


# --- the run -----------------------------------------------------------------------------------
def _bp(ts: datetime, i: int) -> dict[str, Any]:
    return {"t": ts.isoformat(), "sys": 105 + i % 60, "dia": 65 + i % 25, "pulse": 60 + i % 30}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--naive-messages", type=int, default=3_000,
                    help="(c) takes the first N of the same stream (it is slow)")  # fmt: skip
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    ap.add_argument("--role", choices=["subscriber", "naive"], help=argparse.SUPPRESS)
    ap.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=1883, help=argparse.SUPPRESS)
    ap.add_argument("--prefix", help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=300, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.role == "subscriber":
        return role_subscriber(args)
    if args.role == "naive":
        return role_naive(args)
    if args.messages > 60_000:
        ap.error("--messages above 60,000 exceeds MQTT 5 Receive Maximum headroom")

    from core import db as core_db
    from core.settings import Settings

    mq = urlsplit(args.mqtt_url)
    host, port = mq.hostname or "127.0.0.1", mq.port or 1883
    name = f"wellrate_ingest_bench_{os.getpid()}"
    with psycopg.connect(args.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(args.admin_url)._replace(path="/" + name))
    try:
        return _run(args, url, host, port, core_db, Settings)
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str, devices: list[str]) -> None:
    since = datetime.now(UTC) - timedelta(days=365)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY members (member_id, birth_date, sex) FROM STDIN") as cp:
            for d in devices:
                cp.write_row((f"m-{d}", "1960-01-01", "F"))
        with cur.copy("COPY devices (device_id, device_type, validated) FROM STDIN") as cp:
            for d in devices:
                cp.write_row((d, "bp_cuff", True))
        with cur.copy("COPY device_bindings (device_id, member_id, valid_from) FROM STDIN") as cp:
            for d in devices:
                cp.write_row((d, f"m-{d}", since))


def _e2e(url: str, host: str, port: int, n_rows: int, n_msgs: int,
         make: Callable[[int], Message]) -> tuple[float, float]:  # fmt: skip
    """(live, drain) readings/s. Live: publish -> last commit, bounded by the publisher too.
    Drain: the same messages delivered while bp_readings is locked, so they wait inside the
    consumer; rate from releasing the lock to the last commit (the consumer's own capacity)."""
    truncate(url)
    t0, _ = publish(host, port, n_msgs, make)
    live = n_rows / (wait_rows(url, n_rows, timeout=300) - t0)
    truncate(url)
    with psycopg.connect(url) as locker:
        locker.execute("LOCK TABLE bp_readings IN ACCESS EXCLUSIVE MODE")
        publish(host, port, n_msgs, make)
        time.sleep(1.0)  # let the broker hand everything to the consumer
        t_release = time.time()
        locker.rollback()
    drain = n_rows / (wait_rows(url, n_rows, timeout=300) - t_release)
    return live, drain


def _run(args: argparse.Namespace, url: str, host: str, port: int, core_db: Any,
         settings_cls: Any) -> int:  # fmt: skip
    n = args.messages
    core_db.upgrade(url, settings_cls(database_url=url, metrics_port=0))
    devices = [f"bench-{i:05d}" for i in range(args.devices)]
    _seed(url, devices)
    prefix = f"wr-bench-{uuid.uuid4().hex[:8]}"
    # a minute apart, ending a day ago: inside the ingestor's age horizon and clock-skew bound
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=n, days=1)
    # The stream: readings come in runs of 50 per device (so (e) can send each run as one
    # message), a minute apart; (a)-(d) send the very same readings one per message.
    stream = [(devices[(i // 50) % len(devices)], base + timedelta(minutes=i), i)
              for i in range(n)]  # fmt: skip
    singles: list[Message] = [
        (f"{prefix}/{d}/bp", json.dumps(_bp(ts, i)).encode()) for d, ts, i in stream
    ]
    by_device: dict[str, list[dict[str, Any]]] = {}
    for d, ts, i in stream:
        by_device.setdefault(d, []).append(_bp(ts, i))
    batched: list[Message] = [
        (f"{prefix}/{d}/bp", json.dumps({"readings": rs[k : k + 50]}).encode())
        for d, rs in by_device.items() for k in range(0, len(rs), 50)
    ]  # fmt: skip
    res: dict[str, float] = {}
    print(f"{n} readings, {len(devices)} devices, {len(batched)} batched messages", flush=True)

    # (a) the broker alone
    sub = _spawn_role("subscriber", ["--prefix", prefix, "--count", str(n), "--host", host,
                                     "--port", str(port)])  # fmt: skip
    t0, _ = publish(host, port, n, singles.__getitem__)
    out, _ = sub.communicate(timeout=300)
    got = json.loads(out.strip().splitlines()[-1])
    res["a"] = got["received"] / (got["last"] - t0)
    print(f"(a) broker publish->subscribe: {res['a']:,.0f} msg/s ({got['received']} received)")

    # (b) Wellrate, one reading per message; (e) batched; both through one ingestor process
    queue = str(min(65_535, max(20_000, n)))
    ing = IngestorProcess(url, args.mqtt_url, prefix, ingest_queue_messages=queue)
    try:
        res["b"], res["b_drain"] = _e2e(url, host, port, n, n, singles.__getitem__)
        print(f"(b) Wellrate end to end: {res['b']:,.0f} readings/s live,"
              f" {res['b_drain']:,.0f} draining", flush=True)  # fmt: skip
        res["e"], res["e_drain"] = _e2e(url, host, port, n, len(batched), batched.__getitem__)
        print(f"(e) Wellrate, 50/message: {res['e']:,.0f} readings/s live,"
              f" {res['e_drain']:,.0f} draining", flush=True)  # fmt: skip
        # latency at half of (b): measured_at = publish instant, ingested_at = row write
        rate = res["b"] / 2
        m = int(min(n, rate * 8))
        truncate(url)

        def live(i: int) -> Message:
            d = devices[i % len(devices)]
            return f"{prefix}/{d}/bp", json.dumps(_bp(datetime.now(UTC), i)).encode()

        publish(host, port, m, live, rate=rate)
        wait_rows(url, m, timeout=120)
        with psycopg.connect(url) as conn:
            lat = sorted(
                float(r[0]) for r in conn.execute(
                    "SELECT extract(epoch FROM ingested_at - measured_at) FROM bp_readings")
            )  # fmt: skip
        res["p50"] = statistics.median(lat) * 1000
        res["p99"] = lat[int(0.99 * (len(lat) - 1))] * 1000
        print(f"    latency at {rate:,.0f} msg/s ({m} msgs): p50 {res['p50']:.0f} ms,"
              f" p99 {res['p99']:.0f} ms", flush=True)  # fmt: skip
        res["peak_rss"] = rss_kb(ing.pid, "VmHWM") / 1024
    finally:
        ing.stop(host, port)

    # (c) naive: INSERT + commit per message, first --naive-messages of the same stream
    k = min(n, args.naive_messages)
    naive = _spawn_role("naive", ["--prefix", prefix, "--db", url, "--host", host,
                                  "--port", str(port)])  # fmt: skip
    try:
        res["c"], res["c_drain"] = _e2e(url, host, port, k, k, singles.__getitem__)
    finally:
        naive.send_signal(signal.SIGTERM)
        naive.wait(10)
    print(f"(c) naive insert+commit per message: {res['c']:,.0f} readings/s live,"
          f" {res['c_drain']:,.0f} draining ({k} messages)")  # fmt: skip

    # (d) binary COPY straight into the table: the store's limit
    truncate(url)
    rows = [(d, ts, f"m-{d}", 0, 105 + i % 60, 65 + i % 25, 60 + i % 30, True)
            for d, ts, i in stream]  # fmt: skip
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        t = time.perf_counter()
        with (
            conn.transaction(),
            cur.copy(
                "COPY bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
                " diastolic, pulse, validated) FROM STDIN (FORMAT BINARY)"
            ) as cp,
        ):
            cp.set_types(["text", "timestamptz", "text", "int2", "int2", "int2", "int2", "bool"])
            for row in rows:
                cp.write_row(row)
        res["d"] = n / (time.perf_counter() - t)
    print(f"(d) binary COPY into bp_readings: {res['d']:,.0f} readings/s", flush=True)

    bounded = _memory_while_db_down(args, host, port, prefix)
    _report(res, bounded, n, k)
    return 0


def _memory_while_db_down(args: argparse.Namespace, host: str, port: int,
                          prefix: str) -> list[tuple[int, int, float]]:  # fmt: skip
    """Publish 3 waves of <queue> messages at an ingestor whose database is unreachable."""
    cap = 2_000
    metrics = free_port()
    dead_db = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    dprefix = prefix + "-down"
    ing = IngestorProcess(dead_db, args.mqtt_url, dprefix, ingest_queue_messages=str(cap),
                          metrics_port=str(metrics))  # fmt: skip
    samples = [(0, 0, rss_kb(ing.pid) / 1024)]
    try:
        sent = 0
        for _wave in range(3):

            def make(i: int, base: int = sent) -> Message:
                ts = datetime.now(UTC) - timedelta(minutes=base + i)
                return f"{dprefix}/bench-00000/bp", json.dumps(_bp(ts, i)).encode()

            publish(host, port, 900 if _wave else cap, make)
            sent += 900 if _wave else cap
            time.sleep(1.5)
            text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read()
            depth = [ln for ln in text.decode().splitlines()
                     if ln.startswith("wellrate_ingest_unacked ")]  # fmt: skip
            q = int(float(depth[0].split()[1])) if depth else -1
            samples.append((sent, q, rss_kb(ing.pid) / 1024))
    finally:
        ing.proc.kill()
        ing.proc.wait(5)
        forget_session(host, port, ing.client_id)
    return samples


def _report(res: dict[str, float], bounded: list[tuple[int, int, float]], n: int, k: int) -> None:
    def ok(x: bool) -> str:
        return "PASS" if x else "MISS"

    print("\n=== ingest benchmark (this machine, one run) ===")
    print(f"{'':4}{'contender':46}{'live':>10}{'draining':>10}")
    for key, label in (
        ("a", "broker publish->subscribe (paho, QoS 1), msg/s"),
        ("b", "Wellrate end to end, 1 reading/message"),
        ("c", f"naive INSERT+commit per message ({k} msgs)"),
        ("d", "binary COPY straight into bp_readings"),
        ("e", "Wellrate end to end, 50 readings/message"),
    ):
        drain = f"{res[key + '_drain']:>10,.0f}" if key + "_drain" in res else f"{'':>10}"
        print(f"({key}) {label:46}{res[key]:>10,.0f}{drain}")
    print(f"    latency at half of (b) live: p50 {res['p50']:.0f} ms, p99 {res['p99']:.0f} ms")
    b, bd = res["b"], res["b_drain"]
    print(f"(b)/(a) = {b / res['a']:.2f} live, {bd / res['a']:.2f} draining"
          f"   target >= 0.70  {ok(b >= 0.7 * res['a'])}")  # fmt: skip
    print(f"(b)/(c) = {b / res['c']:.1f} live, {bd / res['c_drain']:.1f} draining"
          f"   target >= 10    {ok(max(b / res['c'], bd / res['c_drain']) >= 10)}")  # fmt: skip
    print(f"(e)/(d) = {res['e'] / res['d']:.2f} live, {res['e_drain'] / res['d']:.2f} draining"
          f"   target >= 0.50  {ok(max(res['e'], res['e_drain']) >= 0.5 * res['d'])}")  # fmt: skip
    print(f"ingestor peak RSS over {n} + {n} readings (+ drains): {res['peak_rss']:.0f} MiB")
    print(
        "database unreachable (queue cap 2000 = MQTT Receive Maximum; the broker holds the rest):"
    )
    for sent, unacked, rss in bounded:
        print(f"    published {sent:>5}  held unacknowledged {unacked:>5}  RSS {rss:6.1f} MiB")


if __name__ == "__main__":
    raise SystemExit(main())
