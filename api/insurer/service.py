"""Insurer use cases: quotes, what-if, batch jobs, uploads, portfolio, scores.

The premium arithmetic belongs to ``api.pricing.service``; this module adds the API's
concerns around it: tenancy, the audit log, and running batch jobs off the
request thread. An insurer reaches scores and quotes here, never raw readings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from psycopg_pool import ConnectionPool

from api.audit import service as audit
from api.auth.service import Principal
from api.consent import service as consent
from api.deps import Tx
from api.insurer import repository as insurer_repo
from api.pricing import service as pricing
from api.tenancy import access_member, require_product, require_product_and_member
from core.errors import FieldError, InvalidInput, NotFound
from core.settings import Settings
from scoring import repository as scores

log = logging.getLogger(__name__)

NOT_ENROLLABLE = "no member with consent to this product's pricing"


def quote(
    tx: Tx,
    who: Principal,
    member_id: str,
    product_id: str,
    plan_year: int,
    *,
    what_if: dict[str, Any] | None = None,
) -> dict[str, Any]:
    action = "insurer.quote.what_if" if what_if else "insurer.quote.create"
    detail = {"product_id": product_id, "plan_year": plan_year}
    require_product_and_member(tx, who, product_id, member_id, action, detail)
    q = pricing.quote_member(
        tx.conn, member_id, product_id, plan_year, what_if=what_if, store=what_if is None
    )
    return q.to_dict()


NO_QUOTE = "no such quote"
NO_BATCH = "no such batch job"


def get_quote(tx: Tx, who: Principal, quote_id: str) -> dict[str, Any]:
    q = pricing.get_quote(tx.conn, quote_id)
    if q is None:
        raise NotFound(NO_QUOTE)
    out = q.to_dict()
    # Another insurer's quote answers exactly as a quote that does not exist (finding 11).
    hidden = NotFound(NO_QUOTE)
    require_product(tx, who, str(out["product_id"]), "insurer.quote.read", not_found=hidden)
    access_member(
        tx, who, str(out["member_id"]), "insurer.quote.read", {"quote_id": quote_id},
        not_found=hidden,
    )  # fmt: skip
    return out


def member_score(tx: Tx, who: Principal, member_id: str) -> dict[str, Any]:
    """The latest stored score: composite, components and indicator summaries only."""
    access_member(tx, who, member_id, "insurer.score.read")
    row = scores.latest_score(tx.conn, member_id)
    # PIPL: an insurer sees a score only for a window inside the member's pricing consent
    # for one of its products (api.consent); otherwise it is as if there were none.
    if row is None or (
        who.role == "insurer"
        and not consent.covers(
            insurer_repo.pricing_consent(tx.conn, str(who.tenant_id), member_id),
            row["window_start"],
            row["window_end"],
        )
    ):
        raise NotFound("no score for this member yet")
    return {"member_id": member_id, **row}


def start_batch(
    tx: Tx,
    who: Principal,
    settings: Settings,
    threads: list[threading.Thread],
    product_id: str,
    plan_year: int,
    member_ids: list[str] | None,
) -> str:
    """Create the job in this request's transaction; start its worker once that commits."""
    require_product(tx, who, product_id, "insurer.batch.create")
    if member_ids is not None and who.role == "insurer":
        outside = insurer_repo.members_outside_book(tx.conn, str(who.tenant_id), member_ids)
        if outside:
            # Named by position only: whether an id exists elsewhere is not the caller's.
            raise InvalidInput(
                f"{len(outside)} member(s) are not enrolled in your products",
                errors=[
                    {"field": f"member_ids[{member_ids.index(m)}]", "message": "not in your book"}
                    for m in outside[:20]
                ],
            )
    job_id = pricing.create_batch_job(tx.conn, product_id, plan_year, member_ids)
    audit.record(
        tx.conn,
        who,
        "insurer.batch.create",
        None,
        detail={"job_id": job_id, "members": "all" if member_ids is None else len(member_ids)},
    )
    url = settings.database_url
    assert url is not None

    def run() -> None:
        try:
            pricing.run_batch_job(url, settings, job_id)
        except Exception as exc:  # the job's own status records the failure
            log.error("batch job %s failed: %s", job_id, type(exc).__name__, exc_info=exc)

    def launch() -> None:
        t = threading.Thread(target=run, name=f"batch-{job_id}", daemon=True)
        threads[:] = [th for th in threads if th.is_alive()]
        threads.append(t)
        t.start()

    tx.after_commit.append(launch)
    return job_id


