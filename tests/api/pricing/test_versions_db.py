"""Versions and the fund's loop against the real database: the held version read from the
enrollment, every version stored and reproduced, the fund closed into next year's base."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from api.pricing import fund, service
from api.pricing.exceptions import RulebookLocked
from api.pricing.rulebook import packaged_text
from tests.api.pricing.helpers import add_member, add_score, indicators

Conn = psycopg.Connection[Any]
DEMO = packaged_text("demo-city", 2027) or ""


def _enroll(conn: Conn, mid: str, year: int, version: str | None, paid: str | None) -> None:
    row = SimpleNamespace(
        member_id=mid, product_id="demo-city", plan_year=year, enrolled_on=date(year - 1, 12, 1),
        premium_paid_yuan=paid, product_version=version,
    )  # fmt: skip
    assert service.upsert_enrollments(conn, [row]) == 1


def test_the_quote_prices_the_held_version_and_lists_every_version(conn: Conn) -> None:
    add_member(conn, "m1", conditions=("hypertension",))
    add_score(conn, "m1", indicators(tir=None), composite=82.0)
    _enroll(conn, "m1", 2025, "preferred", "129.00")
    _enroll(conn, "m1", 2026, "preferred", "120.00")
    q = service.quote_member(conn, "m1", "demo-city", 2027)
    assert q.version_id == "preferred" and q.base_premium == 129
    assert [v["version_id"] for v in q.versions] == ["standard", "preferred"]
    assert [v["held"] for v in q.versions] == [False, True]
    # Two continuous claim-free years: each deductible 2,000 yuan lower.
    assert q.benefits is not None and q.benefits["deductible_yuan"] == "10000.00"
    assert [v["benefits"]["deductible_fen"] for v in q.versions] == [1_300_000, 1_000_000]
    stored = service.get_quote(conn, q.quote_id or "")
    assert stored is not None and stored.versions == q.versions
    assert stored.version_id == "preferred" and stored.benefits == q.benefits
    check = service.reproduce_quote(conn, q.quote_id or "")
    assert check["identical"] and check["versions_identical"]


def test_a_tampered_version_document_does_not_reproduce(conn: Conn) -> None:
    add_member(conn, "m1")
    q = service.quote_member(conn, "m1", "demo-city", 2027)
    conn.execute(
        "UPDATE quotes SET versions = replace(versions::text, '\"premium_fen\": 12900',"
        " '\"premium_fen\": 11900')::json WHERE quote_id = %s",
        (q.quote_id,),
    )
    doc = conn.execute("SELECT versions::text FROM quotes WHERE quote_id = %s", (q.quote_id,))
    text = (doc.fetchone() or [""])[0]
    if "11900" in text:  # the stored JSON's spacing matched: the check must see it
        assert not service.reproduce_quote(conn, q.quote_id or "")["identical"]


def _year(text: str, year: int) -> str:
    return re.sub(r"^plan_year = \d+", f"plan_year = {year}", text, count=1, flags=re.M)


def test_the_fund_deficit_is_charged_through_next_years_base(conn: Conn) -> None:
    """A 2027 deficit beyond the starting capital is recovered over spread_years through the
    2028 base, shown as its own line, and booked back to the fund."""
    for i in range(4):
        add_member(conn, f"m{i}")
        service.quote_member(conn, f"m{i}", "demo-city", 2027)
    conn.execute(
        "UPDATE smoothing_ledger SET amount_fen = -1250100 WHERE product_id = 'demo-city'"
    )  # 4 x -12,501 yuan: a -50,004 yuan year against 50,000 yuan of capital
    service.load_rulebook(conn, _year(DEMO, 2028))
    closing = fund.close(conn, "demo-city", 2028)
    assert closing["action"] == "closed" and closing["balance_fen"] == 5_000_000 - 5_000_400
    # A 4-yuan deficit over 3 years on a 356-yuan book (4 x 89): 37.45 bp, 37 bp.
    expect = round(400 * 10_000 / (3 * 4 * 8900))
    assert closing["adjust_bp"] == expect == 37
    assert fund.close(conn, "demo-city", 2028)["action"] == "unchanged"
    q = service.quote_member(conn, "m0", "demo-city", 2028)
    line = next(c for c in q.components if c.code == "fund_recovery")
    assert line.pct * 100 == expect and not line.data_dependent
    assert "recovered over 3 years" in line.reason_en and "分3年回收" in line.reason_zh
    assert service.reproduce_quote(conn, q.quote_id or "")["identical"]
    booked = conn.execute(
        "SELECT amount_fen FROM smoothing_ledger WHERE plan_year = 2028 AND member_id = 'm0'"
    ).fetchone()
    assert booked is not None and booked[0] == line.yuan * 100  # 89 x 0.37 % = 0.33 yuan
    with pytest.raises(RulebookLocked):  # closed once, before the first quote
        conn.execute("DELETE FROM fund_closings")
        fund.close(conn, "demo-city", 2028)


def test_within_the_capital_nothing_is_charged() -> None:
    assert fund.adjustment_bp(-30_000, 5_000_000, 1_000_000, 3) == 100
    assert fund.adjustment_bp(0, 5_000_000, 1_000_000, 3) == 0
    assert fund.adjustment_bp(5_000_000, 5_000_000, 1_000_000, 3) == 0
    assert fund.adjustment_bp(5_300_000, 5_000_000, 1_000_000, 3) == -1000  # returned
    assert fund.adjustment_bp(-300_000, 5_000_000, 1_000_000, 3) == 1000
    assert fund.adjustment_bp(-300_000, 5_000_000, 0, 3) == 0  # no book to spread on
