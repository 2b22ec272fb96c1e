"""The randomised holdout: a stable, balanced, keyed draw; stored once; the control arm
pays the version's price without performance-linked discounts, never more."""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
import psycopg
import pytest
from scipy import stats

from api.pricing import engine, holdout, service
from api.pricing.exceptions import RulebookLocked
from api.pricing.holdout_rule import CONTROL, INCENTIVE, arms, in_control
from tests.api.pricing.helpers import add_member, add_score, demo_rulebook, indicators, inputs, row

RB = demo_rulebook()
Conn = psycopg.Connection[Any]
KEY = bytes(range(32))


def test_the_rule_is_deterministic_keyed_and_documented() -> None:
    ids = [f"m{i}" for i in range(2000)]
    a = arms(KEY, "demo-city", 2027, ids, 1000)
    assert a == arms(KEY, "demo-city", 2027, ids, 1000)  # stable
    assert a != arms(secrets.token_bytes(32), "demo-city", 2027, ids, 1000)  # keyed
    # The documented rule by hand for one member: HMAC-SHA256, first 8 bytes, < share.
    import hashlib
    import hmac

    u = int.from_bytes(hmac.new(KEY, b"demo-city|2027|m7", hashlib.sha256).digest()[:8], "big")
    assert in_control(KEY, "demo-city", 2027, "m7", 1000) == (u / 2**64 < 0.10)
    assert not any(in_control(KEY, "demo-city", 2027, m, 0) for m in ids)
    assert all(in_control(KEY, "demo-city", 2027, m, 10_000) for m in ids)


def test_the_arms_are_balanced_and_independent_of_the_cohort_and_the_year() -> None:
    """On a simulated book of 20,000: the control share is 10 % (binomial test), arm is
    independent of cohort (age band x condition, chi-squared), and of last year's arm."""
    rng = np.random.default_rng(7)
    n = 20_000
    ids = [f"sim-{i:05d}" for i in range(n)]
    a = np.array(arms(KEY, "demo-city", 2027, ids, 1000)) == CONTROL
    assert stats.binomtest(int(a.sum()), n, 0.10).pvalue > 0.001
    cohort = rng.integers(0, 5, n) * 4 + rng.integers(0, 4, n)  # 5 age bands x 4 groups
    table = np.array([[np.sum((cohort == c) & a), np.sum((cohort == c) & ~a)] for c in range(20)])
    assert stats.chi2_contingency(table).pvalue > 0.001
    b = np.array(arms(KEY, "demo-city", 2028, ids, 1000)) == CONTROL
    years = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
    assert stats.chi2_contingency(years).pvalue > 0.001


def test_the_control_arm_pays_the_versions_price_without_performance_discounts() -> None:
    good = (row(indicators(), composite=90.0),)
    on = inputs(good, holdout_arm=INCENTIVE, enrolled_years=(2025, 2026))
    off = inputs(good, holdout_arm=CONTROL, enrolled_years=(2025, 2026))
    nothing = inputs((), enrolled_years=(2025, 2026))
    for p_on, p_off, p_none in zip(
        engine.price_all(RB, on),
        engine.price_all(RB, off),
        engine.price_all(RB, nothing),
        strict=True,
    ):
        assert all(x.bp == 0 for x in p_off.lines if x.data_dependent)
        assert p_off.premium_fen == p_none.premium_fen  # the non-data lines only
        assert p_on.premium_fen <= p_off.premium_fen  # the incentive only lowers
        disclosure = next(x for x in p_off.lines if x.code == "holdout")
        assert "control" in disclosure.reason_en and "对照组" in disclosure.reason_zh
        assert "not you" in next(x for x in p_on.lines if x.code == "holdout").reason_en


def _book(conn: Conn, n: int) -> None:
    for i in range(n):
        add_member(conn, f"b{i:03d}", conditions=("hypertension",))
        add_score(conn, f"b{i:03d}", indicators(), composite=88.0)


def test_the_draw_is_stored_once_and_quotes_read_it(conn: Conn) -> None:
    _book(conn, 60)
    got = holdout.draw(conn, "demo-city", 2027)
    assert got["action"] == "drawn" and got["members"] == 60 and got["share_bp"] == 1000
    stored = dict(conn.execute(
        "SELECT member_id, arm FROM holdout_assignments WHERE plan_year = 2027"
    ).fetchall())  # fmt: skip
    assert len(stored) == 60 and got["control"] == list(stored.values()).count(CONTROL)
    again = holdout.draw(conn, "demo-city", 2027)
    assert again["action"] == "unchanged" and again["control"] == got["control"]
    key = conn.execute("SELECT draw_key FROM holdout_draws").fetchone()
    assert key is not None  # anyone with the key re-derives every arm
    assert stored == dict(zip(stored, arms(bytes(key[0]), "demo-city", 2027, list(stored), 1000),
                              strict=True))  # fmt: skip
    control = next((m for m, a in stored.items() if a == CONTROL), None)
    incentive = next(m for m, a in stored.items() if a == INCENTIVE)
    if control is not None:
        q = service.quote_member(conn, control, "demo-city", 2027)
        assert all(c.pct == 0 for c in q.components if c.data_dependent)
        assert q.inputs is not None and q.inputs.holdout_arm == CONTROL
        assert service.reproduce_quote(conn, q.quote_id or "")["identical"]
    q = service.quote_member(conn, incentive, "demo-city", 2027)
    assert any(c.pct < 0 for c in q.components if c.data_dependent)
    assert any(c.code == "holdout" for c in q.components)
    conn.execute("DELETE FROM holdout_assignments")
    conn.execute("DELETE FROM holdout_draws")
    with pytest.raises(RulebookLocked):  # drawn before the first quote, never after
        holdout.draw(conn, "demo-city", 2027)


def test_no_draw_no_holdout_line(conn: Conn) -> None:
    add_member(conn, "m1")
    q = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    assert not any(c.code == "holdout" for c in q.components)
