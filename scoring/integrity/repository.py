"""All of integrity's SQL: readings per member for a scan, flags and their review."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from core.db import Pending, text_array

Conn = psycopg.Connection[Any]


def activity(conn: Conn, t0: datetime, t1: datetime) -> dict[str, tuple[npt.NDArray[Any], ...]]:
    """member -> (start epoch s, utc offset, steps, heart rate or NaN), time-ordered.

    Whole seconds by floor, as scoring's loads: ``extract(...)::int8`` rounds, which put a
    reading at 23:59:59.6 local time on the next day."""
    rows = conn.execute(
        "SELECT member_id, floor(date_part('epoch', start_at))::int8, utc_offset_min, steps,"
        " heart_rate FROM activity_readings WHERE start_at >= %s AND start_at < %s"
        " ORDER BY member_id, start_at",
        (t0, t1),
    ).fetchall()
    return _split(rows, (np.int64, np.int16, np.int64, np.float64))


def bp_by_device(
    conn: Conn, t0: datetime, t1: datetime
) -> dict[tuple[str, str], tuple[npt.NDArray[Any], ...]]:
    """(member, device) -> (epoch s, offset, systolic, diastolic, pulse or NaN)."""
    rows = conn.execute(
        "SELECT member_id, device_id, floor(date_part('epoch', measured_at))::int8,"
        " utc_offset_min,"
        " systolic, diastolic, pulse FROM bp_readings WHERE measured_at >= %s"
        " AND measured_at < %s ORDER BY member_id, device_id, measured_at",
        (t0, t1),
    ).fetchall()
    grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for r in rows:
        grouped.setdefault((r[0], r[1]), []).append(r[2:])
    types = (np.int64, np.int16, np.float64, np.float64, np.float64)
    return {k: _columns(v, types) for k, v in grouped.items()}


def _columns(
    rows: Sequence[tuple[Any, ...]], types: tuple[Any, ...]
) -> tuple[npt.NDArray[Any], ...]:
    """Row tuples -> one array per column (None -> NaN)."""
    return tuple(
        np.array([np.nan if x is None else x for x in col], dtype=t)
        for col, t in zip(zip(*rows, strict=True), types, strict=True)
    )


def _split(
    rows: Sequence[tuple[Any, ...]], types: tuple[Any, ...]
) -> dict[str, tuple[npt.NDArray[Any], ...]]:
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        grouped.setdefault(r[0], []).append(r[1:])
    return {m: _columns(v, types) for m, v in grouped.items()}


def upsert_flag(
    conn: Conn,
    member_id: str,
    kind: str,
    source: str,
    start: date,
    end: date,
    evidence: dict[str, Any],
) -> bool:
    """True when the flag is new; an existing one (any status) keeps its review."""
    row = conn.execute(
        "INSERT INTO integrity_flags (member_id, kind, source, period_start, period_end,"
        " evidence) VALUES (%s, %s, %s, %s, %s, %s::jsonb)"
        " ON CONFLICT (member_id, kind, period_start) DO NOTHING RETURNING flag_id",
        (member_id, kind, source, start, end, json.dumps(evidence)),
    ).fetchone()
    return row is not None


def review(conn: Conn, flag_id: int, status: str, reviewer: str, note: str | None) -> bool:
    row = conn.execute(
        "UPDATE integrity_flags SET status = %s, reviewed_by = %s, reviewed_at = now(),"
        " review_note = %s WHERE flag_id = %s AND status = 'open' RETURNING flag_id",
        (status, reviewer, note, flag_id),
    ).fetchone()
    return row is not None


def flags_for(
    conn: Conn, member_ids: Sequence[str], statuses: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    return send_flags_for(conn, member_ids, statuses).result()


def _flags_by_member(cur: psycopg.Cursor[Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in cur:
        out.setdefault(r[0], []).append(
            {"flag_id": r[1], "kind": r[2], "start": r[3], "end": r[4], "status": r[5]}
        )
    return out


_FLAGS = (
    "SELECT member_id, flag_id, kind, period_start, period_end, status FROM integrity_flags"
    " WHERE member_id = ANY(%s::text[]) AND status = ANY(%s::text[])"
    " ORDER BY member_id, period_start"
)
_FLAGS_FOR_ONE = (
    "SELECT member_id, flag_id, kind, period_start, period_end, status FROM integrity_flags"
    " WHERE member_id = %s AND status = ANY(%s::text[]) ORDER BY member_id, period_start"
)


def send_flags_for(
    conn: Conn, member_ids: Sequence[str], statuses: Sequence[str]
) -> Pending[dict[str, list[dict[str, Any]]]]:
    """:func:`flags_for`, sent now and read later (pricing pipelines it with its reads)."""
    cur = conn.cursor()
    if len(member_ids) == 1:
        # One member (a single quote): plain equality, so the prepared statement's generic
        # plan is reused instead of re-planning an ANY() match each time (see
        # api.pricing.repository._for_one for the measurement).
        cur.execute(_FLAGS_FOR_ONE, (member_ids[0], text_array(statuses)))
    else:
        cur.execute(_FLAGS, (text_array(member_ids), text_array(statuses)))
    return Pending(cur, _flags_by_member)
