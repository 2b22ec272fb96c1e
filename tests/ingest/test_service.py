"""End to end with the real Mosquitto and PostgreSQL: publish -> ingestor -> rows."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from ingest.service import Ingestor
from tests import factories
from tests.ingest.conftest import Publisher, count, wait_for
from tests.ingest.test_parsing import GLU_OMH, REJECTED, STEPS_OMH, omh

StartIngestor = Callable[[Settings], Ingestor]


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


def test_publish_to_row_all_kinds_both_formats(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    start_ingestor: StartIngestor,
    conn: psycopg.Connection[Any],
) -> None:
    start_ingestor(ingest_settings)
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    local = t.astimezone(UTC).replace(tzinfo=None).isoformat() + "+08:00"  # some other offset
    publisher.send(world["cuff"], "bp", {"t": iso(t), "sys": 131, "dia": 84, "pulse": 66})
    publisher.send(world["watch"], "bp", {"t": local, "sys": 150, "dia": 95})
    publisher.send(world["cgm"], "glucose", {"t": iso(t), "v": "HI", "u": "mg/dl", "m": "cgm"})
    glu = {**GLU_OMH, "effective_time_frame": {"date_time": iso(t + timedelta(minutes=5))}}
    publisher.send(world["cgm"], "glucose", omh("blood-glucose", "4.0", glu))
    steps = {**STEPS_OMH, "effective_time_frame": {"time_interval": {
        "start_date_time": iso(t), "duration": {"value": 15, "unit": "min"}}}}  # fmt: skip
    publisher.send(world["tracker"], "activity", omh("step-count", "3.0", steps))

    wait_for(lambda: count(conn, "bp_readings") == 2 and count(conn, "glucose_readings") == 2
             and count(conn, "activity_readings") == 1)  # fmt: skip
    bp = conn.execute(
        "SELECT device_id, member_id, systolic, diastolic, pulse, validated, utc_offset_min"
        " FROM bp_readings ORDER BY device_id"
    ).fetchall()
    assert bp == [
        (world["cuff"], "m1", 131, 84, 66, True, 0),
        (world["watch"], "m1", 150, 95, None, False, 480),
    ]
    glucose = conn.execute(
        "SELECT value, unit, censored, method, meal_context FROM glucose_readings"
        " ORDER BY measured_at"
    ).fetchall()
    assert glucose == [(None, "mg/dL", "HI", "cgm", None), (6.2, "mmol/L", None, "smbg",
                                                             "before_breakfast")]  # fmt: skip
    act = conn.execute("SELECT member_id, steps, duration_s FROM activity_readings").fetchall()
    assert act == [("m1", 1200, 900)]
    assert count(conn, "dead_letters") == 0


def test_batch_payload_and_redelivered_duplicates_stored_once(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    start_ingestor: StartIngestor,
    conn: psycopg.Connection[Any],
) -> None:
    ing = start_ingestor(ingest_settings)
    t0 = datetime.now(UTC) - timedelta(days=3)
    batch = {"readings": [
        {"t": iso(t0 + timedelta(minutes=5 * i)), "v": 5.0 + i / 100, "u": "mmol/L", "m": "cgm"}
        for i in range(50)
    ]}  # fmt: skip
    publisher.send(world["cgm"], "glucose", batch)
    wait_for(lambda: count(conn, "glucose_readings") == 50)
    # The same readings again: once as the same batch, once one by one (a device resending).
    publisher.send(world["cgm"], "glucose", batch)
    publisher.send_many([(world["cgm"], "glucose", r) for r in batch["readings"][:10]])
    wait_for(lambda: ing.stats()["duplicates"] == 60)
    assert ing.wait_idle(5)
    assert count(conn, "glucose_readings") == 50
    assert ing.stats()["stored"] == 50
    assert count(conn, "dead_letters") == 0


def test_reassigned_device_attributes_readings_by_measurement_time(
    ingest_settings: Settings,
    publisher: Publisher,
    start_ingestor: StartIngestor,
    conn: psycopg.Connection[Any],
) -> None:
    factories.add_member(conn, "alice")
    factories.add_member(conn, "bob")
    factories.add_device(conn, "cuff-shared")
    handover = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    factories.bind(conn, "cuff-shared", "alice", handover - timedelta(days=10), handover)
    factories.bind(conn, "cuff-shared", "bob", handover)
    start_ingestor(ingest_settings)
    # Published after the handover, measured before it: still Alice's reading.
    readings = [
        {"t": iso(handover - timedelta(hours=1)), "sys": 120, "dia": 80},
        {"t": iso(handover), "sys": 140, "dia": 90},  # the instant of handover: Bob's
        {"t": iso(handover + timedelta(hours=1)), "sys": 141, "dia": 91},
        {"t": iso(handover - timedelta(days=11)), "sys": 125, "dia": 85},  # before any binding
    ]
    publisher.send("cuff-shared", "bp", readings)
    wait_for(lambda: count(conn, "bp_readings") == 3 and count(conn, "dead_letters") == 1)
    rows = conn.execute("SELECT systolic, member_id FROM bp_readings ORDER BY measured_at")
    assert rows.fetchall() == [(120, "alice"), (140, "bob"), (141, "bob")]
    dead = conn.execute("SELECT reason, field, device_id FROM dead_letters").fetchall()
    assert dead == [("unbound_device", "/3", "cuff-shared")]


def test_each_bad_input_lands_in_dead_letters_with_its_reason(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    start_ingestor: StartIngestor,
    conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    s = ingest_settings.model_copy(
        update={"ingest_max_payload_bytes": 4096, "ingest_dead_letter_payload_bytes": 256}
    )
    ing = start_ingestor(s)
    now = datetime.now(UTC)
    expected: list[tuple[str, str | None]] = []
    items: list[tuple[str, str, Any]] = []
    for _id, kind, payload, reason, field in REJECTED:
        if reason in {"future_timestamp", "too_old"}:
            continue  # the table's timestamps are relative to a fixed clock; see below
        items.append((f"dev-{kind}", kind, payload))
        expected.append((reason, field))
    ok = {"t": iso(now - timedelta(minutes=1)), "sys": 120, "dia": 80}
    items += [
        ("dev-bp", "bp", {**ok, "t": iso(now + timedelta(hours=1))}),
        ("dev-bp", "bp", {**ok, "t": iso(now - timedelta(days=401))}),
        ("dev-bp", "weight", ok),
        ("no-such-device", "bp", ok),
        (world["cuff"].replace("cuff", "spare"), "bp", ok),  # registered, never bound
        ("dev-bp", "bp", b'{"t": "PAYLOAD-MARKER-7f3", "sys": '),
    ]
    expected += [("future_timestamp", "/t"), ("too_old", "/t"), ("unknown_kind", None),
                 ("unknown_device", ""), ("unbound_device", ""),
                 ("malformed_json", None)]  # fmt: skip
    publisher.send_many(items)
    wait_for(lambda: count(conn, "dead_letters") == len(expected))
    assert ing.wait_idle(5)
    rows = conn.execute("SELECT reason, field FROM dead_letters ORDER BY id").fetchall()
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert count(conn, "bp_readings") == 0
    big = conn.execute(
        "SELECT length(payload), payload_bytes, truncated, topic FROM dead_letters"
        " WHERE reason = 'oversized_payload'"
    ).fetchone()
    assert big is not None and big[:3] == (256, 5002, True)
    assert big[3] == f"{s.mqtt_topic_prefix}/dev-bp/bp"
    small = conn.execute(
        "SELECT payload, truncated FROM dead_letters WHERE reason = 'bad_encoding'"
    ).fetchone()
    assert small == (b'{"t": "\xff\xfe"}', False)
    assert ing.stats()["rejected"] == len(expected)
    assert "PAYLOAD-MARKER" not in caplog.text  # payloads are never logged
    metrics = ing.metrics.registry.get_sample_value(
        "wellrate_ingest_rejected_total", {"reason": "implausible_value"}
    )
    assert metrics == sum(1 for r, _ in expected if r == "implausible_value")


def test_metrics_endpoint_and_mqtt_311(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    start_ingestor: StartIngestor,
    conn: psycopg.Connection[Any],
    unused_tcp_port: int,
) -> None:
    s = ingest_settings.model_copy(
        update={"mqtt_protocol": "3.1.1", "metrics_port": unused_tcp_port}
    )
    start_ingestor(s)
    t = datetime.now(UTC) - timedelta(minutes=30)
    publisher.send(world["cuff"], "bp", {"t": iso(t), "sys": 133, "dia": 83})
    wait_for(lambda: count(conn, "bp_readings") == 1)
    with urllib.request.urlopen(f"http://127.0.0.1:{unused_tcp_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert "wellrate_ingest_readings_stored_total 1.0" in text
    assert "wellrate_ingest_lag_seconds_bucket" in text


def test_shared_subscription_splits_the_stream(
    ingest_settings: Settings,
    world: dict[str, str],
    publisher: Publisher,
    start_ingestor: StartIngestor,
    conn: psycopg.Connection[Any],
) -> None:
    group = ingest_settings.mqtt_topic_prefix
    a = start_ingestor(ingest_settings.model_copy(update={"mqtt_shared_group": group}))
    other_id = ingest_settings.mqtt_client_id + "-b"
    b = start_ingestor(
        ingest_settings.model_copy(update={"mqtt_shared_group": group, "mqtt_client_id": other_id})
    )
    t0 = datetime.now(UTC) - timedelta(days=1)
    publisher.send_many(
        [(world["cuff"], "bp", {"t": iso(t0 + timedelta(minutes=i)), "sys": 120, "dia": 80})
         for i in range(40)]
    )  # fmt: skip
    wait_for(lambda: count(conn, "bp_readings") == 40)
    assert a.wait_idle(5) and b.wait_idle(5)
    got = (a.stats()["received"], b.stats()["received"])
    assert sum(got) == 40 and min(got) > 0, got


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_reconnect_backoff_is_drawn_per_ingestor(settings: Settings) -> None:
    """Replicas cut off by one broker restart must not all retry in the same second."""
    import random

    from ingest.service import RECONNECT_MAX_S, RECONNECT_MIN_S, reconnect_delays

    draws = [reconnect_delays(random.Random(seed)) for seed in range(200)]
    firsts = sorted(d[0] for d in draws)
    assert all(RECONNECT_MIN_S[0] <= a <= RECONNECT_MIN_S[1] for a, _ in draws)
    assert all(RECONNECT_MAX_S[0] <= b <= RECONNECT_MAX_S[1] for _, b in draws)
    # Spread over the range, not a constant: a fleet's first retries land across a second.
    assert firsts[-1] - firsts[0] > 0.8 and len(set(firsts)) == len(firsts)
    # Each ingestor applies its own draw to its paho client.
    mins = set()
    for _ in range(5):
        ing = Ingestor(settings)
        mins.add(ing._client._reconnect_min_delay)
        assert RECONNECT_MIN_S[0] <= ing._client._reconnect_min_delay <= RECONNECT_MIN_S[1]
    assert len(mins) == 5
