"""The broker side of the ingestor: the subscription and the persistent-session client options.

Shared by the service and by tests/tools that must speak for the ingestor's session (for
example to create or delete it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.settings import Settings

_MAX_RECEIVE = 65_535  # MQTT 5 Receive Maximum is a 16-bit value


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
