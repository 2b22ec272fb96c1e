"""SQL for ``consents`` (migration 0052). Other packages never read the table: they call
the database function ``consent_span`` in their own SQL, or :mod:`api.consent.service`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.multirange import Multirange

Conn = psycopg.Connection[Any]

_COLUMNS = (
    "consent_id, member_id, purpose, nullif(product_id, '') AS product_id, notice_version,"
    " given_at, withdrawn_at"
)

_GIVE = (
    "INSERT INTO consents (member_id, purpose, product_id, notice_version, given_at,"  # noqa: S608
    " recorded_by) VALUES (%s, %s, %s, %s, coalesce(%s, now()), %s) RETURNING " + _COLUMNS
)
_WITHDRAW = (
    "UPDATE consents SET withdrawn_at = greatest(now(), given_at) WHERE consent_id = %s"  # noqa: S608
    " AND member_id = %s AND withdrawn_at IS NULL RETURNING " + _COLUMNS
)


def for_member(conn: Conn, member_id: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM consents WHERE member_id = %s"  # noqa: S608 - constant
            " ORDER BY given_at, consent_id",
            (member_id,),
        ).fetchall()


def in_force(conn: Conn, member_id: str, purpose: str, product_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM consents WHERE member_id = %s AND purpose = %s"  # noqa: S608
            " AND product_id = %s AND withdrawn_at IS NULL FOR UPDATE",
            (member_id, purpose, product_id),
        ).fetchone()


def give(
    conn: Conn,
    *,
    member_id: str,
    purpose: str,
    product_id: str,
    notice_version: str,
    given_at: datetime | None = None,
    recorded_by: int | None = None,
) -> dict[str, Any]:
    """Record a consent given at ``given_at`` (now by default)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            _GIVE,
            (member_id, purpose, product_id, notice_version, given_at, recorded_by),
        ).fetchone()
    assert row is not None
    return row


def ensure(
    conn: Conn,
    *,
    member_ids: list[str],
    purpose: str,
    product_id: str,
    notice_version: str,
    given_at: datetime,
) -> None:
    """Record consents given at ``given_at`` unless one overlapping it exists (re-runs of the
    demo and of loaders that arrange a consenting cohort)."""
    conn.execute(
        "INSERT INTO consents (member_id, purpose, product_id, notice_version, given_at)"
        " SELECT m, %s, %s, %s, %s FROM unnest(%s::text[]) AS m ON CONFLICT DO NOTHING",
        (purpose, product_id, notice_version, given_at, member_ids),
    )


def withdraw(conn: Conn, member_id: str, consent_id: int) -> dict[str, Any] | None:
    """Withdraw the member's consent now; None when it is not theirs or not in force."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _WITHDRAW,
            (consent_id, member_id),
        ).fetchone()


def span(conn: Conn, member_id: str, purpose: str, product_id: str | None) -> Multirange[Any]:
    """The member's consent periods for the purpose (product None: any product)."""
    row = conn.execute(
        "SELECT consent_span(%s, %s, %s)", (member_id, purpose, product_id)
    ).fetchone()
    assert row is not None
    result: Multirange[Any] = row[0]
    return result


def product_exists(conn: Conn, product_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM insurer_products WHERE product_id = %s", (product_id,)
        ).fetchone()
        is not None
    )
