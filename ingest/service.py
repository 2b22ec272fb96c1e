"""The MQTT ingestor: receive -> bounded queue -> batch -> one transaction -> commit -> ack.

Durability rests on three things (``docs/ingest.md``):

* **ack after commit.** ``manual_ack=True``: a QoS 1 message is acknowledged only after
  the transaction holding its readings (or its dead letters) committed. A crash anywhere
  before that leaves it unacknowledged in the persistent session; the broker redelivers.
* **natural keys.** Redelivery is harmless: ``ON CONFLICT DO NOTHING`` on (device, time).
* **bounded memory.** The MQTT callback only enqueues into ``queue.Queue(maxsize)``; the
  broker never has more unacknowledged messages in flight to us than that (MQTT 5
  Receive Maximum), and a blocking put stalls the network loop if it ever fills. While the
  database is down the writer keeps its one batch, retries with jittered backoff and acks
  nothing, so the broker holds the rest.

Acks are only sent for messages received on the current connection: after a reconnect
the broker redelivers the older ones itself, and a stale packet id could otherwise
acknowledge a different message. What a batch writes (readings, dead letters) is
``ingest.batches``.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg

from core.db import require_url
from core.settings import Settings
from ingest import batches
from ingest.batches import Batch, Message, Outcome
from ingest.metrics import IngestMetrics
from ingest.mqtt import TakeoverWatch, connect_args, make_client, subscription
from ingest.parsing import Limits, ParsedMessage, Rejection, parse_message

log = logging.getLogger(__name__)


# Broker reconnect backoff (paho doubles the delay from min to max). Each ingestor draws its
# own bounds once, so that replicas cut off by one broker restart do not all come back in
# the same second and again at every doubling (paho's schedule itself has no jitter).
RECONNECT_MIN_S = (0.5, 1.5)
RECONNECT_MAX_S = (24.0, 36.0)


def reconnect_delays(rng: random.Random) -> tuple[float, float]:
    """(first, longest) reconnect delay in seconds for one ingestor, drawn from the ranges."""
    return rng.uniform(*RECONNECT_MIN_S), rng.uniform(*RECONNECT_MAX_S)


class Ingestor:
    """One ingestor process's worth of MQTT client, queue and writer thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = require_url(settings)
        self._limits = Limits(
            settings.ingest_max_payload_bytes,
            settings.ingest_max_future_skew_s,
            settings.ingest_max_age_days,
        )
        self._queue: queue.Queue[Message] = queue.Queue(settings.ingest_queue_messages)
        self.metrics = IngestMetrics()
        self.metrics.queue_depth.set_function(self._queue.qsize)  # live even while stalled
        self.metrics.unacked.set_function(lambda: self._pending)
        self._stopping = threading.Event()
        self._give_up_at: float | None = None
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self._generation = 0
        self._pending = 0
        self._counts = {"received": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        self._conn: psycopg.Connection[Any] | None = None
        # Two stages so parsing the next batch overlaps the database writing this one; the
        # hand-over queue holds one batch, so memory stays bounded by the MQTT queue.
        self._batches: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self._parser = threading.Thread(target=self._run_parser, name="ingest-parser", daemon=True)
        self._writer = threading.Thread(target=self._run_writer, name="ingest-writer", daemon=True)
        self._takeover = TakeoverWatch()
        self._client = make_client(settings)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        first, longest = reconnect_delays(random.Random())  # noqa: S311  # not crypto
        self._client.reconnect_delay_set(min_delay=first, max_delay=longest)  # type: ignore[arg-type]

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (retrying in the background), subscribe, start the writer; returns at once."""
        self.metrics.serve(self._settings.metrics_port, self._settings.metrics_host)
        self._parser.start()
        self._writer.start()
        self._client.connect_async(**connect_args(self._settings))
        self._client.loop_start()
        log.info(
            "ingestor starting",
            extra={
                "client_id": self._settings.mqtt_client_id,
                "topic": subscription(self._settings),
            },
        )

    def wait_ready(self, timeout: float) -> bool:
        """True once the subscription is acknowledged by the broker."""
        return self._subscribed.wait(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """True when every received message has been committed and acknowledged."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._pending == 0:
                    return True
            time.sleep(0.02)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, flush what is queued (commit, then ack), then disconnect.

        If the database stays unreachable past ``timeout`` the remaining messages are left
        unacknowledged: the broker keeps them in the session for the next start.
        """
        if self._stopping.is_set():
            return
        self._give_up_at = time.monotonic() + timeout
        self._stopping.set()
        self._parser.join(timeout + 1)
        if self._writer.is_alive():
            self._writer.join(max(0.0, self._give_up_at - time.monotonic()) + 1)
        if self._writer.is_alive() and self._conn is not None:
            self._conn.cancel_safe()  # a writer blocked on a lock; it will give up
            self._writer.join(5)
        self._client.disconnect()
        self._client.loop_stop()
        self.metrics.close()
        log.info("ingestor stopped", extra=self.stats())

    def stats(self) -> dict[str, int]:
        with self._lock:
            out = dict(self._counts)
            out["pending"] = self._pending
        out["queued"] = self._queue.qsize()
        return out

    # --- MQTT callbacks (paho's network thread: never block on the database here) -----------
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning("broker refused the connection: %s", rc)
            return
        with self._lock:
            self._generation += 1
        self._takeover.connected()
        log.info("connected to broker", extra={"session_present": bool(flags.session_present)})
        client.subscribe(subscription(self._settings), qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if all(not code.is_failure for code in codes):
            self._subscribed.set()
        else:
            log.error("subscription refused: %s", [str(c) for c in codes])

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self._subscribed.clear()
        if self._stopping.is_set():
            return
        self.metrics.broker_disconnects.labels(str(rc)).inc()
        if self._takeover.disconnected(rc):
            self.metrics.session_takeovers.inc()
            log.warning(
                "broker session taken over: another connection used this ingestor's client id"
                " %s (check the broker ties client ids to logins, and who holds this login);"
                " reconnecting",
                self._settings.mqtt_client_id,
            )
        else:
            log.warning("disconnected from broker (%s); reconnecting with backoff", rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            item = Message(
                msg.mid,
                msg.qos,
                msg._topic.decode("utf-8", "replace"),
                bytes(msg.payload),
                datetime.now(UTC),
                self._generation,
            )
            with self._lock:
                self._pending += 1
                self._counts["received"] += 1
            self.metrics.received.inc()
            while not self._stopping.is_set():
                try:
                    self._queue.put(item, timeout=0.5)  # blocking: back-pressure to the broker
                    return
                except queue.Full:
                    log.warning("ingest queue full; holding the broker back")
            with self._lock:  # stopping: leave it unacknowledged for the next session
                self._pending -= 1
        except Exception:
            log.exception("could not enqueue a message; it stays unacknowledged")

    # --- parser and writer threads-----------------------------------------------------------------
    def _run_parser(self) -> None:
        while True:
            batch = self._collect()
            if batch:
                self._batches.put(batch)  # blocks while the writer is busy: back-pressure
            elif batch is None:
                self._batches.put(None)
                return

    def _run_writer(self) -> None:
        while (batch := self._batches.get()) is not None:
            self._write(batch)
        if self._conn is not None:
            self._conn.close()

    def _collect(self) -> Batch | None:
        """Up to ``ingest_batch_rows`` readings (and half the queue's messages), or whatever
        arrived within ``ingest_flush_ms``."""
        batch: Batch = []
        rows = 0
        deadline: float | None = None
        prefix = self._settings.mqtt_topic_prefix
        # Half the receive window: with one reading per message, a batch as large as the
        # window would stop the broker delivering until it commits.
        max_messages = max(1, self._settings.ingest_queue_messages // 2)
        while rows < self._settings.ingest_batch_rows and len(batch) < max_messages:
            wait = 0.05 if deadline is None else deadline - time.monotonic()
            try:
                msg = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                if self._stopping.is_set() and not batch:
                    return None
                if deadline is None and not self._stopping.is_set():
                    continue
                break
            try:
                parsed = parse_message(
                    msg.topic, msg.payload, msg.received_at, prefix, self._limits
                )
            except Exception:  # a parser bug must not stop ingest: keep it as a dead letter
                log.exception("parser failed on a message from topic kind %s", msg.topic[-8:])
                parsed = ParsedMessage(msg.topic, None, None)
                parsed.rejections.append(Rejection("parser_error", None, "internal parser error"))
            batch.append((msg, parsed))
            rows += len(parsed.readings) + len(parsed.rejections)
            if deadline is None:
                deadline = time.monotonic() + self._settings.ingest_flush_ms / 1000
        return batch

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,  # transactions are explicit: one per batch
                connect_timeout=self._settings.ingest_db_connect_timeout_s,
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
                application_name="wellrate-ingest",
            )
        return self._conn

    def _write(self, batch: Batch) -> None:
        """Commit the batch (retrying for as long as it takes), then acknowledge it."""
        attempt = 0
        while True:
            if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                log.warning(
                    "stopping with %d messages unstored; the broker redelivers them", len(batch)
                )
                self._finish(batch, acked=False)
                return
            try:
                started = time.perf_counter()
                outcome = self._commit(batch)
                self.metrics.commit_seconds.observe(time.perf_counter() - started)
                break
            except Exception as exc:  # database down, or a bug: keep the batch, retry
                self.metrics.db_errors.inc()
                attempt += 1
                jitter = random.uniform(0, 1.5 ** min(10, attempt))  # noqa: S311  # not crypto
                delay = min(self._settings.ingest_retry_max_s, jitter)
                log.warning(
                    "batch not stored (attempt %d, retry in %.1f s): %s",
                    attempt, delay, type(exc).__name__,
                    extra={"messages": len(batch), "sqlstate": getattr(exc, "sqlstate", None)},
                    exc_info=not isinstance(exc, psycopg.Error),
                )  # fmt: skip
                time.sleep(delay if not self._stopping.is_set() else min(delay, 0.5))
        self._account(batch, outcome)
        self._finish(batch, acked=True)

    def _commit(self, batch: Batch) -> Outcome:
        cap = self._settings.ingest_dead_letter_payload_bytes
        return batches.write(self._connection(), batch, cap)

    def _account(self, batch: Batch, outcome: Outcome) -> None:
        result, dead = outcome
        m = self.metrics
        m.stored.inc(result.stored)
        m.duplicates.inc(result.duplicates)
        for d in dead:
            m.rejected.labels(d.reason).inc()
        m.batch_size.observe(sum(len(p.readings) for _, p in batch))
        # Lag per message, from its newest reading: observing every reading of a 50-reading
        # backlog cost a quarter of the writer thread, and the newest one is what says how
        # far behind real time a device's data arrives.
        for msg, parsed in batch:
            if parsed.readings:
                newest = max(r.measured_at for r in parsed.readings)
                m.lag_seconds.observe(max(0.0, (msg.received_at - newest).total_seconds()))
        with self._lock:
            self._counts["stored"] += result.stored
            self._counts["duplicates"] += result.duplicates
            self._counts["rejected"] += len(dead)
        log.debug("batch committed", extra={"messages": len(batch), "stored": result.stored})

    def _finish(self, batch: Batch, *, acked: bool) -> None:
        """Acknowledge in receipt order (MQTT requires it), only for this connection's messages."""
        if acked:
            with self._lock:
                generation = self._generation
            for msg, _ in batch:
                if msg.qos > 0 and msg.generation == generation:
                    self._client.ack(msg.mid, msg.qos)
        with self._lock:
            self._pending -= len(batch)
