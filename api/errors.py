"""The errors only HTTP has, and the one place that renders every error as RFC 9457 problem+json.

Services raise :class:`core.errors.DomainError` subclasses that say what went wrong in
domain terms (a transport-free base, so pricing and the CLIs need nothing from here); the
few that exist only over HTTP (:class:`Unauthenticated` with its ``WWW-Authenticate``
header, rate limits, body limits, an unavailable pool) are :class:`ApiError` subclasses
here. The handlers turn all of them, FastAPI's validation errors, Starlette's HTTP errors
and anything unexpected into ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail`` (plus ``errors: [{field, message}]`` naming each field). A client
therefore parses one error shape, whatever failed.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from core.errors import DomainError, FieldError, InvalidInput

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://wellrate.example/problems/"


class ApiError(DomainError):
    """An error that exists only over HTTP; it may carry response headers."""

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, errors=errors)
        self.headers = headers or {}


class Unauthenticated(ApiError):
    """No credentials, or credentials that match no active principal."""

    status = 401
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str = "valid bearer credentials are required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="wellrate"'})


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
    errors: Sequence[FieldError] | None = None,
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


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = exc.headers if isinstance(exc, ApiError) else {}
    return problem(
        exc.status, exc.title, exc.detail, code=exc.code, errors=exc.errors, headers=headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[FieldError] = [
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


_NUL = "\x00"
_NUL_ESCAPED = "\\u0000"
_NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _nul_path(value: Any) -> tuple[int | str, ...] | None:
    """The location of the first string (value or key) holding NUL in decoded JSON, or None.

    Iterative, so a deeply nested body cannot exhaust the stack here.
    """
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), value)]
    while stack:
        loc, v = stack.pop()
        if isinstance(v, str):
            if _NUL in v:
                return loc
        elif isinstance(v, dict):
            for k, item in v.items():
                if _NUL in k:
                    return (*loc, k)  # _nul_error shows the NUL escaped
                stack.append(((*loc, k), item))
        elif isinstance(v, list):
            stack.extend(((*loc, i), item) for i, item in enumerate(v))
    return None


def _nul_error(field: str) -> InvalidInput:
    field = field.replace(_NUL, _NUL_ESCAPED)  # a NUL in a name is shown as its JSON escape
    return InvalidInput(
        f"invalid fields: {field}", errors=[{"field": field, "message": _NUL_MESSAGE}]
    )


def _basic_has_nul(authorization: str) -> bool:
    """Whether ``Basic <base64>`` credentials decode to a name or password holding NUL."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        return b"\x00" in base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):  # malformed: the Basic dependency answers 401
        return False


async def refuse_nul(request: Request) -> None:
    """422 naming the field when a path, query, header or JSON body string holds NUL (U+0000).

    PostgreSQL text cannot store NUL, and psycopg refuses it with ``DataError`` at the
    moment a query is sent, deep inside a service: every text field of every endpoint
    would answer 500 (found by schemathesis, docs/faults.md). Installed once as an
    app-wide dependency, so it runs before any database work and covers new endpoints.
    Headers count too: HTTP servers refuse a raw NUL in a header, but the name in
    ``Authorization: Basic`` is base64 and reaches the sign-in query decoded.
    JSON is decoded here only when the raw body holds the ``\\u0000`` escape (a raw NUL
    byte is not valid JSON and is refused by the parser); CSV uploads are checked row by
    row in ``api.insurer.uploads``, which can name the line.
    """
    for name, value in request.path_params.items():
        if isinstance(value, str) and _NUL in value:
            raise _nul_error(f"path.{name}")
    for name, value in request.query_params.multi_items():
        if _NUL in value or _NUL in name:
            raise _nul_error(f"query.{name}")
    for raw_name, raw_value in request.headers.raw:
        if b"\x00" in raw_value or b"\x00" in raw_name:
            raise _nul_error(f"header.{raw_name.decode('latin-1')}")
    if _basic_has_nul(request.headers.get("authorization", "")):
        raise _nul_error("header.authorization")
    if request.method in _NO_BODY_METHODS:
        return
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return
    body = await request.body()  # cached on the request: the endpoint does not read twice
    if b"\\u0000" not in body:
        return
    try:
        loc = _nul_path(json.loads(body))
    except (ValueError, RecursionError):  # not JSON: the endpoint's own parsing says so
        return
    if loc is not None:
        raise _nul_error(field_path(("body", *loc)))


_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details: the one error shape of this API.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _document_problems(doc: dict[str, Any]) -> None:
    """Declare every error response as problem+json in a generated OpenAPI document.

    FastAPI documents its own ``422 application/json HTTPValidationError``, which this API
    never sends; the handlers above render every error as problem+json. Each operation's
    422 is replaced, other declared errors get the problem body, and ``4XX``/``5XX``
    ranges are added, so a client generated from the
    document (and schemathesis) expects what is really sent.
    """
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
    for ops in doc.get("paths", {}).values():
        for op in ops.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            if "422" in responses:
                responses["422"] = {"description": "Invalid input", "content": content}
            for status, response in responses.items():  # declared by an endpoint, e.g. 401
                if status[:1] in {"4", "5"}:
                    response["content"] = content
            responses.setdefault("4XX", {"description": "Client error", "content": content})
            responses.setdefault("5XX", {"description": "Server error", "content": content})
    schemas = doc["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):  # drop only if now unreferenced
        kept = {k: v for k, v in schemas.items() if k != name}
        if f'"#/components/schemas/{name}"' not in json.dumps([doc["paths"], kept]):
            schemas.pop(name, None)


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare problem+json errors (built once, then cached by FastAPI)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_problems(FastAPI.openapi(app))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """Backstop for a NUL that :func:`refuse_nul` could not see (psycopg refuses it client-side).

    Any other ``DataError`` is a bug (e.g. division by zero in SQL) and stays a logged 500.
    """
    if "NUL" in str(exc):
        log.warning("NUL reached the database layer on %s %s", request.method, request.url.path)
        return problem(
            422,
            "Invalid input",
            "a text value contains the NUL character (\\u0000)",
            code="invalid-input",
        )
    return await _unexpected(request, exc)


async def _client_abort(request: Request, exc: Exception) -> JSONResponse:
    """The client hung up while the app still read from it (a streamed body): a client
    abort, logged in one line and counted as 499 by ``api.metrics``, never a 500 with a
    traceback. The response goes nowhere; it only carries the status to the metrics."""
    log.info("client closed the connection mid-request: %s %s", request.method, request.url.path)
    return problem(499, "Client closed request", "the client closed the connection")


def install(app: FastAPI) -> None:
    """Register the handlers: one per error family, all producing problem+json."""
    app.add_exception_handler(ClientDisconnect, _client_abort)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
