"""Fault injection produces exactly the faults requested, counted on the real broker."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import Counter

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import Settings
from device_sim import modes
from device_sim.cohort import generate_cohort
from device_sim.faults import FaultInjector, FaultPlan, FaultPlanError
from device_sim.publisher import MAX_WINDOW, Publisher
from tests.conftest import make_settings


class Collector:
    """A subscriber on ``<prefix>/#`` that keeps every message in arrival order."""

    def __init__(self, url: str, prefix: str) -> None:
        self.got: list[tuple[str, bytes]] = []
        self._ready = threading.Event()
        host, port = url.split("//")[1].split(":")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"wr-col-{uuid.uuid4().hex[:8]}"
        )
        self.client.on_message = lambda _c, _u, m: self.got.append((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda *_a: self._ready.set()
        self.client.connect(host, int(port))
        self.client.subscribe(f"{prefix}/#", qos=1)
        self.client.loop_start()
        assert self._ready.wait(5)

    def wait_for(self, n: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # anything extra would show up now

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def sim_settings(mqtt_broker: str, topic_prefix: str) -> Settings:
    return make_settings(None, mqtt_topic_prefix=topic_prefix)


def _inversions(order: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(order) if b < a)


def test_exactly_the_requested_faults_arrive(sim_settings: Settings, mqtt_broker: str) -> None:
    prefix = sim_settings.mqtt_topic_prefix
    start = modes.history_start(6)
    members = generate_cohort(25, seed=21, start=start)
    clean = list(modes.backfill_messages(members, start, 6, prefix, batch=30))
    plan = FaultPlan(duplicates=4, out_of_order=3, malformed=5, clock_skew=2, unknown_devices=3)
    injector = FaultInjector(plan, seed=5, spacing=5)
    col = Collector(mqtt_broker, prefix)
    try:
        stats = modes.backfill(
            sim_settings, members, start, 6, batch=30, window=50, faults=injector
        )
        extra = plan.duplicates + plan.malformed + plan.clock_skew + plan.unknown_devices
        col.wait_for(len(clean) + extra)
    finally:
        col.close()
    assert injector.counts() == plan.counts()
    assert stats.faults == plan.counts()
    assert stats.messages == len(clean) + extra == len(col.got)

    counts = Counter(col.got)
    assert sum(c - 1 for c in counts.values()) == plan.duplicates
    clean_set = {(m.topic, m.payload) for m in clean}
    strange = [g for g in counts if g not in clean_set]
    assert len(strange) == plan.malformed + plan.clock_skew + plan.unknown_devices
    undecodable = 0
    for _, payload in strange:
        try:
            json.loads(payload)
        except ValueError:
            undecodable += 1
    # Malformed variants cycle: truncated JSON, not UTF-8, no timestamp, wrong type.
    assert undecodable == sum(1 for i in range(plan.malformed) if i % 4 in (0, 1))
    unknown = {t.split("/")[1] for t, _ in strange if t.split("/")[1].startswith("unknown-")}
    assert len(unknown) == plan.unknown_devices
    for fault in injector.injected:
        if fault.payload is not None:
            assert (fault.topic, fault.payload) in counts

    # Out of order: per device, first arrivals of clean messages invert exactly 3 times.
    rank = {(m.topic, m.payload): i for i, m in enumerate(clean)}
    firsts: dict[str, list[int]] = {}
    for key in dict.fromkeys(col.got):  # first occurrence, arrival order
        if key in rank:
            firsts.setdefault(key[0], []).append(rank[key])
    assert sum(_inversions(v) for v in firsts.values()) == plan.out_of_order


def test_no_faults_means_a_clean_stream() -> None:
    start = modes.history_start(2)
    members = generate_cohort(5, seed=1, start=start)
    clean = list(modes.backfill_messages(members, start, 2, "p"))
    inj = FaultInjector(FaultPlan(), seed=1)
    assert list(inj.wrap(clean)) == clean and inj.injected == []


def test_a_swap_without_a_partner_is_refused() -> None:
    start = modes.history_start(1)
    one = list(modes.backfill_messages(generate_cohort(1, seed=1, start=start), start, 1, "p"))[:1]
    with pytest.raises(FaultPlanError):
        list(FaultInjector(FaultPlan(out_of_order=1)).wrap(one))


def test_fault_plan_parsing() -> None:
    plan = FaultPlan.parse("duplicates=2, out-of-order=1,skew_s=60")
    assert (plan.duplicates, plan.out_of_order, plan.skew_s, plan.total) == (2, 1, 60, 3)
    with pytest.raises(ValueError, match="bad fault"):
        FaultPlan.parse("gremlins=3")


def test_publisher_caps_unacknowledged_publishes(sim_settings: Settings) -> None:
    with pytest.raises(ValueError, match="16-bit"):
        Publisher(sim_settings, window=MAX_WINDOW + 1)
    assert MAX_WINDOW < 65_535 // 2
    stats = modes.load(sim_settings, devices=20, rate=4000, duration_s=0.5, window=8)
    assert stats.messages > 100
    assert 1 <= stats.peak_unacked <= 8
