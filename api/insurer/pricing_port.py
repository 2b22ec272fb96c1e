"""The pricing engine as the insurer and member endpoints call it (``api.pricing.service``).

This used to be a lazy shim answering 503 while the engine was absent; the engine is in the
tree now, so these are direct calls. Pricing's domain errors (``api.pricing.exceptions``)
are ``api.errors.ApiError`` subclasses and render as problem+json through the API's one
handler: unknown rulebook/member/job 404, a locked rulebook 409, a bad what-if or an upload
naming unknown members 422 with the field path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api.pricing import service

SERVICE = "api.pricing.service"


def missing(names: list[str]) -> list[str]:
    """Which of ``names`` the pricing service does not provide (for tests and /ready)."""
    return [n for n in names if not hasattr(service, n)]


def quote_dict(q: Any) -> dict[str, Any]:
    if hasattr(q, "to_dict"):
        out: dict[str, Any] = q.to_dict()
        return out
    return dict(q)


def quote_member(
    conn: Any,
    member_id: str,
    product_id: str,
    plan_year: int,
    *,
    what_if: dict[str, Any] | None = None,
    store: bool = True,
) -> Any:
    return service.quote_member(
        conn, member_id, product_id, plan_year, what_if=what_if, store=store
    )


def get_quote(conn: Any, quote_id: str) -> Any:
    return service.get_quote(conn, quote_id)


def member_standing(conn: Any, member_id: str, product_id: str, plan_year: int) -> dict[str, Any]:
    return service.member_standing(conn, member_id, product_id, plan_year)


def create_batch_job(
    conn: Any, product_id: str, plan_year: int, member_ids: list[str] | None
) -> str:
    return service.create_batch_job(conn, product_id, plan_year, member_ids)


def run_batch_job(url: str, settings: Any, job_id: str) -> None:
    service.run_batch_job(url, settings, job_id)


def batch_job_status(conn: Any, job_id: str) -> dict[str, Any] | None:
    return service.batch_job_status(conn, job_id)


def iter_batch_results(conn: Any, job_id: str, fmt: str) -> Iterator[str]:
    return service.iter_batch_results(conn, job_id, fmt)


def budget_check(
    conn: Any, product_id: str, plan_year: int, *, margin_pct: float
) -> dict[str, Any]:
    return service.budget_check(conn, product_id, plan_year, margin_pct=margin_pct)


def disclosure_report(conn: Any, product_id: str, plan_year: int) -> dict[str, Any]:
    return service.disclosure_report(conn, product_id, plan_year)


def portfolio_report(conn: Any, product_id: str, plan_year: int) -> dict[str, Any]:
    return service.portfolio_report(conn, product_id, plan_year)


def upsert_enrollments(conn: Any, rows: list[Any]) -> int:
    return service.upsert_enrollments(conn, rows)


def upsert_claims(conn: Any, rows: list[Any]) -> int:
    return service.upsert_claims(conn, rows)
