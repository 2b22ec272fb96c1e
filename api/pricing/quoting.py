"""Shared by single quotes and batch chunks: the rulebook in force, the bulk gathering of
inputs and the row a stored quote becomes. The Quote type and its documents are in
``api.pricing.quote``."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import orjson

from api.consent import service as consent
from api.pricing import engine
from api.pricing.exceptions import RulebookLocked, RulebookNotFound
from api.pricing.inputs import QuoteInputs, ScoreRow
from api.pricing.money import fen_of
from api.pricing.quote import quote_docs
from api.pricing.repository import Conn
from api.pricing.repository import inputs as inputs_repo
from api.pricing.repository import quotes as quotes_repo
from api.pricing.repository import rulebooks as rulebook_repo
from api.pricing.rulebook import Rulebook, packaged_text, parse
from core.db import text_array
from scoring.integrity.service import send_held_periods
from scoring.repository import send_latest_scores


# --- rulebooks ---------------------------------------------------------------------------
@lru_cache(maxsize=64)
def parsed_rulebook(text: str) -> Rulebook:
    return parse(text)


def get_rulebook(conn: Conn, product_id: str, plan_year: int) -> Rulebook:
    """The plan year's rulebook: the one stored, else the packaged file (stored on first use)."""
    row = rulebook_repo.get_rulebook(conn, product_id, plan_year)
    return rulebook_from_row(conn, product_id, plan_year, row)[0]


def rulebook_from_row(
    conn: Conn, product_id: str, plan_year: int, row: dict[str, Any] | None
) -> tuple[Rulebook, bool]:
    """:func:`get_rulebook` from the row already read, and whether it is locked already.

    A lock is never lifted, so a quote under a locked rulebook need not lock it again: one
    statement fewer for every quote but the plan year's first.
    """
    if row is not None:
        return parsed_rulebook(row["content"]), row["locked_at"] is not None
    text = packaged_text(product_id, plan_year)
    if text is None:
        raise RulebookNotFound(f"no rulebook for {product_id} {plan_year}")
    rb = parsed_rulebook(text)
    rulebook_repo.insert_rulebook(conn, product_id, plan_year, rb.version, rb.sha256, text)
    return rb, False


def before_first_quote(conn: Conn, product_id: str, plan_year: int, what: str, why: str) -> None:
    """Refuse a plan-year set-up step (the fund's closing, the holdout, the discount budget)
    once the year has issued a quote: every quote of a year must see the same set-up."""
    if quotes_repo.has_quotes(conn, product_id, plan_year):
        raise RulebookLocked(
            f"{product_id} {plan_year} has issued quotes: {what} before the first quote, {why}"
        )


# --- inputs ------------------------------------------------------------------------------
def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class QuoteContext:
    """What quoting a set of members needs besides the arithmetic."""

    rulebook: Rulebook
    locked: bool  # the rulebook is locked already (no need to lock it again)
    inputs: dict[str, QuoteInputs]
    model_version: str | None  # the risk model in force


def read_context(
    conn: Conn, member_ids: Sequence[str], product_id: str, plan_year: int
) -> QuoteContext:
    """The rulebook, the members' inputs and the model version, in one wait for the server.

    Single quotes and batch chunks both start here, so both pipeline the same reads: the
    rulebook, pricing's input reads (the members, then four small reads for a chunk or one
    for a single member), scoring's score rows with the model version in force, and the
    integrity flags.
    """
    y0, y1 = date(plan_year - 1, 1, 1), date(plan_year, 1, 1)
    with conn.pipeline():
        rulebook = rulebook_repo.send_rulebook(conn, product_id, plan_year)
        rows = inputs_repo.send_inputs(conn, member_ids, y0, y1, product_id, plan_year - 1)
        scores = send_latest_scores(conn, member_ids, y0, y1)
        flags = send_held_periods(conn, member_ids)
    row = rulebook.result()
    rb, locked = rulebook_from_row(conn, product_id, plan_year, row)
    latest = scores.result()
    extra = (_recovery_input(row, plan_year), _budget_input(row))
    inputs = _assemble(product_id, plan_year, rows(), latest.by_member, flags.result(), *extra)
    return QuoteContext(rb, locked, inputs, latest.model_version)


def _recovery_input(row: dict[str, Any] | None, plan_year: int) -> dict[str, Any] | None:
    """What a quote's inputs carry of the plan year's fund closing (``api.pricing.fund``),
    read with the rulebook; None while the fund is open for the year."""
    if row is None or row.get("fund_adjust_bp") is None:
        return None
    return {
        "closed_year": plan_year - 1,
        "balance_fen": int(row["fund_balance_fen"]),
        "bp": int(row["fund_adjust_bp"]),
        "spread_years": int(row["fund_spread_years"]),
    }


