"""Prometheus ``/metrics`` for the API: requests and latency by route template and status.

Labels are the route *template* (``/clinic/patients/{member_id}``), never the concrete
path, so no member id, device id or quote id ever reaches a label (it would also explode
the series count). A request that matched no route is labelled ``unmatched``.

The endpoint is not in the OpenAPI document (it is operations, not product) and answers
only to Prometheus: with ``WELLRATE_API_METRICS_TOKEN`` set, a request must carry
``Authorization: Bearer <that token>`` (Prometheus ``authorization: {credentials_file:
…}``); without it, only loopback clients are served. It carries no personal data either
way, but route timings and error rates are still nobody else's business.

Each app gets its own :class:`CollectorRegistry`, so several apps in one process (tests,
``uvicorn --workers`` runs one per process anyway) never collide.
"""

from __future__ import annotations

import hmac
import logging
import time

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from core.settings import Settings

log = logging.getLogger(__name__)

PATH = "/metrics"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LOOPBACK = frozenset({"127.0.0.1", "::1"})
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApiMetrics:
    """The API's collectors, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "wellrate_api_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.client_aborts = Counter(
            "wellrate_api_client_aborts",
            "Requests the client hung up on before any response (counted as status 499)",
            ["method", "route"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wellrate_api_request_seconds",
            "Time from request to the start of the response, by method and route template",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )


class RequestMetrics:
    """ASGI middleware: time each HTTP request and count it under its route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes before a response is a server error
        elapsed: float | None = None
        responded = hung_up = False

        async def recording_send(message: Message) -> None:
            nonlocal status, elapsed, responded
            if message["type"] == "http.response.start":
                status = int(message["status"])
                elapsed = time.perf_counter() - started
                responded = True
            await send(message)

        async def watching_receive() -> Message:
            nonlocal hung_up
            message = await receive()
            hung_up = hung_up or message["type"] == "http.disconnect"
            return message

        try:
            await self.app(scope, watching_receive, recording_send)
        except Exception:
            if not (hung_up and not responded):
                raise
            # The client left mid-request and the app tripped over it: an abort, not a 500.
        finally:
            method = scope.get("method", "GET")
            method = method if method in _METHODS else "other"
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if hung_up and not responded:
                status = 499  # nginx's "client closed request"
                log.info("client closed the connection before the response: %s %s", method, route)
            if status == 499:  # here, or api.errors' handler for a disconnect mid-read
                self.metrics.client_aborts.labels(method, route).inc()
            self.metrics.requests.labels(method, route, str(status)).inc()
            took = elapsed if elapsed is not None else time.perf_counter() - started
            self.metrics.latency.labels(method, route).observe(took)


def _allowed(request: Request, settings: Settings) -> bool:
    token = settings.api_metrics_token
    if token is None:
        return request.client is not None and request.client.host in _LOOPBACK
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


def install(app: FastAPI, settings: Settings) -> ApiMetrics:
    """Add the middleware (outermost, so refused and oversized requests count) and the route."""
    metrics = ApiMetrics()
    app.state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)

    async def serve_metrics(request: Request) -> Response:
        if not _allowed(request, settings):
            return errors.problem(403, "Forbidden", "metrics are for the monitoring system only")
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_route(PATH, serve_metrics, methods=["GET"], include_in_schema=False)
    return metrics
