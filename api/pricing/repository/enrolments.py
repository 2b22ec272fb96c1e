"""Insurers' uploads: enrolments in a product for a plan year, and hospitalisation claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from api.pricing.repository import Conn
from core.db import text_array


def existing_members(conn: Conn, member_ids: Sequence[str]) -> set[str]:
    """Those of ``member_ids`` that exist (an upload naming others is refused)."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT member_id FROM members WHERE member_id = ANY(%s::text[])",
            (text_array(member_ids),),
        )
    }


def upsert_enrollments(
    conn: Conn, rows: Sequence[tuple[str, str, int, date, int | None, str | None]]
) -> int:
    """(member, product, plan year, enrolled on, premium paid in fen, product version)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO enrollments (member_id, product_id, plan_year, enrolled_on,"
            " premium_paid_fen, product_version) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (member_id, product_id, plan_year) DO UPDATE SET"
            " enrolled_on = EXCLUDED.enrolled_on,"
            " premium_paid_fen = coalesce(EXCLUDED.premium_paid_fen, enrollments.premium_paid_fen),"
            " product_version = coalesce(EXCLUDED.product_version, enrollments.product_version),"
            " received_at = now()",
            rows,
        )
    return len(rows)


def upsert_claims(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> int:
    """(claim_id, member_id, admitted_on, discharged_on, amount_yuan, diagnosis)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, discharged_on,"
            " amount_yuan, diagnosis) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (claim_id) DO UPDATE SET member_id = EXCLUDED.member_id,"
            " admitted_on = EXCLUDED.admitted_on, discharged_on = EXCLUDED.discharged_on,"
            " amount_yuan = EXCLUDED.amount_yuan, diagnosis = EXCLUDED.diagnosis,"
            " received_at = now()",
            rows,
        )
    return len(rows)
