"""Pricing use cases: quote one member, what-if, fetch and reproduce a quote, standing,
uploads and the portfolio report. Batch jobs live in ``api.pricing.batch`` and are
re-exported here, so ``api.pricing.service`` is the one name other parts call.

Services never commit: the caller (an HTTP request, a batch chunk, the CLI) owns the
transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from api.pricing import engine
from api.pricing.batch import (
    batch_job_status,
    create_batch_job,
    iter_batch_results,
    quote_book,
    run_batch_job,
)
from api.pricing.budget import budget_check
from api.pricing.disclosure import disclosure_report
from api.pricing.exceptions import (
    MemberNotFound,
    RulebookLocked,
    RulebookNotFound,
    UnknownMembers,
)
from api.pricing.inputs import QuoteInputs
from api.pricing.money import fen_of
from api.pricing.portfolio import portfolio_report
from api.pricing.quote import (
    Quote,
    priced_quote,
    quote_docs,
    quote_from_row,
    versions_json,
    yuan,
)
from api.pricing.quoting import (
    get_rulebook,
    new_quote_id,
    parsed_rulebook,
    quote_row,
    read_context,
)
from api.pricing.repository import Conn
from api.pricing.repository import enrolments as enrolments_repo
from api.pricing.repository import quotes as quotes_repo
from api.pricing.repository import rulebooks as rulebook_repo
from api.pricing.rulebook import Rulebook, parse
from api.pricing.what_if import apply_what_if
from core.errors import FieldError

log = logging.getLogger(__name__)

__all__ = [
    "Quote",
    "batch_job_status",
    "budget_check",
    "create_batch_job",
    "disclosure_report",
    "get_quote",
    "iter_batch_results",
    "load_rulebook",
    "member_standing",
    "portfolio_report",
    "quote_book",
    "quote_member",
    "reproduce_quote",
    "run_batch_job",
    "upsert_claims",
    "upsert_enrollments",
]


def load_rulebook(conn: Conn, text: str, *, source: str = "<rulebook>") -> dict[str, Any]:
    """Validate and store a rulebook; refused once its plan year has issued quotes."""
    rb = parse(text, source=source)
    row = rulebook_repo.get_rulebook(conn, rb.product_id, rb.plan_year)
    if row is None:
        rulebook_repo.insert_rulebook(
            conn, rb.product_id, rb.plan_year, rb.version, rb.sha256, text
        )
        return {"product_id": rb.product_id, "plan_year": rb.plan_year, "action": "stored"}
    if row["sha256"] == rb.sha256:
        return {"product_id": rb.product_id, "plan_year": rb.plan_year, "action": "unchanged"}
    if row["locked_at"] is not None:
        raise RulebookLocked(
            f"the {rb.product_id} {rb.plan_year} rulebook (version {row['version']}) has issued "
            "quotes and cannot change; publish the change for the next plan year"
        )
    rulebook_repo.replace_rulebook(conn, rb.product_id, rb.plan_year, rb.version, rb.sha256, text)
    return {"product_id": rb.product_id, "plan_year": rb.plan_year, "action": "replaced"}


def quote_member(
    conn: Conn,
    member_id: str,
    product_id: str,
    plan_year: int,
    *,
    what_if: dict[str, Any] | None = None,
    store: bool = True,
) -> Quote:
    """Next year's premium for one member, with a reason per component (en/zh).

    A what-if is never stored, whatever ``store`` says. A stored quote locks the rulebook
    for its plan year and books the smoothing difference in the fund's ledger.
    """
    ctx = read_context(conn, [member_id], product_id, plan_year)
    rb, locked, model_version = ctx.rulebook, ctx.locked, ctx.model_version
    inp = ctx.inputs.get(member_id)
    if inp is None:
        raise MemberNotFound("no such member")
    if what_if:
        inp, store = apply_what_if(inp, what_if), False
    p, every = engine.price_versions(rb, inp)
    docs = quote_docs(rb, p, inp, every)  # built once: the stored row and the response
    qid, created = None, None
    if store:
        qid = new_quote_id()
        # No pipeline block of its own: a caller in pipeline mode (api.deps.in_transaction)
        # sends these with its COMMIT, one round trip; a block here would sync them early.
        if not locked:
            rulebook_repo.lock_rulebook(conn, product_id, plan_year)
        quotes_repo.insert_quote_and_ledger(
            conn, quote_row(rb, inp, p, qid, None, model_version, every, docs), p.ledger_fen
        )
        created = datetime.now(UTC)
    return priced_quote(rb, inp, p, qid, created, model_version, every, docs)


def get_quote(conn: Conn, quote_id: str) -> Quote | None:
    row = quotes_repo.get_quote(conn, quote_id)
    return quote_from_row(row) if row else None


def reproduce_quote(conn: Conn, quote_id: str) -> dict[str, Any]:
    """Recompute a stored quote from its stored inputs and rulebook; compare to the cent."""
    row = quotes_repo.get_quote(conn, quote_id)
    if row is None:
        raise MemberNotFound("no such quote")
    text = rulebook_repo.rulebook_by_sha(conn, row["rulebook_sha256"])
    if text is None:
        raise RulebookNotFound("the quote's rulebook is no longer stored")
    rb, inp = parsed_rulebook(text), QuoteInputs.from_json(row["inputs"])
    p, every = engine.price_versions(rb, inp)
    # Every version's premium and benefits too (quotes from before versions stored none).
    stored_versions = row.get("versions")
    versions_same = stored_versions is None or stored_versions == versions_json(rb, inp, every)
    return {
        "quote_id": quote_id,
        "stored_premium_fen": row["premium_fen"],
        "recomputed_premium_fen": p.premium_fen,
        "versions_identical": versions_same,
        "identical": p.premium_fen == row["premium_fen"]
        and p.unsmoothed_fen == row["unsmoothed_fen"]
        and versions_same,
    }


def _hints(rb: Rulebook) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """Each data component's maximum (bp) and how to earn more of it (en, zh)."""
    caps = {
        "engagement": rb.engagement.max_bp,
        "control": rb.control.max_bp,
        "activity": rb.activity.max_bp,
        "adherence": rb.adherence.max_bp,
        "improvement": rb.improvement.max_bp,
    }
    hints_en = {
        "engagement": "measure regularly through the year (clinic readings count too)",
        "control": "keep each of your conditions at target: blood pressure, glucose without"
        " lows, or the clinic's office BP, HbA1c and LDL-C",
        "activity": f"walk more: credited from {rb.activity_from_steps} to"
        f" {rb.activity_full_steps} steps a day, or meet the WHO guideline",
        "adherence": "take your medicines as dispensed (80 % of days covered earns it all)",
        "improvement": "send enough data on every condition, and keep them under control",
    }
    hints_zh = {
        "engagement": "全年规律测量（社区诊所测量同样计入）",
        "control": "每种慢性病达标：血压、无低血糖的血糖，或诊所测量的血压、糖化血红蛋白和血脂",
        "activity": f"多走路：每日{rb.activity_from_steps}步起计，{rb.activity_full_steps}步满分，"
        "或达到世卫组织身体活动建议",
        "adherence": "按处方规律用药（覆盖80%天数即满分）",
        "improvement": "每种慢性病都有足够数据并保持控制",
    }
    return caps, hints_en, hints_zh


