"""The broker side of the ingestor: the subscription, the persistent-session client options
and the alarm for a stolen session.

Shared by the service and by tests/tools that must speak for the ingestor's session (for
example to create or delete it).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.settings import Settings

_MAX_RECEIVE = 65_535  # MQTT 5 Receive Maximum is a 16-bit value
# MQTT 5.0, 3.14.2.1 (DISCONNECT reason codes): "Session taken over": another connection
# used the same client id, and the broker gave it this client's session.
SESSION_TAKEN_OVER = 0x8E


def subscription(settings: Settings) -> str:
    """``<prefix>/+/+``, or ``$share/<group>/<prefix>/+/+`` when replicas split the stream."""
    topic = f"{settings.mqtt_topic_prefix.rstrip('/')}/+/+"
    if settings.mqtt_shared_group:
        return f"$share/{settings.mqtt_shared_group}/{topic}"
    return topic


def make_client(settings: Settings, *, manual_ack: bool = True) -> mqtt.Client:
    """A paho 2.x client with the persistent-session options of ``settings`` (not connected)."""
    v5 = settings.mqtt_protocol == "5"
    kwargs: dict[str, Any] = {
        "callback_api_version": CallbackAPIVersion.VERSION2,
        "client_id": settings.mqtt_client_id,
        "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        "manual_ack": manual_ack,
    }
    if not v5:
        kwargs["clean_session"] = False
    url = urlsplit(settings.mqtt_url or "mqtt://127.0.0.1:1883")
    client = mqtt.Client(**kwargs)
    if url.username:
        client.username_pw_set(unquote(url.username), unquote(url.password or ""))
    if url.scheme in {"mqtts", "ssl"}:
        client.tls_set()
    return client


def connect_args(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``connect``/``connect_async``: resume the session, cap inflight."""
    url = urlsplit(settings.mqtt_url or "mqtt://127.0.0.1:1883")
    default_port = 8883 if url.scheme in {"mqtts", "ssl"} else 1883
    args: dict[str, Any] = {"host": url.hostname or "127.0.0.1", "port": url.port or default_port}
    args["keepalive"] = 30
    if settings.mqtt_protocol == "5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho untyped
        props.SessionExpiryInterval = settings.mqtt_session_expiry_s
        props.ReceiveMaximum = min(_MAX_RECEIVE, settings.ingest_queue_messages)
        args["clean_start"] = False
        args["properties"] = props
    return args


class TakeoverWatch:
    """Tells from the broker's disconnects that another connection took this client's session.

    Whoever connects with the ingestor's client id gets its persistent session and the
    readings queued in it, so this must never pass unnoticed. The broker config ties client
    ids to logins (``use_username_as_clientid``, ``deploy/mosquitto/mosquitto.conf``); this
    is the alarm for when that is missing or the ingestor's own login leaked.

    MQTT 5 can say it outright: DISCONNECT with reason 0x8E. MQTT 3.1.1 has no reasons, and
    brokers do not always send that DISCONNECT either (Mosquitto 2.0.11 just closes the
    socket), but a stolen session shows as a fight: the ingestor reconnects and takes its
    session back, the other side does the same, and each established connection is lost
    again soon after. So ``flaps`` losses of an established connection within ``window_s``
    raise the alarm too (a flapping network path raises it as well, which is worth a look).
    """

    def __init__(
        self,
        *,
        flaps: int = 3,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._flaps = flaps
        self._window_s = window_s
        self._clock = clock
        self._established = False
        self._losses: deque[float] = deque()

    def connected(self) -> None:
        """The broker accepted a connection (CONNACK success)."""
        self._established = True

    def disconnected(self, reason: Any) -> bool:
        """Record a disconnect the ingestor did not ask for; True when it means a takeover."""
        established, self._established = self._established, False
        if getattr(reason, "value", reason) == SESSION_TAKEN_OVER:
            self._losses.clear()
            return True
        if not established:
            return False  # a refused or failed reconnect: the broker is down, not contested
        now = self._clock()
        self._losses.append(now)
        while self._losses and now - self._losses[0] > self._window_s:
            self._losses.popleft()
        if len(self._losses) >= self._flaps:
            self._losses.clear()
            return True
        return False
