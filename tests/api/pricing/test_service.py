"""Quotes against the real database: stored inputs, reproducibility, the rulebook lock,
consent withdrawal, smoothing across plan years with the ledger, what-if, uploads."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from api.pricing import service
from api.pricing.exceptions import InvalidWhatIf, MemberNotFound, RulebookLocked, UnknownMembers
from api.pricing.rulebook import packaged_text
from tests.api.pricing.helpers import add_member, add_score, indicators

Conn = psycopg.Connection[Any]
DEMO = packaged_text("demo-city", 2027) or ""


def _year(text: str, year: int) -> str:
    return re.sub(r"^plan_year = \d+", f"plan_year = {year}", text, count=1, flags=re.M)


def _enroll(conn: Conn, member_id: str, year: int, paid_yuan: str | None = None) -> None:
    row = SimpleNamespace(
        member_id=member_id,
        product_id="demo-city",
        plan_year=year,
        enrolled_on=date(year - 1, 12, 1),
        premium_paid_yuan=paid_yuan,
    )
    assert service.upsert_enrollments(conn, [row]) == 1


def test_a_stored_quote_keeps_its_inputs_and_reproduces_to_the_cent(conn: Conn) -> None:
    add_member(conn, "m1", conditions=("hypertension", "diabetes"))
    add_score(conn, "m1", indicators(tir=66.6666667, steps=6543.21), composite=64.2)
    _enroll(conn, "m1", 2026)
    q = service.quote_member(conn, "m1", "demo-city", 2027)
    assert q.quote_id and q.premium_fen == int(q.premium * 100)
    stored = service.get_quote(conn, q.quote_id)
    assert stored is not None and stored.premium == q.premium
    assert stored.components == q.components
    assert stored.inputs is not None
    assert [s.algorithm_version for s in stored.inputs.scores] == ["test-1"]
    assert stored.inputs.enrolled_years == (2026,)
    check = service.reproduce_quote(conn, q.quote_id)
    assert check["identical"] and check["recomputed_premium_fen"] == q.premium_fen
    assert service.get_quote(conn, "q_nope") is None
    with pytest.raises(MemberNotFound):
        service.quote_member(conn, "ghost", "demo-city", 2027)


def test_the_rulebook_is_locked_once_a_quote_was_issued(conn: Conn) -> None:
    add_member(conn, "m1")
    edited = DEMO.replace('version = "2027.4"', 'version = "2027.5"')
    assert edited != DEMO
    assert service.load_rulebook(conn, DEMO)["action"] == "stored"
    assert service.load_rulebook(conn, edited)["action"] == "replaced"  # no quote yet
    q = service.quote_member(conn, "m1", "demo-city", 2027)
    assert q.rulebook_version == "2027.5"
    assert service.load_rulebook(conn, edited)["action"] == "unchanged"
    with pytest.raises(RulebookLocked):
        service.load_rulebook(conn, DEMO)
    # The database refuses it too, whoever writes.
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE rulebooks SET content = 'x' WHERE product_id = 'demo-city'")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("DELETE FROM rulebooks WHERE product_id = 'demo-city'")
    # Another plan year is a new rulebook.
    assert service.load_rulebook(conn, _year(DEMO, 2028))["action"] == "stored"


def test_consent_withdrawal_costs_only_data_components_and_is_not_retroactive(
    conn: Conn,
) -> None:
    add_member(conn, "m1", conditions=("hypertension",))
    for start, end in ((date(2026, 1, 1), date(2026, 7, 1)), (date(2026, 7, 1), date(2027, 1, 1))):
        add_score(conn, "m1", indicators(tir=None), start=start, end=end, composite=85.0)
    for y in (2024, 2025, 2026):
        _enroll(conn, "m1", y)
    before = service.quote_member(conn, "m1", "demo-city", 2027)
    conn.execute(  # pricing reads under the member's demo-city pricing consent
        "UPDATE consents SET withdrawn_at = %s WHERE member_id = 'm1'"
        " AND purpose = 'insurer_pricing' AND product_id = 'demo-city'",
        (datetime(2026, 7, 15, tzinfo=UTC),),
    )
    after = service.quote_member(conn, "m1", "demo-city", 2027)
    by = {c.code: c for c in before.components}
    af = {c.code: c for c in after.components}
    assert after.inputs is not None and after.inputs.windows_excluded_after_consent == 1
    # The first half-year still counts: engagement is reduced, not lost.
    assert by["engagement"].pct < af["engagement"].pct < 0
    assert "consent" in af["engagement"].reason_en
    # Components that need no data are untouched.
    for code in ("ladder", "risk_loading"):
        assert af[code].pct == by[code].pct
    # The quote issued before the withdrawal is unchanged and still reproduces.
    old = service.get_quote(conn, before.quote_id or "")
    assert old is not None and old.premium == before.premium
    assert service.reproduce_quote(conn, before.quote_id or "")["identical"]


def test_smoothing_across_plan_years_balances_the_ledger(conn: Conn) -> None:
    add_member(conn, "m1", conditions=())
    for year in (2027, 2028, 2029):
        service.load_rulebook(conn, _year(DEMO, year))
        add_score(
            conn,
            "m1",
            indicators(),
            start=date(year - 1, 1, 1),
            end=date(year, 1, 1),
            composite=85.0,
        )
    _enroll(conn, "m1", 2026, paid_yuan="300.00")  # last year's premium: a rate shock
    last = 30000
    booked = 0
    for year in (2027, 2028, 2029):
        q = service.quote_member(conn, "m1", "demo-city", year)
        unsmoothed = int(q.unsmoothed_premium * 100)
        assert q.smoothing["applied"]
        assert abs(q.premium_fen - last) <= round(last * 0.15) + 1
        booked += q.premium_fen - unsmoothed
        last = q.premium_fen
    ledger = conn.execute("SELECT sum(amount_fen), count(*) FROM smoothing_ledger").fetchone()
    assert ledger == (booked, 3)
    # A re-quote supersedes the year's entry instead of booking it twice.
    service.quote_member(conn, "m1", "demo-city", 2029)
    again = conn.execute("SELECT sum(amount_fen), count(*) FROM smoothing_ledger").fetchone()
    assert again == (booked, 3)
    report = service.portfolio_report(conn, "demo-city", 2029)
    fund = report["smoothing_fund"]
    balance = 5_000_000 + booked  # the rulebook's starting capital, 50,000 yuan, plus the ledger
    assert fund["balance"] == f"{balance // 100}.{balance % 100:02d}"
    assert fund["starting_capital"] == "50000.00" and fund["solvency_floor"] == "-50000.00"
    assert fund["must_reprice"] is False
    # A deficit beyond the floor: the report says the product must reprice.
    conn.execute(
        "INSERT INTO smoothing_ledger (product_id, plan_year, member_id, amount_fen, quote_id)"
        " SELECT product_id, 2030, member_id, -20000000, quote_id FROM smoothing_ledger LIMIT 1"
    )
    assert service.portfolio_report(conn, "demo-city", 2029)["smoothing_fund"]["must_reprice"]


def test_what_if_recomputes_and_is_never_stored(conn: Conn) -> None:
    add_member(conn, "m1", conditions=("diabetes",))
    add_score(conn, "m1", indicators(tir=45.0, steps=None), composite=50.0)
    base = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    sim = service.quote_member(conn, "m1", "demo-city", 2027, what_if={"cgm.tir": 75})
    assert sim.quote_id is None and sim.premium < base.premium
    ctl = next(c for c in sim.components if c.code == "control")
    assert "75%" in ctl.reason_en
    assert conn.execute("SELECT count(*) FROM quotes").fetchone() == (0,)
    with pytest.raises(InvalidWhatIf) as info:
        service.quote_member(conn, "m1", "demo-city", 2027, what_if={"cgm.tir": 140})
    assert info.value.errors[0]["field"] == "what_if.cgm.tir"
    with pytest.raises(InvalidWhatIf):
        service.quote_member(conn, "m1", "demo-city", 2027, what_if={"mood.happy": 1})


def test_what_if_adherence_moves_every_version(conn: Conn) -> None:
    """A diabetic member without dispensing records asks "what if I took my medicines 90 %
    of days": the adherence line appears, every version's premium falls by the same share."""
    add_member(conn, "m1", conditions=("diabetes",))
    add_score(conn, "m1", indicators(tir=80.0, steps=None, pdc=None), composite=70.0)
    now = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    sim = service.quote_member(conn, "m1", "demo-city", 2027, what_if={"adherence.pdc_pct": 90})
    line = {c.code: c for c in sim.components}["adherence"]
    assert line.pct < 0 and "glucose_lowering 90%" in line.reason_en
    assert {c.code: c for c in now.components}["adherence"].pct == 0
    assert all(
        a["premium_fen"] < b["premium_fen"] for a, b in zip(sim.versions, now.versions, strict=True)
    )
    with pytest.raises(InvalidWhatIf):
        service.quote_member(conn, "m1", "demo-city", 2027, what_if={"adherence.pdc_pct": 120})


