"""All of ingest's SQL: stage a batch with COPY, attribute it, insert it, dead-letter the rest.

The caller owns the transaction (``with conn.transaction(): write_batch(...)``); nothing
here commits. Per batch:

1. COPY every accepted reading into a TEMP staging table per kind (plain COPY cannot skip
   duplicates, so it never touches the real tables);
2. ``INSERT ... SELECT`` from staging, joined to ``devices`` and to the binding whose
   interval contains the measurement time, in a savepoint; if that hits the natural key
   (a redelivery), the savepoint is rolled back and the same rows go in with ``ON CONFLICT
   DO NOTHING``: a redelivered reading is absorbed, not doubled;
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

from ingest.kinds.bp import BPReading
from ingest.kinds.glucose import GlucoseReading
from ingest.readings import Reading


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
      LEFT JOIN device_bindings b ON {bound}
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
# Per kind: (table, time column, the columns a staged reading fills).
_COLUMNS = {
    "bp": ("bp_readings", "measured_at",
           "device_id, measured_at, utc_offset_min, systolic, diastolic, pulse, validated"),
    "glucose": ("glucose_readings", "measured_at",
                "device_id, measured_at, utc_offset_min, value, unit, censored, method,"
                " meal_context"),
    "activity": ("activity_readings", "start_at",
                 "device_id, start_at, duration_s, utc_offset_min, steps, active_minutes,"
                 " vigorous_minutes, heart_rate"),
}  # fmt: skip
# The binding that held the device when the reading was taken (its [valid_from, valid_to)).
_BOUND_AT = (
    "b.device_id = s.device_id AND b.valid_from <= s.{t}"
    " AND (b.valid_to IS NULL OR s.{t} < b.valid_to)"
)


def _per_kind(sql: str) -> dict[str, str]:
    """``sql`` for each kind: its staging table, table, columns and binding predicate."""
    return {
        kind: sql.format(
            stage=f"stage_{kind}", table=table, columns=cols, bound=_BOUND_AT.format(t=t)
        )
        for kind, (table, t, cols) in _COLUMNS.items()
    }


_INSERT = _per_kind(_ATTRIBUTE_AND_INSERT)

# The fast path: a batch with no redelivered reading (nearly all of them) is inserted with
# inner joins and no ON CONFLICT, inside a savepoint. Speculative insertion and the
# accounting CTE above cost ~40% of the writer's time (bench/ingest_bench); a unique violation
# rolls the savepoint back and the batch takes the statement above instead, so redelivery
# stays harmless. Staged rows the inner joins left out are found by _ORPHANS.
_FAST_INSERT_SQL = """
INSERT INTO {table} ({columns}, member_id, ingested_at)
SELECT {columns}, member_id, clock_timestamp()
  FROM (SELECT s.*, b.member_id, d.validated
          FROM {stage} s
          JOIN devices d ON d.device_id = s.device_id
          JOIN device_bindings b ON {bound}) j
"""
_ORPHANS_SQL = """
SELECT s.msg, s.idx, d.device_id IS NOT NULL
  FROM {stage} s
  LEFT JOIN devices d ON d.device_id = s.device_id
 WHERE NOT EXISTS (SELECT 1 FROM device_bindings b WHERE {bound})
"""
_FAST_INSERT = _per_kind(_FAST_INSERT_SQL)
_ORPHANS = _per_kind(_ORPHANS_SQL)

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


def _rows(messages: Sequence[Sequence[Reading]]) -> dict[str, list[tuple[Any, ...]]]:
    """Staging rows by kind; ``msg``/``idx`` say which message and reading each came from."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for m, readings in enumerate(messages):
        for i, r in enumerate(readings):
            if isinstance(r, BPReading):
                out.setdefault("bp", []).append(
                    (m, i, r.device_id, r.measured_at, r.utc_offset_min, r.systolic,
                     r.diastolic, r.pulse)
                )  # fmt: skip
            elif isinstance(r, GlucoseReading):
                out.setdefault("glucose", []).append(
                    (m, i, r.device_id, r.measured_at, r.utc_offset_min, r.value, r.unit,
                     r.censored, r.method, r.meal_context)
                )  # fmt: skip
            else:
                out.setdefault("activity", []).append(
                    (m, i, r.device_id, r.measured_at, r.duration_s, r.utc_offset_min,
                     r.steps, r.active_minutes, r.vigorous_minutes, r.heart_rate)
                )  # fmt: skip
    return out


def write_readings(
    conn: psycopg.Connection[Any], messages: Sequence[Sequence[Reading]]
) -> BatchResult:
    """Stage, attribute and insert one batch inside the caller's transaction.

    ``messages[m]`` holds the accepted readings of message ``m``; an :class:`Unattributed`
    points back into it by (msg, index)."""
    by_kind = _rows(messages)
    if not by_kind:
        return BatchResult(0, 0, [])
    stored = 0
    eligible_total = 0
    orphans: list[Unattributed] = []
    conn.execute(_STAGING)
    with conn.cursor() as cur:
        for kind, rows in by_kind.items():
            with cur.copy(_COPY[kind]) as copy:
                copy.set_types(_COPY_TYPES[kind])
                for row in rows:
                    copy.write_row(row)
            try:
                with conn.transaction():  # a savepoint: see _FAST_INSERT
                    cur.execute(_FAST_INSERT[kind])
            except psycopg.errors.UniqueViolation:  # a redelivery: absorb it row by row
                found = cur.execute(_INSERT[kind]).fetchone()
                assert found is not None
                inserted, eligible, msgs, idxs, known = found
            else:
                inserted = eligible = cur.rowcount
                msgs, idxs, known = [], [], []
                if inserted < len(rows):
                    msgs, idxs, known = zip(*cur.execute(_ORPHANS[kind]).fetchall(), strict=True)
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
