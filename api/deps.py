"""Request-scoped dependencies: one transaction per request, and who is calling.

The transaction belongs to the request, not to services: :func:`get_tx` borrows a pooled
connection, yields it, and commits only when the endpoint returned normally (before the
response is sent, so a client never sees 200 for a write that then fails). On any error it
rolls back, then runs the writes registered in ``Tx.on_failure`` in their own short
transaction: a refused access is still written to the audit log, though the request's
own work is undone. ``Tx.after_commit`` callbacks (e.g. starting a batch job thread) run
only once the commit succeeded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from api.auth import service as auth_service
from api.auth.service import Principal
from api.errors import Forbidden, ServiceUnavailable, Unauthenticated
from core.settings import Settings

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]


@dataclass
class Tx:
    """The request's connection plus the work to run if it fails or after it commits."""

    conn: Conn
    principal: Principal | None = None
    auth_error: Unauthenticated | None = None
    on_failure: list[Callable[[Conn], None]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


def get_tx(request: Request) -> Iterator[Tx]:
    pool = get_pool(request)
    try:
        conn = pool.getconn(timeout=request.app.state.settings.api_db_wait_s)
    except Exception as exc:  # PoolTimeout, OperationalError: say so, as a 503
        log.warning("no database connection: %s", type(exc).__name__)
        raise ServiceUnavailable("the database is not available; retry shortly") from exc
    tx = Tx(conn)
    try:
        try:
            _authenticate(tx, request)
            yield tx
        except BaseException as exc:
            with contextlib.suppress(psycopg.Error):  # a dead connection cannot roll back
                conn.rollback()
            if tx.on_failure and not conn.closed:
                try:
                    for write in tx.on_failure:
                        write(conn)
                    conn.commit()
                except psycopg.Error as werr:
                    log.error("failure-path write failed: %s", type(werr).__name__)
                    conn.rollback()
            if isinstance(exc, psycopg.OperationalError):  # the server went away mid-request
                raise ServiceUnavailable("the database connection failed; retry") from exc
            raise
        try:
            conn.commit()
        except psycopg.OperationalError as exc:
            raise ServiceUnavailable("the database connection failed; retry") from exc
        request.app.state.pool_check.healthy(conn)
    finally:
        pool.putconn(conn)
    for callback in tx.after_commit:
        callback()


TxDep = Annotated[Tx, Depends(get_tx, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`wr_…` API token from an admin, or `ws_…` session from POST /auth/sessions",
)


async def bearer_token(
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> str:
    """The bearer token from ``Authorization``; 401 before any database work if absent."""
    if creds is None or not creds.credentials.strip():
        raise Unauthenticated()
    return creds.credentials.strip()


def _authenticate(tx: Tx, request: Request) -> None:
    """Resolve a bearer token on the connection just borrowed, in the same worker thread.

    Doing it here rather than in its own dependency saves a thread hop per request (see
    bench/api_bench.py); :func:`get_principal` then only reads the outcome.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return
    try:
        tx.principal = auth_service.authenticate(tx.conn, token.strip())
    except Unauthenticated as exc:
        tx.auth_error = exc


async def get_principal(
    _token: Annotated[str, Depends(bearer_token)], tx: TxDep, request: Request
) -> Principal:
    """The authenticated caller; 401 without a bearer token (before any database work)."""
    if tx.principal is None:
        raise tx.auth_error or Unauthenticated()
    request.state.principal = tx.principal
    return tx.principal


PrincipalDep = Annotated[Principal, Depends(get_principal, scope="function")]


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only principals whose role is one of ``roles``.

    Async on purpose: a pure check needs no worker thread (each hop costs latency).
    """

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not call this endpoint")
        return principal

    return check