def test_uploads_name_unknown_members_and_claims_reset_the_ladder(conn: Conn) -> None:
    add_member(conn, "m1")
    for y in (2025, 2026):
        _enroll(conn, "m1", y)
    ladder = next(
        c
        for c in service.quote_member(conn, "m1", "demo-city", 2027).components
        if c.code == "ladder"
    )
    claim = SimpleNamespace(
        claim_id="k1",
        member_id="m1",
        admitted_on=date(2026, 3, 1),
        discharged_on=None,
        amount_yuan=0,
        diagnosis=None,
    )
    ghost = SimpleNamespace(**{**claim.__dict__, "claim_id": "k2", "member_id": "ghost"})
    with pytest.raises(UnknownMembers) as info:
        service.upsert_claims(conn, [claim, ghost])
    assert info.value.errors == [{"field": "rows[1].member_id", "message": "unknown member"}]
    assert service.upsert_claims(conn, [claim]) == 1
    after = next(
        c
        for c in service.quote_member(conn, "m1", "demo-city", 2027).components
        if c.code == "ladder"
    )
    assert after.pct > ladder.pct  # smaller discount after a claim in the last year


def test_standing_says_what_would_lower_the_premium(conn: Conn) -> None:
    add_member(conn, "m1", conditions=("hypertension",))
    add_score(conn, "m1", indicators(bp_controlled=False), start=date(2026, 9, 1), composite=40.0)
    out = service.member_standing(conn, "m1", "demo-city", 2027)
    codes = {x["code"] for x in out["what_would_lower_it"]}
    assert {"engagement", "control", "improvement"} <= codes
    assert all(x["how_en"] and x["how_zh"] for x in out["what_would_lower_it"])
    assert conn.execute("SELECT count(*) FROM quotes").fetchone() == (0,)


