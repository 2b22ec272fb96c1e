"""Real-time mode: readings go out when due; offline devices buffer and burst on reconnect."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from core.settings import Settings
from device_sim import modes
from device_sim.cohort import generate_cohort
from device_sim.payloads import member_readings
from tests.device_sim.test_faults import Collector, sim_settings  # noqa: F401  # fixture


def _count(payload: bytes) -> int:
    doc = json.loads(payload)
    return len(doc["readings"]) if isinstance(doc, dict) and "readings" in doc else 1


def test_realtime_sends_what_is_due_and_bursts_after_offline(
    sim_settings: Settings,  # noqa: F811  # the fixture imported above
    mqtt_broker: str,
) -> None:
    start = modes.history_start(1)
    # A CGM can be between sensors at any hour of the day, so pick members whose CGM
    # really took more than 12 readings in the catch-up window at the time the test runs.
    t_now = time.time()
    today = (datetime.fromtimestamp(t_now - 4 * 3600, UTC) + timedelta(hours=8)).date()
    members = []
    for m in generate_cohort(200, seed=4, start=start):
        for dr in member_readings(m, today, 2) if m.device("cgm") else []:
            due = ((dr.t >= t_now - 4 * 3600 + 60) & (dr.t <= t_now)).sum()
            if dr.kind == "glucose" and dr.device.device_type == "cgm" and due > 12:
                members.append(m)
                break
        if len(members) == 3:
            break
    assert members, "no simulated CGM wearer had readings in the last four hours"
    col = Collector(mqtt_broker, sim_settings.mqtt_topic_prefix)
    try:
        t0 = time.time()
        stats = modes.realtime(
            sim_settings,
            members,
            duration_s=1.0,
            catch_up_s=4 * 3600,
            tick_s=0.1,
            offline_per_hour=0.5 * 3600 / 0.1,  # half the devices drop out each tick
            offline_mean_s=0.3,
            seed=1,
        )
        col.wait_for(stats.messages)
    finally:
        col.close()
    assert len(col.got) == stats.messages > 0
    assert sum(_count(p) for _, p in col.got) == stats.readings
    # A CGM that was offline catches up in one burst: some message carries many readings.
    assert max(_count(p) for _, p in col.got) > 12
    for _, payload in col.got:  # nothing from the future, nothing older than the catch-up
        doc = json.loads(payload)
        items = doc["readings"] if isinstance(doc, dict) and "readings" in doc else [doc]
        for it in items:
            ts = it["t"] if "t" in it else it["body"]["effective_time_frame"]["date_time"]
            assert ts.endswith("+08:00")
            epoch = datetime.fromisoformat(ts).timestamp()
            assert t0 - 4 * 3600 - 60 <= epoch <= time.time() + 1
