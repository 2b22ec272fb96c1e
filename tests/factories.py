"""Small helpers to arrange members, devices and bindings in a test database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg


def add_clinic(conn: psycopg.Connection[Any], clinic_id: str = "c1", name: str = "Clinic 1") -> str:
    conn.execute(
        "INSERT INTO clinics (clinic_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (clinic_id, name),
    )
    return clinic_id


# Consents the tests' members gave long before any data they hold (migration 0052).
CONSENTED_SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def add_consent(
    conn: psycopg.Connection[Any],
    member_id: str,
    purpose: str = "clinic_care",
    product_id: str = "",
    *,
    given_at: datetime = CONSENTED_SINCE,
    withdrawn_at: datetime | None = None,
) -> None:
    conn.execute(
        "INSERT INTO consents (member_id, purpose, product_id, notice_version, given_at,"
        " withdrawn_at) VALUES (%s, %s, %s, 'test-1', %s, %s)",
        (member_id, purpose, product_id, given_at, withdrawn_at),
    )


def add_member(
    conn: psycopg.Connection[Any],
    member_id: str,
    *,
    clinic_id: str | None = "c1",
    birth_date: date = date(1960, 1, 1),
    sex: str = "F",
    conditions: tuple[str, ...] = (),
    consent: bool = True,
) -> str:
    """A member who consented to clinic care (``consent``) since :data:`CONSENTED_SINCE`."""
    if clinic_id:
        add_clinic(conn, clinic_id)
    conn.execute(
        "INSERT INTO members (member_id, clinic_id, birth_date, sex, conditions)"
        " VALUES (%s, %s, %s, %s, %s)",
        (member_id, clinic_id, birth_date, sex, list(conditions)),
    )
    if consent:
        add_consent(conn, member_id)
    return member_id


def add_device(
    conn: psycopg.Connection[Any],
    device_id: str,
    device_type: str = "bp_cuff",
    *,
    validated: bool = True,
) -> str:
    conn.execute(
        "INSERT INTO devices (device_id, device_type, validated) VALUES (%s, %s, %s)",
        (device_id, device_type, validated),
    )
    return device_id


def bind(
    conn: psycopg.Connection[Any],
    device_id: str,
    member_id: str,
    valid_from: datetime,
    valid_to: datetime | None = None,
) -> None:
    conn.execute(
        "INSERT INTO device_bindings (device_id, member_id, valid_from, valid_to)"
        " VALUES (%s, %s, %s, %s)",
        (device_id, member_id, valid_from, valid_to),
    )