def test_clinic_taken_readings_earn_engagement_without_a_device(conn: Conn) -> None:
    add_member(conn, "m1", conditions=("hypertension",))
    add_member(conn, "m2", conditions=("hypertension",))
    for month in range(1, 11):
        for m, source in (("m1", "clinic"), ("m2", "device")):
            conn.execute(
                "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
                " systolic, diastolic, validated, source) VALUES (%s, %s, %s, 480, 128, 80,"
                " true, %s)",
                (f"dev-{m}", datetime(2026, month, 10, 1, tzinfo=UTC), m, source),
            )
    clinic = service.quote_member(conn, "m1", "demo-city", 2027, store=False)
    device = service.quote_member(conn, "m2", "demo-city", 2027, store=False)
    eng = next(c for c in clinic.components if c.code == "engagement")
    assert eng.pct < 0 and "clinic" in eng.reason_en and "社区诊所" in eng.reason_zh
    # Device readings count through their scores, not through this alternative.
    assert next(c for c in device.components if c.code == "engagement").pct == 0


def test_what_if_recomputes_the_composite_with_scoring(conn: Conn) -> None:
    """The what-if composite is scoring's own; the improvement moves with it."""
    from scoring.composite import composite_score
    from scoring.config import ScoringConfig

    add_member(conn, "m1", conditions=("diabetes",))
    ind = indicators(tir=40.0)
    add_score(conn, "m1", ind, composite=60.0, improvement=0.0)
    sim = service.quote_member(conn, "m1", "demo-city", 2027, what_if={"cgm.tir": 80})
    assert sim.inputs is not None
    row = sim.inputs.scores[-1]
    assert row.indicators["cgm"]["tir"] == 80
    expected = composite_score(
        row.indicators, conditions=("diabetes",), window_days=365, config=ScoringConfig()
    ).composite
    assert expected is not None and row.composite == expected
    assert row.improvement == pytest.approx(expected - 60.0)
    imp = next(c for c in sim.components if c.code == "improvement")
    assert imp.pct < 0