def _budget_input(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The plan year's discount budget read with the rulebook; None when none was set."""
    if row is None or row.get("budget_scale_ppm") is None:
        return None
    return {
        "scale_ppm": int(row["budget_scale_ppm"]),
        "basis": row["budget_basis"],
        "budget_fen": int(row["budget_fen"]),
    }


def _assemble(
    product_id: str,
    plan_year: int,
    read: inputs_repo.InputRows,
    scores: dict[str, list[dict[str, Any]]],
    flags: dict[str, list[dict[str, Any]]],
    recovery: dict[str, Any] | None = None,
    budget: dict[str, Any] | None = None,
) -> dict[str, QuoteInputs]:
    y0, y1 = date(plan_year - 1, 1, 1), date(plan_year, 1, 1)
    out: dict[str, QuoteInputs] = {}
    for p in read.members:
        m = p["member_id"]
        span = p["pricing_consent"]  # consent periods (api.consent, migration 0052)
        withdrawn = consent.withdrawn_on(span)
        mine = flags.get(m, [])
        holds = tuple(
            {"flag_id": f["flag_id"], "kind": f["kind"], "start": f["start"].isoformat(),
             "end": f["end"].isoformat()}
            for f in mine
            if f["status"] == "open" and f["start"] < y1 and f["end"] > y0
        )  # fmt: skip
        upheld = [f for f in mine if f["status"] == "upheld"]
        rows, excluded, by_review = _usable_scores(scores.get(m, []), span, upheld)
        years = read.enrolled.get(m, {})
        paid = years.get(plan_year - 1)
        out[m] = QuoteInputs(
            member_id=m,
            product_id=product_id,
            plan_year=plan_year,
            age=age_on(p["birth_date"], y1),
            conditions=tuple(sorted(p["conditions"])),
            scores=rows,
            consent_withdrawn_on=withdrawn.isoformat() if withdrawn else None,
            windows_excluded_after_consent=excluded,
            enrolled_years=tuple(sorted(years)),
            claim_years=tuple(sorted(set(read.claims.get(m, [])))),
            claims_count=len(read.claims.get(m, [])),
            last_premium_fen=paid if paid is not None else read.quoted.get(m),
            clinic_months=read.clinic.get(m, 0),
            integrity_holds=holds,
            windows_excluded_by_review=by_review,
            held_version=read.held.get(m, {}).get(plan_year - 1),
            fund_recovery=recovery,
            holdout_arm=p.get("holdout_arm"),
            budget=budget,
        )
    return out


def _usable_scores(
    scores: list[dict[str, Any]], span: Any, upheld: list[dict[str, Any]]
) -> tuple[tuple[ScoreRow, ...], int, int]:
    """The score rows a quote may use, and how many were left out for want of consent (a
    window not inside one insurer-pricing consent period) and for an upheld integrity flag."""
    rows, excluded, by_review = [], 0, 0
    for s in scores:
        # Consent withdrawal is not retroactive: windows that ended before it still count.
        # Only windows inside one insurer-pricing consent period for the product count.
        if not consent.covers(span, s["window_start"], s["window_end"]):
            excluded += 1
            continue
        # A reviewer upheld a flag: the data of that period is not the member's own.
        if any(f["start"] < s["window_end"] and f["end"] > s["window_start"] for f in upheld):
            by_review += 1
            continue
        rows.append(
            ScoreRow(
                s["window_start"].isoformat(),
                s["window_end"].isoformat(),
                s["algorithm_version"],
                s["composite"],
                s["improvement"],
                s["indicators"],
            )
        )
    return tuple(rows), excluded, by_review


# --- quotes ------------------------------------------------------------------------------
def new_quote_id() -> str:
    """Time-ordered (then random) so a million inserts append to the index's right edge."""
    return f"q_{time.time_ns():016x}{secrets.token_hex(6)}"


def _json(doc: Any) -> str:
    """A stored quote document as JSON text (UTF-8, not escaped, compact).

    orjson rather than json.dumps: encoding three documents per quote was a third of a
    batch's time. Same JSON values (floats round-trip exactly), only the whitespace differs;
    nothing compares the stored text, quotes are re-read as JSON."""
    return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS).decode()


def quote_row(
    rb: Rulebook,
    inp: QuoteInputs,
    p: engine.Priced,
    quote_id: str,
    job_id: str | None,
    model_version: str | None = None,
    every: list[engine.Priced] | None = None,
    docs: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> tuple[Any, ...]:
    comps, vers = docs or quote_docs(rb, p, inp, every)
    return (
        quote_id,
        inp.member_id,
        inp.product_id,
        inp.plan_year,
        rb.version,
        rb.sha256,
        job_id,
        p.base_fen,
        p.unsmoothed_fen,
        p.premium_fen,
        p.base_fen - fen_of(p.base_fen, 10000 - p.discount_bp),
        inp.age,
        text_array(inp.conditions),
        _json(comps),
        _json(p.smoothing),
        _json(inp.to_json()),
        model_version,
        p.version_id,
        _json(vers),
    )
