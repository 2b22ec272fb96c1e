"""SQL for ``audit_log`` (migration 0026) and its hash chain ``audit_chain`` (migration 0056)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import Pending

Conn = psycopg.Connection[Any]


def insert(
    conn: Conn,
    *,
    principal_id: int | None,
    role: str | None,
    tenant_id: str | None,
    action: str,
    member_id: str | None,
    outcome: str,
    detail: dict[str, Any],
) -> None:
    conn.execute(
        "INSERT INTO audit_log (principal_id, role, tenant_id, action, member_id, outcome, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (principal_id, role, tenant_id, action, member_id, outcome, Jsonb(detail)),
    )


_MEMBER_ACCESS = (
    "INSERT INTO audit_log (principal_id, role, tenant_id, action, member_id, outcome, detail)"
    " SELECT %(pid)s, %(role)s, %(tenant)s, %(action)s, %(member)s,"
    "  CASE WHEN m.member_id IS NULL THEN 'not_found'"
    "       WHEN %(role)s = 'admin'"
    "         OR (%(role)s = 'insurer' AND EXISTS (SELECT 1 FROM enrollments e"
    "             JOIN insurer_products p USING (product_id)"
    "             WHERE e.member_id = m.member_id AND p.insurer_id = %(tenant)s))"
    "         OR (%(role)s = 'clinic' AND m.clinic_id = %(tenant)s)"
    "         OR (%(role)s = 'member' AND m.member_id = %(tenant)s) THEN 'allowed'"
    "       ELSE 'denied' END, %(detail)s"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN members m ON m.member_id = %(member)s"
    " RETURNING outcome"
)
# The same, also answering which insurer runs a product: an insurer's request names both a
# product and a member, and one statement for the two checks is one fewer on its hot path.
_OWNER = ", (SELECT insurer_id FROM insurer_products WHERE product_id = %(product)s)"
_MEMBER_ACCESS_AND_OWNER = _MEMBER_ACCESS + _OWNER


def send_member_access(
    conn: Conn,
    *,
    principal_id: int,
    role: str,
    tenant_id: str | None,
    action: str,
    member_id: str,
    detail: dict[str, Any],
    product_id: str | None = None,
) -> Pending[tuple[str, str | None]]:
    """Decide whether this principal may see the member, and log the access; the outcome
    and, when ``product_id`` is given, the insurer running that product (else None), sent
    now and read later (``api.tenancy`` pipelines it).

    One statement instead of a lookup and an insert: the audit row is written on the hot
    path of every member-level request. The rule (docs/api.md, "Roles and tenancy"):
    admins see any member, an insurer only members enrolled in one of its products
    (``insurer_products``), a clinic only members whose clinic_id is its tenant, a member
    only themself.
    """
    cur = conn.cursor()
    cur.execute(
        _MEMBER_ACCESS if product_id is None else _MEMBER_ACCESS_AND_OWNER,
        {
            "pid": principal_id,
            "role": role,
            "tenant": tenant_id,
            "action": action,
            "member": member_id,
            "detail": Jsonb(detail),
            "product": product_id,
        },
    )
    return Pending(cur, _outcome)


def _outcome(cur: psycopg.Cursor[Any]) -> tuple[str, str | None]:
    row = cur.fetchone()
    assert row is not None
    return str(row[0]), None if len(row) < 2 or row[1] is None else str(row[1])


def insert_many(
    conn: Conn,
    *,
    principal_id: int,
    role: str,
    tenant_id: str | None,
    action: str,
    member_ids: list[str],
    detail: dict[str, Any],
) -> None:
    """One row per member in a single statement (a page of a list view)."""
    conn.execute(
        "INSERT INTO audit_log (principal_id, role, tenant_id, action, member_id, outcome, detail)"
        " SELECT %s, %s, %s, %s, m, 'allowed', %s FROM unnest(%s::text[]) AS m",
        (principal_id, role, tenant_id, action, Jsonb(detail), member_ids),
    )


def for_member(conn: Conn, member_id: str, limit: int = 100) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT audit_id, at, principal_id, role, tenant_id, action, member_id, outcome,"
            " detail FROM audit_log WHERE member_id = %s ORDER BY audit_id DESC LIMIT %s",
            (member_id, limit),
        ).fetchall()


# One link per row, chain by chain: the link as stored, and the hash of its audit row as
# the row is now (NULL when the row is gone). The migration's own function computes it, so
# the verifier and the trigger can never disagree on what a row's content is.
_LINKS = (
    "SELECT c.chain, c.seq, c.audit_id, c.prev_hash, c.content_hash, c.row_hash,"
    " CASE WHEN a.audit_id IS NULL THEN NULL ELSE audit_content_hash(a) END"
    " FROM audit_chain c LEFT JOIN audit_log a ON a.audit_id = c.audit_id"
    " ORDER BY c.chain, c.seq"
)

Link = tuple[int, int, int, bytes, bytes, bytes, bytes | None]


def chain_links(conn: Conn, *, batch: int = 10_000) -> Iterator[Link]:
    """Every link in chain order, streamed (a server-side cursor: the log grows without
    bound). Needs an open transaction."""
    with conn.cursor(name="audit_chain_walk") as cur:
        cur.itersize = batch
        cur.execute(_LINKS)
        for row in cur:
            yield (int(row[0]), int(row[1]), int(row[2]), bytes(row[3]), bytes(row[4]),
                   bytes(row[5]), None if row[6] is None else bytes(row[6]))  # fmt: skip


def unchained(conn: Conn) -> tuple[int, int | None]:
    """How many audit rows have no link, and the lowest audit_id among them."""
    row = conn.execute(
        "SELECT count(*), min(a.audit_id) FROM audit_log a"
        " WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.audit_id)"
    ).fetchone()
    assert row is not None
    return int(row[0]), None if row[1] is None else int(row[1])
