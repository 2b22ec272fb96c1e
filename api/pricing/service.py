"""Pricing use cases: quote one member, what-if, fetch and reproduce a quote, standing,
uploads and the portfolio report. Batch jobs live in ``api.pricing.batch`` and are
re-exported here, so ``api.pricing.service`` is the one name other parts call.

Services never commit: the caller (an HTTP request, a batch chunk, the CLI) owns the
transaction.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, date, datetime
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
    InvalidWhatIf,
    MemberNotFound,
    RulebookLocked,
    RulebookNotFound,
    UnknownMembers,
)
from api.pricing.inputs import QuoteInputs, ScoreRow
from api.pricing.money import fen_of
from api.pricing.portfolio import portfolio_report
from api.pricing.quoting import (
    Quote,
    QuoteComponent,
    components_json,
    get_rulebook,
    new_quote_id,
    parsed_rulebook,
    quote_from_row,
    quote_row,
    read_context,
    yuan,
)
from api.pricing.repository import Conn
from api.pricing.repository import enrolments as enrolments_repo
from api.pricing.repository import quotes as quotes_repo
from api.pricing.repository import rulebooks as rulebook_repo
from api.pricing.rulebook import parse
from core.errors import FieldError
from core.settings import get_settings
from scoring.composite import composite_score
from scoring.config import load_config

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


# --- what-if -----------------------------------------------------------------------------
_PCT = {"tir", "tbr70", "tbr54", "tar180", "tar250", "titr", "pct_in_target", "active_pct"}
_DOMAINS = {"bp", "cgm", "smbg", "activity"}


def apply_what_if(inp: QuoteInputs, what_if: dict[str, Any]) -> QuoteInputs:
    """Overrides like ``{"cgm.tir": 75}`` applied to the latest score row; composite redone."""
    latest = max(inp.scores, key=lambda r: (r.window_end, r.window_start), default=None)
    ind = copy.deepcopy(latest.indicators) if latest else {}
    for key, value in what_if.items():
        domain, _, name = key.partition(".")
        path = f"what_if.{key}"
        if domain not in _DOMAINS or not name:
            raise InvalidWhatIf(
                f"unknown indicator {key!r}",
                errors=[{"field": path, "message": f"use <domain>.<field>, domain in {_DOMAINS}"}],
            )
        if name in _PCT and not (isinstance(value, int | float) and 0 <= value <= 100):
            raise InvalidWhatIf(
                f"{key} must be a percentage", errors=[{"field": path, "message": "0..100"}]
            )
        d = ind.setdefault(domain, {})
        d[name] = value
        if name != "sufficient":
            d["sufficient"] = True
        if key == "bp.controlled" and isinstance(d.get("months_assessed"), int):
            d["months_controlled"] = d["months_assessed"] if value else 0
    composite = latest.composite if latest else None
    improvement = latest.improvement if latest else None
    days = (
        (date.fromisoformat(latest.window_end) - date.fromisoformat(latest.window_start)).days
        if latest
        else 365
    )
    try:
        res = composite_score(
            ind,
            conditions=tuple(inp.conditions),
            window_days=days,
            config=load_config(get_settings().scoring_config),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWhatIf(
            "the overrides leave indicators scoring cannot use",
            errors=[{"field": "what_if", "message": type(exc).__name__}],
        ) from exc
    new = res.composite
    if new is not None and composite is not None and improvement is not None:
        improvement = improvement + (new - composite)
    y = inp.plan_year - 1
    row = ScoreRow(
        latest.window_start if latest else f"{y}-01-01",
        latest.window_end if latest else f"{y + 1}-01-01",
        (latest.algorithm_version if latest else "what-if") + "+what-if",
        new,
        improvement,
        ind,
    )
    rest = tuple(r for r in inp.scores if r is not latest)
    return QuoteInputs(**{**inp.__dict__, "scores": (*rest, row), "what_if": dict(what_if)})


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
    p = engine.price(rb, inp)
    qid, created = None, None
    if store:
        qid = new_quote_id()
        # No pipeline block of its own: a caller in pipeline mode (api.deps.in_transaction)
        # sends these with its COMMIT, one round trip; a block here would sync them early.
        if not locked:
            rulebook_repo.lock_rulebook(conn, product_id, plan_year)
        quotes_repo.insert_quote_and_ledger(
            conn, quote_row(rb, inp, p, qid, None, model_version), p.ledger_fen
        )
        created = datetime.now(UTC)
    comps = components_json(rb, p, inp)
    return Quote(
        quote_id=qid,
        member_id=member_id,
        product_id=product_id,
        plan_year=plan_year,
        rulebook_version=rb.version,
        rulebook_sha256=rb.sha256,
        base_premium=yuan(p.base_fen),
        unsmoothed_premium=yuan(p.unsmoothed_fen),
        premium=yuan(p.premium_fen),
        premium_fen=p.premium_fen,
        components=tuple(
            QuoteComponent(
                c["code"],
                Decimal(c["pct"]),
                Decimal(c["yuan"]),
                c["reason_en"],
                c["reason_zh"],
                c["data_dependent"],
            )
            for c in comps
        ),
        smoothing=p.smoothing,
        created_at=created,
        inputs=inp,
        model_version=model_version,
    )


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
    p = engine.price(parsed_rulebook(text), QuoteInputs.from_json(row["inputs"]))
    return {
        "quote_id": quote_id,
        "stored_premium_fen": row["premium_fen"],
        "recomputed_premium_fen": p.premium_fen,
        "identical": p.premium_fen == row["premium_fen"]
        and p.unsmoothed_fen == row["unsmoothed_fen"],
    }


def member_standing(conn: Conn, member_id: str, product_id: str, plan_year: int) -> dict[str, Any]:
    """Where the member stands for next year, the reasons, and what would lower it."""
    q = quote_member(conn, member_id, product_id, plan_year, store=False)
    rb = get_rulebook(conn, product_id, plan_year)
    caps = {
        "engagement": rb.engagement.max_bp,
        "control": rb.control.max_bp,
        "improvement": rb.improvement.max_bp,
    }
    hints_en = {
        "engagement": "measure regularly through the year (clinic readings count too)",
        "control": "keep BP, glucose and activity at target, or improve on your baseline",
        "improvement": "raise your health score against your own starting point",
    }
    hints_zh = {
        "engagement": "全年规律测量（社区诊所测量同样计入）",
        "control": "血压、血糖和活动达标，或较自身基线改善",
        "improvement": "健康评分较自身起点提高",
    }
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
        "components": [c.__dict__.copy() for c in q.components],
        "smoothing": q.smoothing,
        "what_would_lower_it": could,
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
