"""``ingest.mqtt.TakeoverWatch``: which broker disconnects mean the session was stolen.

The real broker cases (a device fighting the ingestor for its client id, MQTT 5 and 3.1.1)
are in tests/deploy/test_mosquitto_tls.py; this pins the rule itself with a fake clock.
"""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from ingest.mqtt import SESSION_TAKEN_OVER, TakeoverWatch

LOST = ReasonCode(PacketTypes.DISCONNECT, "Unspecified error")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_session_taken_over_reason_alarms_at_once() -> None:
    watch = TakeoverWatch()
    watch.connected()
    taken = ReasonCode(PacketTypes.DISCONNECT, identifier=SESSION_TAKEN_OVER)
    assert str(taken) == "Session taken over"
    assert watch.disconnected(taken)


def test_repeated_losses_of_an_established_session_alarm() -> None:
    clock = Clock()
    watch = TakeoverWatch(flaps=3, window_s=60, clock=clock)
    results = []
    for _ in range(3):
        watch.connected()
        clock.now += 5
        results.append(watch.disconnected(LOST))
    assert results == [False, False, True]
    # The count starts again after an alarm: the next two losses are quiet.
    for _ in range(2):
        watch.connected()
        assert not watch.disconnected(LOST)


def test_losses_spread_beyond_the_window_do_not_alarm() -> None:
    clock = Clock()
    watch = TakeoverWatch(flaps=3, window_s=60, clock=clock)
    for _ in range(10):
        watch.connected()
        clock.now += 31  # a loss every 31 s: never three within a minute
        assert not watch.disconnected(LOST)


def test_failed_reconnects_are_an_outage_not_a_takeover() -> None:
    clock = Clock()
    watch = TakeoverWatch(flaps=3, window_s=60, clock=clock)
    watch.connected()
    assert not watch.disconnected(LOST)  # the broker went away
    for _ in range(10):  # every reconnect attempt fails before a CONNACK
        clock.now += 1
        assert not watch.disconnected(LOST)