def batch_status(tx: Tx, who: Principal, job_id: str) -> dict[str, Any]:
    status = pricing.batch_job_status(tx.conn, job_id)
    if status is None:
        raise NotFound(NO_BATCH)
    require_product(
        tx, who, str(status["product_id"]), "insurer.batch.status", not_found=NotFound(NO_BATCH)
    )
    audit.record(tx.conn, who, "insurer.batch.status", None, detail={"job_id": job_id})
    return status


def check_batch_results(tx: Tx, who: Principal, job_id: str, fmt: str) -> None:
    status = pricing.batch_job_status(tx.conn, job_id)
    if status is None:
        raise NotFound(NO_BATCH)
    require_product(
        tx, who, str(status["product_id"]), "insurer.batch.results", not_found=NotFound(NO_BATCH)
    )
    audit.record(
        tx.conn, who, "insurer.batch.results", None, detail={"job_id": job_id, "format": fmt}
    )


def stream_batch_results(pool: ConnectionPool, job_id: str, fmt: str) -> Iterator[str]:
    """Results on a connection of their own, held for as long as the client reads.

    The request's transaction has committed by the time the body streams, so the stream
    cannot borrow it; a million-row result must not be built in memory either.
    """
    with pool.connection() as conn:
        yield from pricing.iter_batch_results(conn, job_id, fmt)


def upload_enrollments(tx: Tx, who: Principal, rows: list[Any]) -> int:
    """Enroll members in the insurer's products: only a member who consented to pricing for
    that product, or who is in the insurer's book already (a renewal, also after a consent
    withdrawal: the base policy is not bundled with the data consent)."""
    for product in sorted({r.product_id for r in rows}):
        require_product(tx, who, product, "insurer.enrollments.upload")
    if who.role == "insurer":
        pairs = [(r.member_id, r.product_id) for r in rows]
        refused = insurer_repo.not_enrollable(tx.conn, str(who.tenant_id), pairs)
        if refused:
            # One answer for "exists elsewhere" and "does not exist": no enumeration.
            audit.refuse(
                tx,
                who,
                "insurer.enrollments.upload",
                None,
                InvalidInput(
                    f"{len(refused)} row(s) name members who have not consented to pricing for"
                    " that product",
                    errors=[
                        {"field": f"rows[{i}].member_id", "message": NOT_ENROLLABLE}
                        for i in refused[:20]
                    ],
                ),
            )
    n = pricing.upsert_enrollments(tx.conn, rows)
    audit.record(tx.conn, who, "insurer.enrollments.upload", None, detail={"rows": n})
    return n


def upload_claims(tx: Tx, who: Principal, rows: list[Any]) -> int:
    if who.role == "insurer":
        ids = [r.member_id for r in rows]
        outside = set(insurer_repo.members_outside_book(tx.conn, str(who.tenant_id), ids))
        if outside:
            named: list[FieldError] = [
                {"field": f"rows[{i}].member_id", "message": "not in your book"}
                for i, m in enumerate(ids)
                if m in outside
            ]
            raise InvalidInput(
                f"{len(outside)} row(s) name members not enrolled in your products",
                errors=named[:20],
            )
    n = pricing.upsert_claims(tx.conn, rows)
    audit.record(tx.conn, who, "insurer.claims.upload", None, detail={"rows": n})
    return n


def _product_report(
    tx: Tx,
    who: Principal,
    product_id: str,
    plan_year: int,
    action: str,
    make: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """A product-level report: the product gate, the report, one audit row."""
    require_product(tx, who, product_id, action)
    report = make()
    audit.record(
        tx.conn, who, action, None, detail={"product_id": product_id, "plan_year": plan_year}
    )
    return report


def budget_check(
    tx: Tx, who: Principal, product_id: str, plan_year: int, margin_pct: float
) -> dict[str, Any]:
    return _product_report(
        tx,
        who,
        product_id,
        plan_year,
        "insurer.budget_check.read",
        lambda: pricing.budget_check(tx.conn, product_id, plan_year, margin_pct=margin_pct),
    )


def disclosure(tx: Tx, who: Principal, product_id: str, plan_year: int) -> dict[str, Any]:
    return _product_report(
        tx,
        who,
        product_id,
        plan_year,
        "insurer.disclosure.read",
        lambda: pricing.disclosure_report(tx.conn, product_id, plan_year),
    )


def portfolio(tx: Tx, who: Principal, product_id: str, plan_year: int) -> dict[str, Any]:
    return _product_report(
        tx,
        who,
        product_id,
        plan_year,
        "insurer.portfolio.read",
        lambda: pricing.portfolio_report(tx.conn, product_id, plan_year),
    )
