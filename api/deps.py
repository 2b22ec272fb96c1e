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

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from api.auth import service as auth_service
from api.auth.service import Principal
from api.errors import ServiceUnavailable, Unauthenticated
from core.errors import Forbidden
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


@contextlib.contextmanager
def transaction(request: Request, *, pipelined: bool = False) -> Iterator[Tx]:
    """The request's transaction: borrow, authenticate, yield, commit or roll back, return.

    Used by :func:`get_tx` (the dependency) and by :func:`in_transaction` (one thread hop).
    ``pipelined``: the whole transaction runs in pipeline mode and costs two waits fewer.
    psycopg's implicit BEGIN waits for its own answer, so the connection is switched to
    autocommit and sends its own BEGIN with the token read (one wait, not two); and the
    COMMIT is queued behind the work's writes, so leaving the pipeline sends them all in
    one wait (``conn.commit()`` in a pipeline waits, then leaving it waits again). The
    pool's reset (``api.app.not_autocommit``) switches autocommit off again on return.
    On loopback the two waits are invisible in the benchmark (and the CPU a wash); with
    the database one network hop away they are not: p50 ~0.8-1.3 ms lower at a 0.3-0.5 ms
    round trip (``bench/api_bench.py --db-delay-ms``, docs/api.md).
    """
    pool = get_pool(request)
    try:
        conn = pool.getconn(timeout=request.app.state.settings.api_db_wait_s)
    except Exception as exc:  # PoolTimeout, OperationalError: say so, as a 503
        log.warning("no database connection: %s", type(exc).__name__)
        raise ServiceUnavailable("the database is not available; retry shortly") from exc
    tx = Tx(conn)
    try:
        try:
            if pipelined:
                conn.autocommit = True  # before the pipeline: inside, the switch would sync
            with conn.pipeline() if pipelined else contextlib.nullcontext():
                if pipelined:
                    conn.execute("BEGIN")
                _authenticate(tx, request)
                yield tx
                if pipelined:
                    conn.execute("COMMIT")
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


def get_tx(request: Request) -> Iterator[Tx]:
    with transaction(request) as tx:
        yield tx


T = TypeVar("T")


async def in_transaction(
    request: Request, roles: tuple[str, ...], work: Callable[[Tx, Principal], T]
) -> T:
    """Run a whole request in one worker-thread hop: borrow, authenticate, check the role,
    work, commit (:func:`transaction`'s own commit then finds nothing left to do).

    Why: with ``TxDep`` a sync endpoint costs three hops (the dependency's entry, the
    endpoint, the dependency's exit), each a thread switch and a GIL hand-over; on the
    single-quote path that was a fifth of the server's CPU (bench/api_bench.py). The
    endpoint still declares :data:`BearerDep`, so a request without a token is refused
    with 401 before any thread or connection is taken, and the scheme shows in OpenAPI.
    """

    def run() -> T:
        # Pipeline mode from BEGIN to COMMIT: statements whose rows nobody reads (the
        # quote's inserts) travel with the COMMIT in one round trip. ``work`` must not COPY
        # (psycopg refuses COPY in a pipeline, loudly).
        with transaction(request, pipelined=True) as tx:
            return work(tx, _allowed(_principal(tx, request), roles))

    # The app's own executor rather than run_in_threadpool: anyio's per-call bookkeeping
    # (capacity limiter, cancel scope) cost ~55 us of CPU per hop under concurrency here.
    executor = request.app.state.tx_threads
    return await asyncio.get_running_loop().run_in_executor(executor, run)


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


def require_bearer(request: Request) -> None:
    """:func:`bearer_token`'s check without the dependency machinery (the quote hot path):
    401 unless ``Authorization`` carries a non-empty bearer token."""
    if _bearer(request) is None:
        raise Unauthenticated()


def _bearer(request: Request) -> str | None:
    """The bearer token in ``Authorization``, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate(tx: Tx, request: Request) -> None:
    """Resolve a bearer token on the connection just borrowed, in the same worker thread.

    Doing it here rather than in its own dependency saves a thread hop per request (see
    bench/api_bench.py); :func:`get_principal` then only reads the outcome.
    """
    token = _bearer(request)
    if token is None:
        return
    try:
        # In a pipelined transaction this read shares its wait with BEGIN (see transaction).
        tx.principal = auth_service.authenticate(tx.conn, token)
    except Unauthenticated as exc:
        tx.auth_error = exc


BearerDep = Annotated[str, Depends(bearer_token)]


def _principal(tx: Tx, request: Request) -> Principal:
    if tx.principal is None:
        raise tx.auth_error or Unauthenticated()
    request.state.principal = tx.principal
    return tx.principal


async def get_principal(_token: BearerDep, tx: TxDep, request: Request) -> Principal:
    """The authenticated caller; 401 without a bearer token (before any database work)."""
    return _principal(tx, request)


PrincipalDep = Annotated[Principal, Depends(get_principal, scope="function")]


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only principals whose role is one of ``roles``.

    Async on purpose: a pure check needs no worker thread (each hop costs latency).
    """

    async def check(principal: PrincipalDep) -> Principal:
        return _allowed(principal, roles)

    return check


def _allowed(principal: Principal, roles: tuple[str, ...]) -> Principal:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not call this endpoint")
    return principal
