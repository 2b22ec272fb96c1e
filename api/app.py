"""The FastAPI application: routers per audience, error rendering, body limit, pool lifecycle.

``create_app(settings)`` builds a fresh app; the connection pool is created closed and
opened in the lifespan (and closed there), so importing or building the app touches no
database. Every route except ``/health`` and ``/ready`` requires credentials: the
role-by-endpoint test in ``tests/api`` walks the route table and fails on any new route
that answers without them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, metrics
from api.admin.endpoints import router as admin_router
from api.auth.endpoints import router as auth_router
from api.clinic.endpoints import router as clinic_router
from api.dashboard import router as dashboard_router
from api.devices.endpoints import router as devices_router
from api.insurer.endpoints import router as insurer_router
from api.member.endpoints import router as member_router
from core import db, timescale
from core.settings import Settings

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/health", "/ready"})


class BodyGate:
    """Read and bound every request body before the application (and its pooled database
    connection) sees the request.

    Why (docs/threat-model.md, findings 5 and 12): an endpoint that borrows a connection
    and then waits for its body let twelve slow uploads hold every pooled connection, so
    everyone else got 503. Here the whole body is received first, within
    ``max_bytes`` (413: a declared length at once, a chunked body as soon as it passes)
    and ``timeout_s`` (408, and the connection is closed), with at most
    ``per_client`` bodies being received from one client address at a time (429); only
    then is the request, with its body replayed from memory, handed to the app. A client
    that hangs up mid-body is a client abort (no response, counted by ``api.metrics`` as
    499), never an error with a traceback.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float, per_client: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.per_client = per_client
        self._receiving: dict[str, int] = {}

    async def _refuse(
        self,
        send: Send,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(
            {
                "type": f"https://wellrate.example/problems/{status}",
                "title": title,
                "status": status,
                "detail": detail,
            }
        ).encode()
        extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", errors.PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"")
        too_big = f"request bodies are limited to {self.max_bytes} bytes"
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await self._refuse(send, 400, "Bad request", "malformed Content-Length")
                return
            if size > self.max_bytes:
                await self._refuse(send, 413, "Payload too large", too_big)
                return
            if size == 0:
                await self.app(scope, receive, send)
                return
        elif not chunked:
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "-"
        if self._receiving.get(client, 0) >= self.per_client:
            await self._refuse(
                send,
                429,
                "Too many requests",
                f"at most {self.per_client} request bodies from one client at a time",
                {"Retry-After": "1"},
            )
            return
        self._receiving[client] = self._receiving.get(client, 0) + 1
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                total = 0
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # a client abort: nobody to answer (api.metrics counts it)
                    chunk = message.get("body", b"")
                    total += len(chunk)
                    if total > self.max_bytes:
                        await self._refuse(send, 413, "Payload too large", too_big)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            log.info("request body not received within %ss; closing", self.timeout_s)
            await self._refuse(
                send,
                408,
                "Request timeout",
                f"the request body must arrive within {self.timeout_s:g} s",
            )
            return
        finally:
            left = self._receiving[client] - 1
            if left:
                self._receiving[client] = left
            else:
                del self._receiving[client]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` on every response, and ``Cache-Control:
    no-store`` on every response that does not set its own: sign-in answers carry tokens
    and most others health data, which no browser or proxy cache may keep (finding 13)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(b"x-content-type-options", b"nosniff")] * (
                    b"x-content-type-options" not in names
                ) + [(b"cache-control", b"no-store")] * (b"cache-control" not in names)
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class StaleCheck:
    """Pool check that pays a round trip only for connections idle a while.

    ``ConnectionPool.check_connection`` on every checkout cost about a fifth of the CPU
    of a simple request (bench/api_bench.py); a connection that finished a transaction
    less than ``after_s`` ago is taken as alive. If the server went away in that window,
    the request fails with 503 and the pool replaces the broken connection.
    """

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, conn: psycopg.Connection[Any]) -> None:
        last = self._returned.pop(conn, None)
        if last is None or time.monotonic() - last > self.after_s:
            ConnectionPool.check_connection(conn)

    def healthy(self, conn: psycopg.Connection[Any]) -> None:
        """Record that ``conn`` just completed a transaction."""
        self._returned[conn] = time.monotonic()


def _failing_jobs(conn: psycopg.Connection[Any]) -> list[dict[str, Any]] | str:
    """TimescaleDB jobs the scheduler fails; "unknown" when they cannot be read (readiness
    answers for the database, not for the job report)."""
    try:
        with conn.transaction():
            return timescale.failing_jobs(conn)
    except psycopg.Error as exc:
        log.warning("timescaledb job report unavailable: %s", type(exc).__name__)
        return "unknown"


def not_autocommit(conn: psycopg.Connection[Any]) -> None:
    """Pool reset: a pipelined request (``api.deps.transaction``) switched the connection to
    autocommit for its own BEGIN; the next borrower gets psycopg's implicit transactions."""
    conn.autocommit = False


def create_app(settings: Settings, *, freeze_gc: bool = False) -> FastAPI:
    """A new application bound to ``settings``; serve it with uvicorn (``wellrate serve``).

    ``freeze_gc``: see :func:`_lifespan` (the serving entry points set it; tests do not).
    """
    pool_check = StaleCheck(settings.api_pool_check_after_s)
    app = FastAPI(
        title="Wellrate API",
        version="0.1.0",
        description=(
            "Next-year premium quotes for insurers, patient views for clinics, standing for "
            "members. Send `Authorization: Bearer <token>`; errors are application/problem+json."
        ),
        lifespan=_lifespan(settings, pool_check, freeze_gc=freeze_gc),
        docs_url=None,  # served from the package's own copy of Swagger UI (_add_docs)
        redoc_url=None,  # ReDoc has no offline copy here; /docs covers the same document
        dependencies=[Depends(errors.refuse_nul)],  # NUL would reach psycopg: 500
    )
    app.state.settings = settings
    app.state.pool_check = pool_check
    batch_threads: list[threading.Thread] = []  # joined in the lifespan's shutdown
    app.state.batch_threads = batch_threads
    errors.install(app)
    errors.install_openapi(app)
    app.add_middleware(
        BodyGate,
        max_bytes=settings.api_max_body_bytes,
        timeout_s=settings.api_body_timeout_s,
        per_client=settings.api_client_max_bodies,
    )
    app.add_middleware(SecurityHeaders)  # outside the gate: its refusals get the headers too
    metrics.install(app, settings)  # outermost: counts refused and oversized requests too
    _add_ops_routes(app)
    _add_docs(app)
    for router in (
        auth_router,
        insurer_router,
        clinic_router,
        member_router,
        devices_router,
        admin_router,
        dashboard_router,
    ):
        app.include_router(router)
    return app


DOCS_ASSETS = "/docs-assets"


def _add_docs(app: FastAPI) -> None:
    """``/docs`` with Swagger UI served from this process (``swagger-ui-bundle-v2``), not a
    CDN: clinics run in closed networks, where the CDN page was blank."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def _lifespan(
    settings: Settings, pool_check: StaleCheck, *, freeze_gc: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the pool and the transaction threads at start-up; join and close at shutdown.

    ``freeze_gc``: once started, move every object that exists into the collector's
    permanent generation (``gc.freeze``). The routes, schemas and adapters built at import
    and start-up live as long as the process, yet every full collection walked them; under
    load those pauses were the slowest responses (bench/api_bench.py at 450 quotes/s, 4 runs
    each: max latency 155-211 ms -> 43-111 ms, median p99 ~70 -> ~29 ms). Unfrozen again at
    shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = ConnectionPool(
            db.without_jit(db.require_url(settings)),
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            open=False,
            name="wellrate-api",
            check=pool_check,
            reset=not_autocommit,
        )
        pool.open(wait=False)
        app.state.pool = pool
        # Threads for api.deps.in_transaction: one per pooled connection, since each holds
        # one for its whole run and a thread more would only wait in the pool.
        app.state.tx_threads = ThreadPoolExecutor(
            max_workers=settings.db_pool_max, thread_name_prefix="wellrate-tx"
        )
        if freeze_gc:
            gc.collect()  # garbage first, so nothing unreachable is frozen with the rest
            gc.freeze()
        try:
            yield
        finally:
            if freeze_gc:
                gc.unfreeze()
            app.state.tx_threads.shutdown(wait=True)
            for t in list(app.state.batch_threads):
                t.join(timeout=30)
            pool.close()

    return lifespan


def _add_ops_routes(app: FastAPI) -> None:
    """``/health`` and ``/ready``: the only routes that answer without credentials."""

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers. No credentials, no database."""
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"])
    def ready(request: Request) -> JSONResponse:
        """Readiness: the database answers; names any TimescaleDB policy job the background
        scheduler fails (docs/timescaledb.md), without its error text (this route is public)."""
        try:
            with request.app.state.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
                failing = _failing_jobs(conn)
        except Exception as exc:
            log.warning("not ready: %s", type(exc).__name__)
            return errors.problem(503, "Not ready", "the database is not reachable")
        body: dict[str, Any] = {"status": "ready"}
        if failing:
            body["timescale_jobs_failing"] = jsonable_encoder(failing)
        return JSONResponse(body)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker serving: settings from the environment."""
    from core.settings import get_settings

    return create_app(get_settings(), freeze_gc=True)
