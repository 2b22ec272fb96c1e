"""SQL for ``clinics``, ``members``, ``devices`` and ``device_bindings`` (migration 0001).

Other parts (the demo, the simulator's loaders, tests) call these to arrange identities,
so every function is idempotent where the table allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]


def upsert_clinic(conn: Conn, clinic_id: str, name: str, name_zh: str | None = None) -> None:
    conn.execute(
        "INSERT INTO clinics (clinic_id, name, name_zh) VALUES (%s, %s, %s)"
        " ON CONFLICT (clinic_id) DO UPDATE SET name = EXCLUDED.name,"
        " name_zh = coalesce(EXCLUDED.name_zh, clinics.name_zh)",
        (clinic_id, name, name_zh),
    )


def upsert_member(
    conn: Conn,
    member_id: str,
    *,
    clinic_id: str | None,
    birth_date: date,
    sex: str,
    conditions: Sequence[str],
    display_name: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO members (member_id, clinic_id, birth_date, sex, conditions, display_name)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (member_id) DO UPDATE SET clinic_id = EXCLUDED.clinic_id,"
        " birth_date = EXCLUDED.birth_date, sex = EXCLUDED.sex,"
        " conditions = EXCLUDED.conditions,"
        " display_name = coalesce(EXCLUDED.display_name, members.display_name)",
        (member_id, clinic_id, birth_date, sex, list(conditions), display_name),
    )


def register_device(
    conn: Conn,
    device_id: str,
    device_type: str,
    *,
    model: str | None = None,
    validated: bool = True,
) -> None:
    conn.execute(
        "INSERT INTO devices (device_id, device_type, model, validated) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (device_id) DO UPDATE SET device_type = EXCLUDED.device_type,"
        " model = coalesce(EXCLUDED.model, devices.model), validated = EXCLUDED.validated",
        (device_id, device_type, model, validated),
    )


def bind_device(conn: Conn, device_id: str, member_id: str, valid_from: datetime) -> int:
    """Close the device's open binding at ``valid_from`` and open a new one; its id.

    Raises psycopg's CheckViolation when ``valid_from`` is not after the open binding's
    start, and ExclusionViolation when it overlaps a later, closed binding.
    """
    conn.execute(
        "UPDATE device_bindings SET valid_to = %s WHERE device_id = %s AND valid_to IS NULL",
        (valid_from, device_id),
    )
    row = conn.execute(
        "INSERT INTO device_bindings (device_id, member_id, valid_from) VALUES (%s, %s, %s)"
        " RETURNING binding_id",
        (device_id, member_id, valid_from),
    ).fetchone()
    assert row is not None
    return int(row[0])


def get_device(conn: Conn, device_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT device_id, device_type, model, validated, registered_at FROM devices"
            " WHERE device_id = %s",
            (device_id,),
        ).fetchone()


def open_binding(conn: Conn, device_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT binding_id, member_id, valid_from FROM device_bindings"
            " WHERE device_id = %s AND valid_to IS NULL",
            (device_id,),
        ).fetchone()


def member_clinic(conn: Conn, member_id: str) -> tuple[bool, str | None]:
    """(exists, clinic_id) for a member: the tenancy check's one lookup."""
    row = conn.execute(
        "SELECT clinic_id FROM members WHERE member_id = %s", (member_id,)
    ).fetchone()
    return (row is not None, row[0] if row else None)


def clinic_exists(conn: Conn, clinic_id: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM clinics WHERE clinic_id = %s", (clinic_id,)).fetchone()
        is not None
    )
