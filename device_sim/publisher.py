"""A QoS 1 publisher with a bounded window of unacknowledged messages.

paho's packet ids are 16-bit: with 65,535 publishes unacknowledged, ids wrap and two
messages share one, and an acknowledgement for one silently completes the other. The
window here caps unacknowledged publishes at :data:`MAX_WINDOW` (well below that), and
``publish`` blocks while the window is full, which also bounds memory.

Simulated devices share a few connections (a gateway) rather than opening one each:
hundreds of paho clients would cost a thread apiece and measure the simulator, not the
ingestor.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import Settings
from device_sim.payloads import OutMessage

log = logging.getLogger(__name__)

MAX_WINDOW: Final = 20_000  # unacknowledged QoS 1 publishes; ids are 16-bit (65,535)
RECONNECT_MAX_S: Final = 10  # longest wait between reconnect attempts (paho doubles up to it)


class PublishError(RuntimeError):
    """The broker refused the connection or a publish could not be queued."""


class Publisher:
    """One MQTT connection; ``publish`` blocks while ``window`` messages await PUBACK."""

    def __init__(
        self,
        settings: Settings,
        *,
        window: int = 1000,
        client_id: str | None = None,
    ) -> None:
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW} (MQTT packet ids are 16-bit)")
        self.window = window
        self._url = urlsplit(settings.mqtt_url or "mqtt://127.0.0.1:1883")
        v5 = settings.mqtt_protocol == "5"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"wellrate-sim-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        if self._url.username:
            self._client.username_pw_set(
                unquote(self._url.username), unquote(self._url.password or "")
            )
        if self._url.scheme in {"mqtts", "ssl"}:
            self._client.tls_set()
        self._client.max_inflight_messages_set(window)
        self._client.max_queued_messages_set(0)
        self._client.on_publish = self._on_publish
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        # paho's default backoff doubles to 120 s: after a long broker outage a simulator
        # would sit idle up to two minutes once the broker is back. A load generator should
        # resume at once; a few simulators retrying every 10 s cost the broker nothing.
        self._client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_S)
        self._cond = threading.Condition()
        self._unacked = 0
        self._connected = threading.Event()
        self.sent = 0
        self.acked = 0
        self.peak_unacked = 0

    # paho's network thread ------------------------------------------------------------
    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning("broker refused the simulator's connection: %s", rc)
            return
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self._connected.clear()  # publishes meanwhile wait in paho for the reconnect

    def _on_publish(self, _c: mqtt.Client, _u: Any, _mid: int, _rc: Any, _p: Any) -> None:
        with self._cond:
            self._unacked -= 1
            self.acked += 1
            self._cond.notify_all()

    # caller's thread ----------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> Publisher:
        default_port = 8883 if self._url.scheme in {"mqtts", "ssl"} else 1883
        self._client.connect_async(
            self._url.hostname or "127.0.0.1", self._url.port or default_port, keepalive=30
        )
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            raise PublishError(
                f"no connection to the broker at {self._url.hostname} in {timeout} s"
            )
        return self

    def publish(self, msg: OutMessage, *, timeout: float | None = None) -> None:
        """Send at QoS 1; blocks while the window is full (the broker is behind)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._unacked < self.window, timeout):
                raise PublishError(f"window of {self.window} still full after {timeout} s")
            self._unacked += 1
            self.peak_unacked = max(self.peak_unacked, self._unacked)
        info = self._client.publish(msg.topic, msg.payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            with self._cond:
                self._unacked -= 1
            raise PublishError(f"publish refused by the client: {mqtt.error_string(info.rc)}")
        self.sent += 1  # NO_CONN: paho keeps it and sends it on reconnect

    @property
    def connected(self) -> bool:
        """Connected to the broker now (paho reconnects by itself after a loss)."""
        return self._connected.is_set()

    @property
    def unacked(self) -> int:
        with self._cond:
            return self._unacked

    def flush(self, timeout: float = 30.0) -> bool:
        """True once every publish is acknowledged by the broker."""
        with self._cond:
            return self._cond.wait_for(lambda: self._unacked == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()


def wait_until(check: Any, timeout: float, every: float = 0.05) -> bool:
    """Poll ``check()`` until truthy or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return bool(check())
