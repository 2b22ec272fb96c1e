"""Integrity flags hold a quote's data-dependent components; an upheld flag removes the data."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from api.pricing import service
from scoring.integrity import service as integrity
from tests.api.pricing.helpers import add_member, add_score, indicators

Conn = psycopg.Connection[Any]


def _flag(conn: Conn, start: date, end: date) -> int:
    row = conn.execute(
        "INSERT INTO integrity_flags (member_id, kind, source, period_start, period_end,"
        " evidence) VALUES ('m1', 'copied_bp_series', 'rule', %s, %s, '{}') RETURNING flag_id",
        (start, end),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_open_flag_holds_then_review_decides(conn: Conn) -> None:
    add_member(conn, "m1", conditions=("hypertension",))
    add_score(conn, "m1", indicators(), start=date(2026, 1, 1), end=date(2026, 7, 1))
    add_score(conn, "m1", indicators(), start=date(2026, 7, 1), end=date(2027, 1, 1))
    clean = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    assert clean.to_dict()["integrity_holds"] == []
    flag = _flag(conn, date(2026, 8, 1), date(2026, 9, 1))
    held = service.quote_member(conn, "m1", "demo-city", 2027)
    d = held.to_dict()
    assert [h["flag_id"] for h in d["integrity_holds"]] == [flag]
    # Held, not cut: the same premium, every data-dependent reason says it is held.
    assert held.premium == clean.premium
    for c in held.components:
        assert ("held for review" in c.reason_en) == c.data_dependent
    stored = service.get_quote(conn, held.quote_id or "")
    assert stored is not None and stored.to_dict()["integrity_holds"] == d["integrity_holds"]
    # Upheld: the second window overlaps the flagged period and is left out.
    integrity.review_flag(conn, flag, "upheld", "reviewer-1", "same readings typed in")
    after = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    assert after.inputs is not None
    assert after.inputs.windows_excluded_by_review == 1 and len(after.inputs.scores) == 1
    assert after.to_dict()["integrity_holds"] == []


def test_dismissed_flag_changes_nothing(conn: Conn) -> None:
    add_member(conn, "m1", conditions=("hypertension",))
    add_score(conn, "m1", indicators(), start=date(2026, 1, 1), end=date(2027, 1, 1))
    before = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    flag = _flag(conn, date(2026, 3, 1), date(2026, 4, 1))
    integrity.review_flag(conn, flag, "dismissed", "reviewer-2")
    after = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    assert after.premium == before.premium and after.to_dict()["integrity_holds"] == []
    assert after.components == before.components
