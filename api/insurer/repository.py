"""The insurer context's own SQL: assigning a product to an insurer, and which members are
in its book. (Who runs a product, the tenancy gate's question, is ``api.tenancy.repository``.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def assign_product(conn: Conn, insurer_id: str, product_id: str) -> bool:
    """True when assigned (or already this insurer's); False when another insurer runs it."""
    row = conn.execute(
        "INSERT INTO insurer_products (product_id, insurer_id) VALUES (%s, %s)"
        " ON CONFLICT (product_id) DO UPDATE SET insurer_id = insurer_products.insurer_id"
        " RETURNING insurer_id",
        (product_id, insurer_id),
    ).fetchone()
    return row is not None and row[0] == insurer_id


def members_outside_book(conn: Conn, insurer_id: str, member_ids: Sequence[str]) -> list[str]:
    """Those of ``member_ids`` not enrolled in any product of this insurer."""
    rows = conn.execute(
        "SELECT m FROM unnest(%s::text[]) AS u(m) WHERE NOT EXISTS ("
        " SELECT 1 FROM enrollments e JOIN insurer_products p USING (product_id)"
        " WHERE e.member_id = u.m AND p.insurer_id = %s)",
        (list(member_ids), insurer_id),
    ).fetchall()
    return [r[0] for r in rows]


def pricing_consent(conn: Conn, insurer_id: str, member_id: str) -> Any:
    """The member's insurer-pricing consent periods for any of this insurer's products (a
    multirange; the consent rule of migration 0052)."""
    row = conn.execute(
        "SELECT coalesce(range_agg(r), '{}'::tstzmultirange) FROM insurer_products p,"
        " unnest(consent_span(%s, 'insurer_pricing', p.product_id)) AS u(r)"
        " WHERE p.insurer_id = %s",
        (member_id, insurer_id),
    ).fetchone()
    assert row is not None
    return row[0]


def not_enrollable(conn: Conn, insurer_id: str, pairs: Sequence[tuple[str, str]]) -> list[int]:
    """Positions of the (member, product) pairs this insurer may not enroll: the member has
    no insurer-pricing consent in force for the product (migration 0052) and is not in the
    insurer's book already. A member id that does not exist is simply one of them."""
    rows = conn.execute(
        "SELECT u.i - 1 FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(m, p, i)"
        " WHERE NOT (now() <@ consent_span(u.m, 'insurer_pricing', u.p) OR EXISTS ("
        "  SELECT 1 FROM enrollments e JOIN insurer_products ip USING (product_id)"
        "   WHERE e.member_id = u.m AND ip.insurer_id = %s)) ORDER BY u.i",
        ([m for m, _ in pairs], [p for _, p in pairs], insurer_id),
    ).fetchall()
    return [int(r[0]) for r in rows]
