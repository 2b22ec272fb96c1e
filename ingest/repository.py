"""All of ingest's SQL: stage a batch with COPY, attribute it, insert it, dead-letter the rest.

The caller owns the transaction (``with conn.transaction(): write_batch(...)``); nothing
here commits. Per batch:

1. COPY every accepted reading into a TEMP staging table per kind (plain COPY cannot skip
   duplicates, so it never touches the real tables);
2. ``INSERT ... SELECT`` from staging, joined to ``devices`` and to the binding whose
   interval contains the measurement time, ``ON CONFLICT DO NOTHING`` on the natural key:
   a redelivered reading is absorbed, not doubled;
3. the staged rows with no device, or no binding at that instant, are returned and written
   to ``dead_letters`` (``unknown_device`` / ``unbound_device``) in the same transaction,
   together with the parser's rejections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ingest.readings import ActivityReading, BPReading, GlucoseReading, Reading


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead_letters row; ``payload`` is the raw message, capped by the caller."""

    topic: str
    device_id: str | None
    kind: str | None
    reason: str
    field: str | None
    detail: str
    payload: bytes
    payload_bytes: int
    truncated: bool
    received_at: datetime


@dataclass(slots=True)  # one per reading: not frozen, which costs ~3x in __init__
class StagedReading:
    """An accepted reading and the message it came from (``msg`` indexes the batch)."""

    msg: int
    index: int
    reading: Reading


@dataclass(frozen=True, slots=True)
class Unattributed:
    """A staged reading with no device, or no binding at its measurement time."""

    msg: int
    index: int
    reason: str  # unknown_device | unbound_device


@dataclass(frozen=True, slots=True)
class BatchResult:
    stored: int
    duplicates: int
    unattributed: list[Unattributed]


