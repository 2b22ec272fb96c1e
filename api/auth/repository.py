"""SQL for ``api_principals``, ``api_sessions`` (migration 0025) and ``api_tokens`` (0051)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]


def insert_principal(
    conn: Conn,
    *,
    role: str,
    tenant_id: str | None,
    name: str,
    password_hash: str | None,
) -> int | None:
    """Insert a principal; None when the name is taken."""
    row = conn.execute(
        "INSERT INTO api_principals (role, tenant_id, name, password_hash)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING principal_id",
        (role, tenant_id, name, password_hash),
    ).fetchone()
    return int(row[0]) if row else None


def insert_token(
    conn: Conn, *, token_id: str, principal_id: int, token_hash: bytes, ttl_s: int
) -> datetime:
    row = conn.execute(
        "INSERT INTO api_tokens (token_id, principal_id, token_hash, expires_at)"
        " VALUES (%s, %s, %s, now() + make_interval(secs => %s)) RETURNING expires_at",
        (token_id, principal_id, token_hash, ttl_s),
    ).fetchone()
    assert row is not None
    expires: datetime = row[0]
    return expires


def principal_by_name(conn: Conn, name: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT principal_id, role, tenant_id, name FROM api_principals WHERE name = %s",
            (name,),
        ).fetchone()


def revoke_tokens(conn: Conn, principal_id: int, token_id: str | None = None) -> int:
    """Revoke the principal's live tokens (or only ``token_id``); how many."""
    return conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE principal_id = %s"
        " AND revoked_at IS NULL AND (%s::text IS NULL OR token_id = %s)",
        (principal_id, token_id, token_id),
    ).rowcount


def delete_sessions(conn: Conn, principal_id: int, session_id: str | None = None) -> int:
    """End the principal's sessions (or only ``session_id``); how many."""
    return conn.execute(
        "DELETE FROM api_sessions WHERE principal_id = %s"
        " AND (%s::text IS NULL OR session_id = %s)",
        (principal_id, session_id, session_id),
    ).rowcount


def credentials(conn: Conn, principal_id: int) -> list[dict[str, Any]]:
    """The principal's live tokens and sessions (never a secret or its hash)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT token_id AS credential_id, 'token' AS kind, created_at, expires_at"
            " FROM api_tokens WHERE principal_id = %(p)s AND revoked_at IS NULL"
            " AND expires_at > now()"
            " UNION ALL SELECT session_id, 'session', created_at, expires_at FROM api_sessions"
            " WHERE principal_id = %(p)s AND expires_at > now() ORDER BY created_at, credential_id",
            {"p": principal_id},
        ).fetchall()


def tenant_exists(conn: Conn, role: str, tenant_id: str) -> bool:
    """A clinic principal needs its clinic, a member principal its member record."""
    if role not in ("clinic", "member"):
        return True  # insurers are identified by their own id; admins have no tenant
    sql = {
        "clinic": "SELECT 1 FROM clinics WHERE clinic_id = %s",
        "member": "SELECT 1 FROM members WHERE member_id = %s",
    }[role]
    return conn.execute(sql, (tenant_id,)).fetchone() is not None


def principal_by_token_id(conn: Conn, token_id: str) -> dict[str, Any] | None:
    """The live (not revoked, not expired) token's principal, with the token's hash."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT p.principal_id, p.role, p.tenant_id, p.name, t.token_hash"
            " FROM api_tokens t JOIN api_principals p USING (principal_id)"
            " WHERE t.token_id = %s AND t.revoked_at IS NULL AND t.expires_at > now()"
            " AND p.disabled_at IS NULL",
            (token_id,),
        ).fetchone()


def principal_by_session(conn: Conn, session_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT p.principal_id, p.role, p.tenant_id, p.name, s.token_hash"
            " FROM api_sessions s JOIN api_principals p USING (principal_id)"
            " WHERE s.session_id = %s AND s.expires_at > now() AND p.disabled_at IS NULL",
            (session_id,),
        ).fetchone()


