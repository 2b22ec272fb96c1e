"""The three ways the simulator drives devices: backfill, real-time, load.

* **backfill**: N days of history, device by device in upload batches, as fast as the
  consumer takes it. A broker queues a bounded number of messages per subscriber
  (Mosquitto: ``max_queued_messages`` 1000 by default) and drops QoS 1 messages beyond it,
  so PUBACKs from the broker are not enough: give ``consumed`` (messages the ingestor has
  finished, e.g. from ``Ingestor.stats()`` or its metrics) and backfill keeps at most
  ``max_ahead`` messages between the publisher and the ingestor.
* **real-time**: readings go out when their time comes; devices drop offline now and
  then, buffer, and burst the backlog as one batch on reconnect.
* **load**: N synthetic devices at a given total rate, for benchmarks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from core.payload_format import topic
from core.settings import Settings
from device_sim.clock import DAY_S, iso_local
from device_sim.cohort import SimDevice, SimMember
from device_sim.faults import FaultInjector
from device_sim.payloads import OutMessage, batches, encode, member_readings
from device_sim.publisher import Publisher

log = logging.getLogger(__name__)


@dataclass
class RunStats:
    messages: int = 0
    readings: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    peak_unacked: int = 0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def backfill_messages(
    members: Iterable[SimMember], start: date, days: int, prefix: str, *, batch: int = 100
) -> Iterator[OutMessage]:
    """Every member's history as upload batches, member by member (bounded memory)."""
    for member in members:
        for dr in member_readings(member, start, days):
            yield from batches(dr, prefix, size=batch)


# Rough readings per device-day, to spread injected faults over a stream of unknown length.
_PER_DAY = {"bp_cuff": 3.0, "bp_cuffless": 40.0, "cgm": 270.0, "glucometer": 1.0}


