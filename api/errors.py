"""Domain errors and the one place that renders every error as RFC 9457 problem+json.

Services raise :class:`ApiError` subclasses that say what went wrong in domain terms; the
handlers here turn them, FastAPI's validation errors, Starlette's HTTP errors and anything
unexpected into ``application/problem+json`` with ``type``, ``title``, ``status`` and
``detail`` (plus ``errors: [{field, message}]`` for validation). A client therefore parses
one error shape, whatever failed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://wellrate.example/problems/"


class ApiError(Exception):
    """Base of every error a service raises on purpose; rendered with its status."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = headers or {}


class InvalidInput(ApiError):
    """The request was well-formed but a field holds a value the domain refuses."""

    status = 422
    code = "invalid-input"
    title = "Invalid input"


class Unauthenticated(ApiError):
    """No credentials, or credentials that match no active principal."""

    status = 401
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str = "valid bearer credentials are required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="wellrate"'})


class Forbidden(ApiError):
    """The principal is known but its role or tenant does not allow this."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(ApiError):
    """The thing asked for does not exist (or is not visible to this principal)."""

    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(ApiError):
    """The request contradicts the stored state (duplicate name, overlapping binding)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class TooManyAttempts(ApiError):
    """Sign-in is locked for this account after repeated failures."""

    status = 429
    code = "too-many-attempts"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})


class PayloadTooLarge(ApiError):
    """The request body exceeds ``Settings.api_max_body_bytes``."""

    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class ServiceUnavailable(ApiError):
    """A dependency (the database, the pricing engine) is not available right now."""

    status = 503
    code = "unavailable"
    title = "Service unavailable"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str | None = None,
    errors: Sequence[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + (code or str(status)),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_path(loc: Sequence[int | str]) -> str:
    """``('body', 'rows', 3, 'birth_date')`` -> ``rows[3].birth_date``; query/path keep a prefix."""
    parts = list(loc)
    prefix = ""
    if parts and parts[0] in {"query", "path", "header"}:
        prefix = f"{parts[0]}."
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return prefix + (out or "body")


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem(
        exc.status, exc.title, exc.detail, code=exc.code, errors=exc.errors, headers=exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": field_path(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
        for e in exc.errors()
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem(
            400,
            "Malformed body",
            "the body is not valid JSON",
            code="malformed-body",
            errors=errors,
        )
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem(
        422, "Invalid input", f"invalid fields: {fields}", code="invalid-input", errors=errors
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return problem(exc.status_code, str(exc.detail), str(exc.detail), headers=headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return problem(
        500, "Internal error", "an unexpected error occurred; it has been logged", code="internal"
    )


def install(app: FastAPI) -> None:
    """Register the handlers: one per error family, all producing problem+json."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