def member_standing(
    conn: Conn,
    member_id: str,
    product_id: str,
    plan_year: int,
    what_if: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Where the member stands for next year, the reasons, and what would lower it; with a
    ``what_if``, the same for the member's simulated indicators (never stored)."""
    q = quote_member(conn, member_id, product_id, plan_year, store=False, what_if=what_if)
    rb = get_rulebook(conn, product_id, plan_year)
    caps, hints_en, hints_zh = _hints(rb)
    could = []
    for c in q.components:
        if c.code in caps:
            gap = caps[c.code] + int(c.pct * 100)  # pct is negative for a discount
            if gap > 0:
                could.append(
                    {
                        "code": c.code,
                        "up_to_pct": str(Decimal(-gap) / 100),
                        "up_to_yuan": str(yuan(-fen_of(int(q.base_premium * 100), gap))),
                        "how_en": hints_en[c.code],
                        "how_zh": hints_zh[c.code],
                    }
                )
    return {
        "member_id": member_id,
        "product_id": product_id,
        "plan_year": plan_year,
        "base_premium": q.base_premium,
        "premium": q.premium,
        "version_id": q.version_id,
        "benefits": q.benefits,
        "versions": list(q.versions),
        "components": [c.__dict__.copy() for c in q.components],
        "smoothing": q.smoothing,
        "what_would_lower_it": could,
        "what_if": dict(what_if) if what_if else None,
    }


# --- uploads -----------------------------------------------------------------------------
def _check_members(conn: Conn, member_ids: list[str]) -> None:
    known = enrolments_repo.existing_members(conn, member_ids)
    bad: list[FieldError] = [
        {"field": f"rows[{i}].member_id", "message": "unknown member"}
        for i, m in enumerate(member_ids)
        if m not in known
    ]
    if bad:
        raise UnknownMembers(f"{len(bad)} row(s) name unknown members", errors=bad[:50])


def upsert_enrollments(conn: Conn, rows: list[Any]) -> int:
    """Enrollment rows (``EnrollmentUpload``-like objects); a premium paid is optional."""
    _check_members(conn, [r.member_id for r in rows])
    out = []
    for r in rows:
        paid = getattr(r, "premium_paid_yuan", None)
        out.append(
            (
                r.member_id,
                r.product_id,
                r.plan_year,
                r.enrolled_on,
                None if paid is None else int(Decimal(paid) * 100),
                getattr(r, "product_version", None),
            )
        )
    return enrolments_repo.upsert_enrollments(conn, out)


def upsert_claims(conn: Conn, rows: list[Any]) -> int:
    """Hospitalisation claims into ``hospitalisations`` (scoring reads them too)."""
    _check_members(conn, [r.member_id for r in rows])
    return enrolments_repo.upsert_claims(
        conn,
        [
            (r.claim_id, r.member_id, r.admitted_on, r.discharged_on, r.amount_yuan, r.diagnosis)
            for r in rows
        ],
    )