_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_bp (
    msg int, idx int, device_id text, measured_at timestamptz, utc_offset_min smallint,
    systolic smallint, diastolic smallint, pulse smallint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_glucose (
    msg int, idx int, device_id text, measured_at timestamptz, utc_offset_min smallint,
    value double precision, unit text, censored text, method text, meal_context text)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_activity (
    msg int, idx int, device_id text, start_at timestamptz, duration_s integer,
    utc_offset_min smallint, steps integer, active_minutes integer, vigorous_minutes integer,
    heart_rate smallint) ON COMMIT DELETE ROWS;
"""

# One statement per kind: attribute every staged reading (LEFT JOIN: the device, and the
# binding whose [valid_from, valid_to) contains the measurement time), insert the attributed
# ones (ON CONFLICT DO NOTHING: redelivery is absorbed), and return in one row how many
# were inserted, how many were attributable, and which staged rows were not (for
# dead_letters). ingested_at is clock_timestamp(), the instant the row was written (just
# before commit), so "publish -> stored" latency can be read off the table.
# Only the constants below are interpolated (table and column names), never input.
_ATTRIBUTE_AND_INSERT = """
WITH j AS MATERIALIZED (
    SELECT s.*, b.member_id, d.validated, d.device_id IS NOT NULL AS known
      FROM {stage} s
      LEFT JOIN devices d ON d.device_id = s.device_id
      LEFT JOIN device_bindings b
             ON b.device_id = s.device_id AND b.valid_from <= s.{t}
            AND (b.valid_to IS NULL OR s.{t} < b.valid_to)
), ins AS (
    INSERT INTO {table} ({columns}, member_id, ingested_at)
    SELECT {columns}, member_id, clock_timestamp() FROM j WHERE member_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int,
       (count(*) FILTER (WHERE member_id IS NOT NULL))::int,
       coalesce(array_agg(msg) FILTER (WHERE member_id IS NULL), '{{}}'),
       coalesce(array_agg(idx) FILTER (WHERE member_id IS NULL), '{{}}'),
       coalesce(array_agg(known) FILTER (WHERE member_id IS NULL), '{{}}')
  FROM j
"""
_INSERT = {
    "bp": _ATTRIBUTE_AND_INSERT.format(
        stage="stage_bp", t="measured_at", table="bp_readings",
        columns="device_id, measured_at, utc_offset_min, systolic, diastolic, pulse, validated",
    ),
    "glucose": _ATTRIBUTE_AND_INSERT.format(
        stage="stage_glucose", t="measured_at", table="glucose_readings",
        columns="device_id, measured_at, utc_offset_min, value, unit, censored, method,"
        " meal_context",
    ),
    "activity": _ATTRIBUTE_AND_INSERT.format(
        stage="stage_activity", t="start_at", table="activity_readings",
        columns="device_id, start_at, duration_s, utc_offset_min, steps, active_minutes,"
        " vigorous_minutes, heart_rate",
    ),
}  # fmt: skip

# Binary COPY: about twice as fast as text on the client (no per-value text formatting).
_COPY = {
    "bp": "COPY stage_bp (msg, idx, device_id, measured_at, utc_offset_min, systolic,"
    " diastolic, pulse) FROM STDIN (FORMAT BINARY)",
    "glucose": "COPY stage_glucose (msg, idx, device_id, measured_at, utc_offset_min, value,"
    " unit, censored, method, meal_context) FROM STDIN (FORMAT BINARY)",
    "activity": "COPY stage_activity (msg, idx, device_id, start_at, duration_s, utc_offset_min,"
    " steps, active_minutes, vigorous_minutes, heart_rate) FROM STDIN (FORMAT BINARY)",
}
_COPY_TYPES = {
    "bp": ["int4", "int4", "text", "timestamptz", "int2", "int2", "int2", "int2"],
    "glucose": ["int4", "int4", "text", "timestamptz", "int2", "float8", "text", "text",
                "text", "text"],
    "activity": ["int4", "int4", "text", "timestamptz", "int4", "int2", "int4", "int4", "int4",
                 "int2"],
}  # fmt: skip


def _row(s: StagedReading) -> tuple[Any, ...]:
    r = s.reading
    if isinstance(r, BPReading):
        return (s.msg, s.index, r.device_id, r.measured_at, r.utc_offset_min, r.systolic,
                r.diastolic, r.pulse)  # fmt: skip
    if isinstance(r, GlucoseReading):
        return (s.msg, s.index, r.device_id, r.measured_at, r.utc_offset_min, r.value, r.unit,
                r.censored, r.method, r.meal_context)  # fmt: skip
    return (s.msg, s.index, r.device_id, r.measured_at, r.duration_s, r.utc_offset_min, r.steps,
            r.active_minutes, r.vigorous_minutes, r.heart_rate)  # fmt: skip


def _kind(r: Reading) -> str:
    if isinstance(r, BPReading):
        return "bp"
    if isinstance(r, GlucoseReading):
        return "glucose"
    assert isinstance(r, ActivityReading)
    return "activity"


def write_readings(conn: psycopg.Connection[Any], staged: Sequence[StagedReading]) -> BatchResult:
    """Stage, attribute and insert one batch of readings inside the caller's transaction."""
    by_kind: dict[str, list[StagedReading]] = {}
    for s in staged:
        by_kind.setdefault(_kind(s.reading), []).append(s)
    stored = 0
    eligible_total = 0
    orphans: list[Unattributed] = []
    if not by_kind:
        return BatchResult(0, 0, [])
    conn.execute(_STAGING)
    with conn.cursor() as cur:
        for kind, rows in by_kind.items():
            with cur.copy(_COPY[kind]) as copy:
                copy.set_types(_COPY_TYPES[kind])
                for s in rows:
                    copy.write_row(_row(s))
            found = cur.execute(_INSERT[kind]).fetchone()
            assert found is not None
            inserted, eligible, msgs, idxs, known = found
            stored += inserted
            eligible_total += eligible
            orphans.extend(
                Unattributed(m, i, "unbound_device" if k else "unknown_device")
                for m, i, k in zip(msgs, idxs, known, strict=True)
            )
    return BatchResult(stored, eligible_total - stored, orphans)


def clear_staging(conn: psycopg.Connection[Any]) -> None:
    """Empty the staging tables before the commit does (per-message isolation path)."""
    conn.execute("DELETE FROM stage_bp; DELETE FROM stage_glucose; DELETE FROM stage_activity")


def insert_dead_letters(conn: psycopg.Connection[Any], rows: Sequence[DeadLetter]) -> int:
    """Write rejected messages/readings, each with its reason, in the caller's transaction."""
    if not rows:
        return 0
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY dead_letters (received_at, topic, device_id, kind, reason, field, detail,"
            " payload, payload_bytes, truncated) FROM STDIN"
        ) as copy,
    ):
        for d in rows:
            copy.write_row(
                (
                    d.received_at,
                    d.topic,
                    d.device_id,
                    d.kind,
                    d.reason,
                    d.field,
                    d.detail,
                    d.payload,
                    d.payload_bytes,
                    d.truncated,
                )
            )
    return len(rows)
