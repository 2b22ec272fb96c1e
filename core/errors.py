"""Domain errors: what went wrong, in terms every caller understands, with no transport in it.

Services (pricing, the API's audiences, the CLIs) raise these; each caller renders them its
own way. The HTTP layer (``api.errors``) turns every :class:`DomainError` into RFC 9457
``application/problem+json`` using ``code``, ``title``, the *suggested* ``status``,
``detail`` and ``errors``; a command line prints ``detail``. Nothing here imports a web
framework, so pricing a member from the CLI, the demo or a benchmark needs no HTTP types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict


class FieldError(TypedDict):
    """One offending field: its JSON path (``rows[3].birth_date``) and what is wrong with it."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error raised on purpose; ``status`` is the HTTP status it suggests."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, errors: Sequence[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: list[FieldError] = list(errors or [])


class InvalidInput(DomainError):
    """The request was well-formed but a field holds a value the domain refuses."""

    status = 422
    code = "invalid-input"
    title = "Invalid input"


class Forbidden(DomainError):
    """The caller is known but its role or tenant does not allow this."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this caller)."""

    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    """The request contradicts the stored state (duplicate name, overlapping binding)."""

    status = 409
    code = "conflict"
    title = "Conflict"
