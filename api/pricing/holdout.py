"""Drawing the randomised holdout for a product and plan year (the rule, pure, is in
``api.pricing.holdout_rule``, whose docstring says why and how)."""

from __future__ import annotations

import secrets
from typing import Any

from api.pricing.holdout_rule import CONTROL, arms
from api.pricing.quoting import before_first_quote, get_rulebook
from api.pricing.repository import Conn
from api.pricing.repository import batch as batch_repo
from api.pricing.repository import holdout as holdout_repo


def draw(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any]:
    """Draw the plan year's holdout over its book (once, before its first quote); the
    stored draw is returned unchanged when it exists."""
    got = holdout_repo.get_draw(conn, product_id, plan_year)
    if got is not None:
        return {**got, "action": "unchanged"}
    rb = get_rulebook(conn, product_id, plan_year)
    before_first_quote(
        conn, product_id, plan_year, "its holdout must be drawn",
        "so that no member's arm depends on when they were quoted",
    )  # fmt: skip
    ids, book = batch_repo.book_member_ids(conn, product_id, plan_year)
    key = secrets.token_bytes(32)
    drawn = arms(key, product_id, plan_year, ids, rb.holdout_share_bp)
    holdout_repo.insert_draw(
        conn, product_id, plan_year, rb.holdout_share_bp, key, rb.sha256, len(ids)
    )
    holdout_repo.insert_assignments(conn, product_id, plan_year, list(zip(ids, drawn, strict=True)))
    control = drawn.count(CONTROL)
    return {
        "product_id": product_id,
        "plan_year": plan_year,
        "share_bp": rb.holdout_share_bp,
        "book": book,
        "members": len(ids),
        "control": control,
        "incentive": len(ids) - control,
        "action": "drawn",
    }