def principal_for_signin(conn: Conn, name: str) -> dict[str, Any] | None:
    """The row to check a password against, locked so concurrent guesses serialise."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT principal_id, role, tenant_id, name, password_hash, failed_signins,"
            " locked_until, now() AS now FROM api_principals"
            " WHERE name = %s AND disabled_at IS NULL FOR UPDATE",
            (name,),
        ).fetchone()


def record_failed_signin(
    conn: Conn, principal_id: int, *, max_failures: int, lockout_s: int, lockout_max_s: int
) -> dict[str, Any]:
    """Count a failure; from ``max_failures`` on, lock for lockout_s * 2^(extra failures)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "UPDATE api_principals SET failed_signins = failed_signins + 1,"
            " locked_until = CASE WHEN failed_signins + 1 >= %(max)s THEN now()"
            "   + make_interval(secs => least(%(cap)s::double precision,"
            "       %(base)s * power(2, failed_signins + 1 - %(max)s)))"
            "   ELSE locked_until END"
            " WHERE principal_id = %(pid)s RETURNING failed_signins, locked_until",
            {"max": max_failures, "cap": lockout_max_s, "base": lockout_s, "pid": principal_id},
        ).fetchone()
    assert row is not None
    return row


def reset_failed_signins(conn: Conn, principal_id: int) -> None:
    conn.execute(
        "UPDATE api_principals SET failed_signins = 0, locked_until = NULL WHERE principal_id = %s",
        (principal_id,),
    )


def insert_session(
    conn: Conn, *, session_id: str, principal_id: int, token_hash: bytes, ttl_s: int
) -> datetime:
    row = conn.execute(
        "INSERT INTO api_sessions (session_id, principal_id, token_hash, expires_at)"
        " VALUES (%s, %s, %s, now() + make_interval(secs => %s)) RETURNING expires_at",
        (session_id, principal_id, token_hash, ttl_s),
    ).fetchone()
    assert row is not None
    expires: datetime = row[0]
    return expires


def delete_expired_sessions(conn: Conn) -> int:
    return conn.execute("DELETE FROM api_sessions WHERE expires_at <= now()").rowcount


def client_blocked_for(conn: Conn, client: str) -> float | None:
    """Seconds this client address is still throttled for, or None."""
    row = conn.execute(
        "SELECT extract(epoch FROM blocked_until - now()) FROM api_signin_clients"
        " WHERE client = %s AND blocked_until > now()",
        (client,),
    ).fetchone()
    return None if row is None else float(row[0])


def record_client_failure(
    conn: Conn, client: str, *, max_failures: int, window_s: int, block_s: int
) -> None:
    """Count a failed sign-in from ``client`` in its current window; block it at the limit."""
    conn.execute(
        "INSERT INTO api_signin_clients AS c (client, failures) VALUES (%(c)s, 1)"
        " ON CONFLICT (client) DO UPDATE SET"
        "  failures = CASE WHEN c.window_start < now() - make_interval(secs => %(w)s)"
        "    THEN 1 ELSE c.failures + 1 END,"
        "  window_start = CASE WHEN c.window_start < now() - make_interval(secs => %(w)s)"
        "    THEN now() ELSE c.window_start END",
        {"c": client, "w": window_s},
    )
    conn.execute(
        "UPDATE api_signin_clients SET blocked_until = now() + make_interval(secs => %s),"
        " failures = 0, window_start = now() WHERE client = %s AND failures >= %s",
        (block_s, client, max_failures),
    )


def forget_client(conn: Conn, client: str) -> None:
    conn.execute("DELETE FROM api_signin_clients WHERE client = %s", (client,))


def set_password_hash(conn: Conn, principal_id: int, password_hash: str) -> None:
    conn.execute(
        "UPDATE api_principals SET password_hash = %s WHERE principal_id = %s",
        (password_hash, principal_id),
    )
