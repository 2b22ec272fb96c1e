"""Closing the smoothing fund for a plan year: the loop from the fund back into the base.

Why: the smoothing cap holds a member's premium within the year-on-year bound and books
the difference in the fund; without a way back, a fund in deficit only grows (the review
found ``annual_recovery`` computed and never charged). Before a plan year's first quote,
``close`` takes the fund's balance (the rulebook's starting capital plus every ledger entry
of earlier plan years) and sets what this year's quotes apply, as a share of each base:

* a deficit (balance below zero) is recovered over ``spread_years``:
  ``+deficit / spread_years / last year's total base``;
* a surplus above the starting capital is returned the same way (a negative share);
* between zero and the capital, nothing: that is what the capital is for;
* never more than the year-on-year cap either way in one year (the rest waits for the
  next closing).

The share is stored (``fund_closings``) and copied into every quote's inputs, so single
and batch quotes agree and each reproduces from its stored inputs; the quote shows it as
its own ``fund_recovery`` line and its amount is booked back to the fund's ledger.
"""

from __future__ import annotations

from typing import Any

from api.pricing.quoting import before_first_quote, get_rulebook
from api.pricing.repository import Conn
from api.pricing.repository import fund as fund_repo


def adjustment_bp(balance_fen: int, capital_fen: int, base_total_fen: int, spread: int) -> int:
    """The share of base (bp, > 0 charges, < 0 returns) that clears the balance's deficit,
    or its surplus above the capital, in ``spread`` years; 0 without a book to spread on."""
    if base_total_fen <= 0:
        return 0
    if balance_fen < 0:
        owed = -balance_fen
    elif balance_fen > capital_fen:
        owed = -(balance_fen - capital_fen)
    else:
        return 0
    num, den = owed * 10_000, spread * base_total_fen
    q, r = divmod(abs(num), den)
    q += 2 * r >= den
    return q if num >= 0 else -q


def close(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any]:
    """Close the fund for ``plan_year`` (once, before its first quote) and return the row."""
    got = fund_repo.get_closing(conn, product_id, plan_year)
    if got is not None:
        return {**got, "action": "unchanged"}
    before_first_quote(
        conn,
        product_id,
        plan_year,
        "its fund must be closed",
        "so that every quote of the year applies the same share",
    )
    rb = get_rulebook(conn, product_id, plan_year)
    balance = rb.fund_capital_fen + fund_repo.balance_before(conn, product_id, plan_year)
    base = fund_repo.base_total(conn, product_id, plan_year - 1)
    row = {
        "product_id": product_id,
        "plan_year": plan_year,
        "rulebook_sha256": rb.sha256,
        "balance_fen": balance,
        "capital_fen": rb.fund_capital_fen,
        "base_total_fen": base,
        # A year's charge or return never moves the base more than the year-on-year cap;
        # what it leaves stays in the balance for the next closing.
        "adjust_bp": max(
            -rb.max_yoy_bp,
            min(rb.max_yoy_bp, adjustment_bp(balance, rb.fund_capital_fen, base, rb.spread_years)),
        ),
        "spread_years": rb.spread_years,
    }
    fund_repo.insert_closing(conn, row)
    return {**row, "action": "closed"}
