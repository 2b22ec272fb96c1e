"""What one batch writes, against real PostgreSQL: readings, and a dead letter for the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import psycopg

from ingest import batches
from ingest.parsing import Limits, parse_message
from tests import factories

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_payload_bytes=4096, max_future_skew_s=600, max_age_days=400)
T = "2026-06-01T18:30:00+08:00"


def _message(device: str, kind: str, doc: Any, mid: int) -> tuple[batches.Message, Any]:
    payload = json.dumps(doc).encode()
    topic = f"wearables/{device}/{kind}"
    parsed = parse_message(topic, payload, NOW, "wearables", LIMITS)
    return batches.Message(mid, 1, topic, payload, NOW, 1), parsed


def test_readings_are_stored_and_everything_else_is_a_dead_letter_with_its_reason(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    factories.add_member(conn, "m-a")
    factories.add_device(conn, "cuff")
    factories.add_device(conn, "spare")  # registered, never bound
    factories.bind(conn, "cuff", "m-a", datetime(2026, 1, 1, tzinfo=UTC))
    batch = [
        _message("cuff", "bp", [{"t": T, "sys": 120, "dia": 80}, {"t": T, "sys": 20}], 1),
        _message("spare", "bp", {"t": T, "sys": 130, "dia": 85}, 2),
        _message("ghost", "bp", {"t": T, "sys": 130, "dia": 85}, 3),
    ]
    with psycopg.connect(db_url, autocommit=True) as writer, writer.transaction():
        result, dead = batches.write(writer, batch, cap=10)
    assert (result.stored, result.duplicates) == (1, 0)
    rows = conn.execute(
        "SELECT device_id, reason, field, payload_bytes, truncated, length(payload)"
        " FROM dead_letters ORDER BY device_id"
    ).fetchall()
    assert [r[:3] for r in rows] == [
        ("cuff", "missing_field", "/1/dia"),
        ("ghost", "unknown_device", ""),
        ("spare", "unbound_device", ""),
    ]
    assert all(r[4] and r[5] == 10 and r[3] > 10 for r in rows)  # payload cut to the cap
    assert sorted(d.reason for d in dead) == ["missing_field", "unbound_device", "unknown_device"]
    assert conn.execute("SELECT count(*) FROM bp_readings").fetchone() == (1,)
