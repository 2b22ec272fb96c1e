"""The discount budget: the scale makes the book's performance-linked discounts meet the
budget within 0.5 %, single quotes apply it, and each still reproduces."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from api.pricing import budget_scale, service
from api.pricing.exceptions import NoEffectData, RulebookLocked
from api.pricing.money import fen_of
from api.pricing.rulebook import packaged_text
from tests.api.pricing.helpers import add_member, add_score, indicators

Conn = psycopg.Connection[Any]
DEMO = packaged_text("demo-city", 2027) or ""


def _book(conn: Conn, n: int) -> list[str]:
    ids = [f"s{i:03d}" for i in range(n)]
    for i, m in enumerate(ids):
        add_member(conn, m, conditions=("hypertension",) if i % 3 else ("diabetes",))
        add_score(conn, m, indicators(tir=50.0 + i % 50, steps=3000 + 100 * i), composite=70.0)
    return ids


def _linked_fen(q: service.Quote) -> int:
    base = int(q.base_premium * 100)
    return sum(
        -fen_of(base, int(c.pct * 100)) for c in q.components if c.data_dependent and c.pct < 0
    )


def test_the_scale_meets_the_budget_and_quotes_apply_it(conn: Conn) -> None:
    ids = _book(conn, 80)
    none = DEMO.replace('startup_yuan = "500000.00"\n', "")
    assert service.load_rulebook(conn, none)["action"] == "stored"
    with pytest.raises(NoEffectData):  # no effect measured and no start-up budget declared
        budget_scale.set_scale(conn, "demo-city", 2027)
    spend = budget_scale.projected_spend(conn, "demo-city", 2027, ids)
    budget_yuan = round(spend * 0.3) / 100
    text = DEMO.replace('startup_yuan = "500000.00"', f'startup_yuan = "{budget_yuan:.2f}"')
    assert service.load_rulebook(conn, text)["action"] == "replaced"
    got = budget_scale.set_scale(conn, "demo-city", 2027)
    assert got["basis"] == "startup" and got["projected_fen"] == spend
    assert got["scale_ppm"] == pytest.approx(300_000, abs=5)
    quotes = [service.quote_member(conn, m, "demo-city", 2027) for m in ids]
    granted = sum(_linked_fen(q) for q in quotes)
    assert abs(granted - got["budget_fen"]) <= 0.005 * got["budget_fen"], (granted, got)
    line = next(c for c in quotes[0].components if c.code == "budget")
    assert "start-up budget" in line.reason_en and "启动预算" in line.reason_zh
    scaled = next(c for c in quotes[0].components if c.code == "engagement")
    assert "x0.300" in scaled.reason_en
    assert service.reproduce_quote(conn, quotes[0].quote_id or "")["identical"]
    assert budget_scale.set_scale(conn, "demo-city", 2027)["action"] == "unchanged"
    conn.execute("DELETE FROM budget_scales")
    with pytest.raises(RulebookLocked):
        budget_scale.set_scale(conn, "demo-city", 2027)


def test_a_budget_above_the_spend_never_raises_a_discount(conn: Conn) -> None:
    ids = _book(conn, 10)
    spend = budget_scale.projected_spend(conn, "demo-city", 2027, ids)
    text = DEMO.replace('startup_yuan = "500000.00"', f'startup_yuan = "{spend * 3 / 100:.2f}"')
    service.load_rulebook(conn, text)
    assert budget_scale.set_scale(conn, "demo-city", 2027)["scale_ppm"] == 1_000_000


def test_an_effect_not_yet_credible_leaves_the_start_up_budget(conn: Conn) -> None:
    """A measured effect whose own weight in the credibility blend is under half (a small,
    noisy first year) does not set the budget: the declared start-up budget still pays,
    and the stored detail says why."""
    import re
    from datetime import date
    from types import SimpleNamespace

    from api.pricing import holdout

    ids = _book(conn, 30)
    service.upsert_enrollments(conn, [
        SimpleNamespace(member_id=m, product_id="demo-city", plan_year=2026,
                        enrolled_on=date(2025, 12, 1), premium_paid_yuan=None,
                        product_version=None)
        for m in ids
    ])  # fmt: skip
    past = re.sub(r"^plan_year = \d+", "plan_year = 2026", DEMO, count=1, flags=re.M)
    service.load_rulebook(conn, past)
    holdout.draw(conn, "demo-city", 2026)
    conn.execute(
        "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, amount_yuan, diagnosis)"
        " VALUES ('n1', %s, '2026-03-01', 60000, 'S72')",
        (ids[0],),
    )
    got = budget_scale.set_scale(conn, "demo-city", 2027)
    assert got["basis"] == "startup"
    assert 0 <= got["detail"]["effect_not_yet_credible_z"] < budget_scale.CREDIBLE_Z
