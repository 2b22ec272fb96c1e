"""The simulator's publisher across a broker connection loss, through a proxy we can cut."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from core.settings import Settings
from device_sim.publisher import Publisher, wait_until
from tests.ingest.tcpproxy import TcpProxy


def test_publisher_knows_it_lost_the_broker_and_comes_back_quickly(settings: Settings) -> None:
    broker = urlsplit(settings.mqtt_url or "mqtt://127.0.0.1:1883")
    proxy = TcpProxy((broker.hostname or "127.0.0.1", broker.port or 1883))
    pub = Publisher(settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{proxy.port}"}))
    try:
        pub.connect(timeout=10)
        assert pub.connected
        proxy.cut()  # the broker "restarts": connections dropped, new ones refused
        assert wait_until(lambda: not pub.connected, 10)
        time.sleep(4)  # refused attempts meanwhile: paho's backoff doubles (1, 2, 4 s ...)
        proxy.restore()
        back = time.monotonic()
        # Back within one backoff step (a 4 s outage stays below the 10 s cap; the cap
        # itself, RECONNECT_MAX_S, would take a 20 s outage to show).
        assert wait_until(lambda: pub.connected, 15)
        assert time.monotonic() - back < 11
    finally:
        pub.close(timeout=2)
        proxy.close()
