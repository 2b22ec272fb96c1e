"""Simulator benchmark: can the simulator outrun the ingestor it is meant to load?

    python -m bench.sim_bench --members 100 --days 30

(a) baseline: a bare paho-mqtt QoS 1 loop publishing pre-built payloads of the same sizes
    to the local Mosquitto (window 1000), in messages/s;
(b) the simulator's generation alone (cohort + physiology + JSON), in readings/s;
(c) the simulator's backfill (generation + publishing with the window), in messages/s and
    readings/s, and its peak of unacknowledged publishes.
Targets: (c) >= 70% of (b) in readings/s (publishing adds little to generation), and (c)
well above the ingestor's end-to-end rate, so the simulator is never the bottleneck of a
demo or an ingest benchmark. The simulator is generation-bound, so (c) is far below (a) in
messages/s; that is expected. Unique topic prefix; nothing subscribes (nothing is stored).
"""

from __future__ import annotations

import argparse
import time
import uuid

from core.settings import Settings
from device_sim import modes
from device_sim.cohort import generate_cohort
from device_sim.publisher import Publisher


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    args = ap.parse_args()
    prefix = f"wr-bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(mqtt_url=args.mqtt_url, mqtt_topic_prefix=prefix, metrics_port=0)
    start = modes.history_start(args.days)
    members = generate_cohort(args.members, seed=1, start=start)

    t = time.perf_counter()
    msgs = list(modes.backfill_messages(members, start, args.days, prefix))
    gen_s = time.perf_counter() - t
    readings = sum(m.readings for m in msgs)

    pub = Publisher(settings, window=1000).connect()
    t = time.perf_counter()
    for m in msgs:
        pub.publish(m)
    pub.flush(120)
    base_s = time.perf_counter() - t
    pub.close()

    stats = modes.backfill(settings, members, start, args.days, window=1000)
    print(
        f"messages {len(msgs)}, readings {readings}, mean payload "
        f"{sum(len(m.payload) for m in msgs) / len(msgs):.0f} B"
    )
    print(f"(a) baseline publish of pre-built payloads: {len(msgs) / base_s:,.0f} msg/s")
    print(f"(b) generation only:                        {readings / gen_s:,.0f} readings/s")
    print(
        f"(c) simulator backfill:                      {stats.rate:,.0f} msg/s, "
        f"{stats.readings / stats.seconds:,.0f} readings/s, peak unacked {stats.peak_unacked}"
    )
    print(f"(c)/(b) = {stats.readings / stats.seconds / (readings / gen_s):.0%} (target >= 70%)")


if __name__ == "__main__":
    main()
