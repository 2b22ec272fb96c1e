"""SQL for ``clinics``, ``members``, ``devices``, ``device_bindings`` (migration 0001) and
``device_transfers`` (migration 0050).

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


def upsert_clinic(conn: Conn, clinic_id: str, name: str, name_zh: str | None = None) -> bool:
    """Create or rename a clinic; True when it was created."""
    row = conn.execute(
        "INSERT INTO clinics (clinic_id, name, name_zh) VALUES (%s, %s, %s)"
        " ON CONFLICT (clinic_id) DO UPDATE SET name = EXCLUDED.name,"
        " name_zh = coalesce(EXCLUDED.name_zh, clinics.name_zh) RETURNING xmax = 0",
        (clinic_id, name, name_zh),
    ).fetchone()
    return bool(row and row[0])


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
    clinic_id: str | None = None,
) -> bool:
    """Register a device owned by ``clinic_id``; False when the id is already registered.

    Never changes an existing device: re-registering one must not silently rewrite its
    type, model, validation status or owner (docs/threat-model.md, finding 1).
    """
    row = conn.execute(
        "INSERT INTO devices (device_id, device_type, model, validated, clinic_id)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO NOTHING RETURNING 1",
        (device_id, device_type, model, validated, clinic_id),
    ).fetchone()
    return row is not None


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
    """The device with ``owner``: its clinic, or, for a device registered without one, the
    clinic of the member its open binding belongs to (NULL: only an admin manages it), and
    ``bound_clinic``, the clinic of the member its open binding belongs to."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT d.device_id, d.device_type, d.model, d.validated, d.registered_at,"
            " d.clinic_id, coalesce(d.clinic_id, m.clinic_id) AS owner, m.clinic_id AS bound_clinic"
            " FROM devices d LEFT JOIN device_bindings b"
            "  ON b.device_id = d.device_id AND b.valid_to IS NULL"
            " LEFT JOIN members m ON m.member_id = b.member_id"
            " WHERE d.device_id = %s",
            (device_id,),
        ).fetchone()


def set_owner(conn: Conn, device_id: str, clinic_id: str | None) -> None:
    conn.execute("UPDATE devices SET clinic_id = %s WHERE device_id = %s", (clinic_id, device_id))


def offer_transfer(
    conn: Conn, device_id: str, from_clinic: str | None, to_clinic: str, by: int
) -> dict[str, Any]:
    """A pending transfer offer (replacing an earlier pending one for the same device)."""
    conn.execute(
        "UPDATE device_transfers SET cancelled_at = now() WHERE device_id = %s"
        " AND accepted_at IS NULL AND cancelled_at IS NULL",
        (device_id,),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "INSERT INTO device_transfers (device_id, from_clinic, to_clinic, offered_by)"
            " VALUES (%s, %s, %s, %s) RETURNING transfer_id, device_id, from_clinic, to_clinic,"
            " offered_at, accepted_at",
            (device_id, from_clinic, to_clinic, by),
        ).fetchone()
    assert row is not None
    return row


def pending_transfer(conn: Conn, device_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT transfer_id, device_id, from_clinic, to_clinic, offered_at, accepted_at"
            " FROM device_transfers WHERE device_id = %s AND accepted_at IS NULL"
            " AND cancelled_at IS NULL FOR UPDATE",
            (device_id,),
        ).fetchone()


def accept_transfer(conn: Conn, transfer_id: int, by: int) -> dict[str, Any]:
    """Accept: the device changes owner and leaves its current patient (the open binding
    closes now), so no reading taken from here on lands in the old clinic's record."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "UPDATE device_transfers SET accepted_at = now(), accepted_by = %s"
            " WHERE transfer_id = %s RETURNING transfer_id, device_id, from_clinic, to_clinic,"
            " offered_at, accepted_at",
            (by, transfer_id),
        ).fetchone()
    assert row is not None
    conn.execute(
        "UPDATE device_bindings SET valid_to = greatest(%s, valid_from + interval '1 second')"
        " WHERE device_id = %s AND valid_to IS NULL",
        (row["accepted_at"], row["device_id"]),
    )
    set_owner(conn, row["device_id"], row["to_clinic"])
    return row


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