def estimate_messages(members: Iterable[SimMember], days: int, batch: int) -> int:
    """About how many messages :func:`backfill_messages` yields (for fault spacing)."""
    total = 0
    for m in members:
        for d in m.devices:
            total += -(-int(_PER_DAY.get(d.device_type, 15.0) * days) // batch)
    return total


def fault_spacing(members: list[SimMember], days: int, batch: int, plan_total: int) -> int:
    """Mean gap between faults so that all of them land inside the stream."""
    return max(1, min(50, estimate_messages(members, days, batch) // (2 * (plan_total + 1))))


def backfill(
    settings: Settings,
    members: list[SimMember],
    start: date,
    days: int,
    *,
    batch: int = 100,
    window: int = 1000,
    consumed: Callable[[], int] | None = None,
    max_ahead: int = 800,
    faults: FaultInjector | None = None,
    progress: bool = False,
) -> RunStats:
    """Publish ``days`` of history from ``start``; returns what was sent."""
    stats = RunStats()
    stream: Iterable[OutMessage] = backfill_messages(
        members, start, days, settings.mqtt_topic_prefix, batch=batch
    )
    if faults is not None:
        stream = faults.wrap(stream)
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(members), unit="member", desc="backfill", leave=True)
    pub = Publisher(settings, window=window).connect()
    began = time.perf_counter()
    seen_members = 0
    owner = {d.device_id: i + 1 for i, m in enumerate(members) for d in m.devices}
    try:
        for msg in stream:
            if consumed is not None:
                while stats.messages - consumed() >= max_ahead:
                    time.sleep(0.005)
            pub.publish(msg)
            stats.messages += 1
            stats.readings += msg.readings
            stats.by_kind[msg.kind] = stats.by_kind.get(msg.kind, 0) + msg.readings
            done = owner.get(msg.device_id, 0) - 1  # members before this one are done
            if bar is not None and done > seen_members:
                bar.update(done - seen_members)
                seen_members = done
        pub.flush(60)
    finally:
        stats.peak_unacked = pub.peak_unacked
        pub.close()
        if bar is not None:
            bar.update(len(members) - seen_members)
            bar.close()
    stats.seconds = time.perf_counter() - began
    stats.faults = faults.counts() if faults is not None else {}
    return stats


@dataclass
class _Live:
    device: SimDevice
    kind: Any
    t: np.ndarray
    items: list[dict[str, Any]]
    next_i: int = 0
    offline_until: float = 0.0


def realtime(
    settings: Settings,
    members: list[SimMember],
    *,
    duration_s: float,
    catch_up_s: float = 0.0,
    tick_s: float = 1.0,
    offline_per_hour: float = 0.05,
    offline_mean_s: float = 1800.0,
    seed: int = 0,
    now: Callable[[], float] = time.time,
) -> RunStats:
    """Publish readings as their time arrives, for ``duration_s`` seconds of wall time.

    ``catch_up_s`` first sends the last seconds of readings (a device syncing what it
    stored). A device goes offline at ``offline_per_hour`` per hour of simulated time for
    an exponential ``offline_mean_s``; while offline it buffers, then sends the backlog
    as one batch.
    """
    rng = np.random.default_rng([seed, 11])
    t0 = now()
    today = (datetime.fromtimestamp(t0 - catch_up_s, UTC) + timedelta(hours=8)).date()
    span_days = int((duration_s + catch_up_s) // DAY_S) + 2
    live: list[_Live] = []
    for m in members:
        for dr in member_readings(m, today, span_days):
            first = int(np.searchsorted(dr.t, t0 - catch_up_s, side="left"))
            live.append(_Live(dr.device, dr.kind, dr.t, dr.items, first))
    stats = RunStats()
    pub = Publisher(settings).connect()
    prefix = settings.mqtt_topic_prefix
    began = time.perf_counter()
    try:
        while True:
            wall = now()
            for dev in live:
                if dev.offline_until > wall:
                    continue
                if rng.random() < offline_per_hour * tick_s / 3600:
                    dev.offline_until = wall + rng.exponential(offline_mean_s)
                    continue
                end = int(np.searchsorted(dev.t, wall, side="right"))
                if end > dev.next_i:
                    chunk = dev.items[dev.next_i : end]
                    payload = encode(dev.device, dev.kind, chunk, batch=len(chunk) > 1)
                    pub.publish(
                        OutMessage(
                            topic(prefix, dev.device.device_id, dev.kind),
                            payload,
                            dev.device.device_id,
                            dev.kind,
                            len(chunk),
                            int(dev.t[dev.next_i]),
                            int(dev.t[end - 1]),
                        )
                    )
                    stats.messages += 1
                    stats.readings += len(chunk)
                    stats.by_kind[dev.kind] = stats.by_kind.get(dev.kind, 0) + len(chunk)
                    dev.next_i = end
            if wall - t0 >= duration_s:
                break
            time.sleep(tick_s)
        pub.flush(30)
    finally:
        stats.peak_unacked = pub.peak_unacked
        pub.close()
    stats.seconds = time.perf_counter() - began
    return stats


def load(
    settings: Settings,
    *,
    devices: int,
    rate: float,
    duration_s: float,
    window: int = 1000,
    device_prefix: str = "load",
) -> RunStats:
    """``devices`` synthetic BP cuffs publishing ``rate`` single readings per second in total.

    Each device's timestamps step one second apart from a day ago, so every reading has a
    distinct natural key and none lies in the future. Device ids are ``<prefix>-<n>``.
    """
    pub = Publisher(settings, window=window).connect()
    prefix = settings.mqtt_topic_prefix
    base = int(time.time()) - DAY_S
    stats = RunStats()
    rng = np.random.default_rng(7)
    sys_ = rng.normal(135, 15, 4096).clip(90, 200).astype(int).tolist()
    began = time.perf_counter()
    n = 0
    try:
        while True:
            elapsed = time.perf_counter() - began
            if elapsed >= duration_s:
                break
            due = int(elapsed * rate) + 1
            while n < due:
                dev, k = n % devices, n // devices
                ts = iso_local(np.array([base + k]))[0]
                s = sys_[n % 4096]
                payload = json.dumps(
                    {"t": ts, "sys": s, "dia": s * 6 // 10, "pulse": 70}, separators=(",", ":")
                ).encode()
                dev_id = f"{device_prefix}-{dev}"
                pub.publish(
                    OutMessage(
                        topic(prefix, dev_id, "bp"), payload, dev_id, "bp", 1, base + k, base + k
                    )
                )
                n += 1
            time.sleep(max(0.0, (n / rate) - (time.perf_counter() - began)))
        pub.flush(60)
    finally:
        stats.peak_unacked = pub.peak_unacked
        pub.close()
    stats.messages = stats.readings = n
    stats.by_kind = {"bp": n}
    stats.seconds = time.perf_counter() - began
    return stats


def history_start(days: int, *, today: date | None = None) -> date:
    """The first day of a ``days``-day history ending yesterday (local calendar)."""
    end = today or (datetime.now(UTC) + timedelta(hours=8)).date()
    return end - timedelta(days=days)
