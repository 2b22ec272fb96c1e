"""Prometheus metrics of one ingestor, in its own registry (tests run several at once)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 6 * 3600, 86400,
                7 * 86400, 30 * 86400, 400 * 86400)  # fmt: skip


class IngestMetrics:
    """Counters and histograms named ``wellrate_ingest_*``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "wellrate_ingest_messages_received", "MQTT messages received", registry=r
        )
        self.stored = Counter(
            "wellrate_ingest_readings_stored", "Readings committed to the tables", registry=r
        )
        self.duplicates = Counter(
            "wellrate_ingest_readings_duplicate",
            "Readings already stored (redelivery or device resend), absorbed",
            registry=r,
        )
        self.rejected = Counter(
            "wellrate_ingest_rejected",
            "Messages or readings written to dead_letters, by reason",
            ["reason"],
            registry=r,
        )
        self.batch_size = Histogram(
            "wellrate_ingest_batch_readings",
            "Readings per committed batch",
            buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000),
            registry=r,
        )
        self.commit_seconds = Histogram(
            "wellrate_ingest_commit_seconds",
            "Time to stage, insert and commit one batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.lag_seconds = Histogram(
            "wellrate_ingest_lag_seconds",
            "Receive time minus the newest reading's measurement time, per stored message",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "wellrate_ingest_queue_depth", "Messages waiting for the writer", registry=r
        )  # read at scrape time: see Ingestor.__init__ (set_function)
        self.unacked = Gauge(
            "wellrate_ingest_unacked",
            "Messages received and not yet acknowledged (queued, parsing or being written)",
            registry=r,
        )
        self.db_errors = Counter(
            "wellrate_ingest_db_errors", "Failed batch attempts (retried)", registry=r
        )
        self.broker_disconnects = Counter(
            "wellrate_ingest_broker_disconnects",
            "Connections to the broker lost without the ingestor asking, by reason",
            ["reason"],
            registry=r,
        )
        # Alert on any increase: another connection took this ingestor's broker session
        # (and the readings queued in it). ingest.mqtt.TakeoverWatch decides.
        self.session_takeovers = Counter(
            "wellrate_ingest_session_takeovers",
            "Broker sessions of this ingestor taken over by another connection",
            registry=r,
        )
        self._server: Any = None

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` on ``port`` (0 = off)."""
        if port:
            self._server, _ = start_http_server(port, addr=addr, registry=self.registry)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
