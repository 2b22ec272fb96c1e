"""SQL for the clinic's uploads of measurements taken outside the devices (migration 0061)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def insert_lab_results(
    conn: Conn,
    member_id: str,
    clinic_id: str | None,
    uploaded_by: str,
    rows: Sequence[tuple[str, float, str, datetime]],
) -> int:
    """Store (LOINC, value, unit, taken_at) rows; a result already stored for the same test
    and time is kept as it was (an upload repeated is not a second result). Returns how
    many were new."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO lab_results (member_id, loinc, value, unit, taken_at, clinic_id,"
            " uploaded_by) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(member_id, c, v, u, t, clinic_id, uploaded_by) for c, v, u, t in rows],
        )
        return max(cur.rowcount, 0)


def insert_dispensings(
    conn: Conn,
    member_id: str,
    clinic_id: str | None,
    uploaded_by: str,
    rows: Sequence[tuple[str, date, int]],
) -> int:
    """Store (drug class, dispensed on, days' supply) fills; returns how many were new."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO dispensings (member_id, drug_class, dispensed_on, days_supply,"
            " clinic_id, uploaded_by) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(member_id, c, d, n, clinic_id, uploaded_by) for c, d, n in rows],
        )
        return max(cur.rowcount, 0)
