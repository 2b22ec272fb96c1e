"""The pure premium arithmetic: each component, caps and floors, fairness rules, smoothing.

Expected values are derived from the rulebook's own parameters, so the tests say what the
rules mean rather than restating numbers.
"""

from __future__ import annotations

import re
from dataclasses import replace

from api.pricing import engine
from api.pricing.components import Line
from api.pricing.inputs import QuoteInputs
from api.pricing.money import dec, earn, fen_of, fmt_bp
from api.pricing.rulebook import Rulebook, packaged_text, parse
from tests.api.pricing.helpers import demo_rulebook, indicators, inputs, row

RB = demo_rulebook()


def line(p: engine.Priced, code: str) -> Line:
    return next(x for x in p.lines if x.code == code)


def healthy() -> QuoteInputs:
    return inputs((row(indicators(), composite=85.0, improvement=0.0),))


def test_full_attainment_earns_the_whole_budget_and_the_loading_back() -> None:
    p = engine.price(RB, healthy())
    base = RB.band_for(55).base_fen
    assert p.base_fen == base
    assert line(p, "engagement").bp == -RB.engagement.max_bp
    assert line(p, "control").bp == -RB.control.max_bp
    assert line(p, "improvement").bp == -RB.improvement.max_bp
    assert p.discount_bp == RB.budget_bp
    loading = RB.loading_bp["diabetes"] + RB.loading_bp["hypertension"]
    assert line(p, "risk_loading").bp == loading
    assert line(p, "risk_earn_back").bp == -loading  # earn_back_max_share = 1
    assert p.premium_fen == base - fen_of(base, RB.budget_bp)
    assert all(x.reason_en and x.reason_zh for x in p.lines)


def test_reasons_state_the_evidence_in_both_languages() -> None:
    p = engine.price(RB, inputs((row(indicators(months=(10, 12))),)))
    ctl = line(p, "control")
    assert "home BP controlled in 10 of 12 months" in ctl.reason_en
    assert "居家血压12个月中10个月达标" in ctl.reason_zh
    assert fmt_bp(ctl.bp) in ctl.reason_en and fmt_bp(ctl.bp) in ctl.reason_zh
    assert fmt_bp(-400) == "−4%" and fmt_bp(-125) == "−1.25%"


def test_insufficient_is_neutral_not_bad_and_withholding_never_pays() -> None:
    good = engine.price(RB, inputs((row(indicators(tir=80.0)),)))
    no_cgm = engine.price(RB, inputs((row(indicators(tir=None)),)))
    bad_cgm = engine.price(RB, inputs((row(indicators(tir=30.0)),)))
    # A condition without data earns nothing for it (it was left out of the average, so
    # withholding a bad indicator raised it): exactly what a bad TIR earns, never less.
    assert line(no_cgm, "control").bp == line(bad_cgm, "control").bp
    assert line(bad_cgm, "control").bp > line(good, "control").bp
    assert no_cgm.premium_fen >= bad_cgm.premium_fen
    nothing = engine.price(RB, inputs((row(indicators(bp_controlled=None, tir=None, steps=None)),)))
    ctl = line(nothing, "control")
    assert ctl.bp == 0 and "without enough data earns nothing" in ctl.reason_en
    assert all(x.bp <= 0 for x in nothing.lines if x.code != "risk_loading")


def test_control_follows_the_members_conditions() -> None:
    ind = indicators(bp_controlled=False, tir=80.0)
    with_htn = engine.price(RB, inputs((row(ind),), conditions=("diabetes", "hypertension")))
    without = engine.price(RB, inputs((row(ind),), conditions=("diabetes",)))
    assert line(without, "control").bp < line(with_htn, "control").bp  # BP not held against


def test_targets_are_adjusted_for_age() -> None:
    ind = indicators(bp_controlled=None, tir=55.0, steps=None)
    young = engine.price(RB, inputs((row(ind),), age=50, conditions=("diabetes",)))
    older = engine.price(RB, inputs((row(ind),), age=70, conditions=("diabetes",)))
    # Battelino 2019: TIR > 50 % for older people, > 70 % otherwise.
    assert line(older, "control").bp == -RB.control.max_bp
    assert line(young, "control").bp > line(older, "control").bp


def test_members_who_start_sick_earn_improvement_in_full_but_control_only_for_control() -> None:
    """Progress against one's own baseline earns the improvement component in full; it no
    longer stands in for control (activity moves the composite, and activity is not
    control): uncontrolled BP and TIR 45 % earn what they are, 0 and a sixth."""
    sick = inputs(
        (row(indicators(bp_controlled=False, tir=45.0), composite=55.0, improvement=12.0),)
    )
    p = engine.price(RB, sick)
    assert line(p, "improvement").bp == -RB.improvement.max_bp
    assert line(p, "control").bp == -earn(RB.control.max_bp, (dec(0) + dec(5) / 30) / 2)
    no_progress = replace(sick, scores=(replace(sick.scores[0], improvement=1.0),))
    assert engine.price(RB, no_progress).discount_bp < p.discount_bp


def test_engagement_counts_sufficient_days_and_clinic_months() -> None:
    quarter = inputs((row(indicators(), start="2026-01-01", end="2026-04-01"),))
    p = engine.price(RB, quarter)
    days = 90
    expected = earn(RB.engagement.max_bp, dec(days) / RB.engagement_full_days)
    assert line(p, "engagement").bp == -expected
    assert "90 of 365 days" in line(p, "engagement").reason_en
    # Overlapping windows are not counted twice.
    dup = inputs((quarter.scores[0], row(indicators(), start="2026-02-01", end="2026-04-01")))
    assert line(engine.price(RB, dup), "engagement").bp == -expected
    # No device: readings taken at the clinic in enough months earn engagement too.
    clinic = inputs((), clinic_months=RB.engagement_clinic_months_full)
    eng = line(engine.price(RB, clinic), "engagement")
    assert eng.bp == -RB.engagement.max_bp and "clinic" in eng.reason_en


def test_claim_free_ladder_and_claims_reset_it() -> None:
    three = inputs((), enrolled_years=(2024, 2025, 2026))
    assert line(engine.price(RB, three), "ladder").bp == -RB.ladder_bp[3]
    claimed = replace(three, claim_years=(2025,))
    assert line(engine.price(RB, claimed), "ladder").bp == -RB.ladder_bp[1]
    gap = inputs((), enrolled_years=(2023, 2024, 2026))  # not continuous
    assert line(engine.price(RB, gap), "ladder").bp == -RB.ladder_bp[1]
    long = inputs((), enrolled_years=tuple(range(2010, 2027)))
    assert line(engine.price(RB, long), "ladder").bp == -RB.ladder_bp[-1]


def _variant(**subs: str) -> Rulebook:
    text = packaged_text("demo-city", 2027) or ""
    for key, value in subs.items():
        text, n = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
        assert n == 1
    return parse(text)


def test_discounts_are_capped() -> None:
    rb = _variant(budget_pct="40", max_total_pct="10")
    p = engine.price(rb, replace(healthy(), enrolled_years=(2025, 2026)))
    assert p.discount_bp == rb.max_discount_bp
    assert line(p, "discount_cap").bp > 0


def test_premium_floor_and_ceiling() -> None:
    rb = _variant(floor_pct_of_base="95")
    p = engine.price(rb, healthy())
    assert p.premium_fen == fen_of(p.base_fen, rb.floor_bp_of_base)
    assert any(x.code == "floor" for x in p.lines)
    rb2 = _variant(ceiling_pct_of_base="105", earn_back_max_share="0")
    p2 = engine.price(rb2, inputs(()))  # no data: full loading, no discount
    assert p2.premium_fen == fen_of(p2.base_fen, rb2.ceiling_bp_of_base)


def test_smoothing_bounds_each_year_and_books_the_difference() -> None:
    inp = healthy()
    target = engine.price(RB, inp).unsmoothed_fen
    last = 3 * target  # a rate shock: last year's premium far above this year's
    for _ in range(12):
        p = engine.price(RB, replace(inp, last_premium_fen=last))
        assert abs(p.premium_fen - last) <= fen_of(last, RB.max_yoy_bp) + 1
        assert p.ledger_fen == p.premium_fen - p.unsmoothed_fen
        if p.smoothing["applied"]:
            assert p.smoothing["reason_en"] and p.smoothing["reason_zh"]
        last = p.premium_fen
    assert last == target  # converged once within the bound


def test_the_smoothing_cap_limits_the_change_either_way_and_only_with_a_last_premium() -> None:
    bound = RB.max_yoy_bp
    # +100 %: held at last year + the bound; the fund pays the rest of the rise
    up, doc = engine.smoothing(RB, 20_000, 10_000)
    assert up == 10_000 + fen_of(10_000, bound) and doc["applied"]
    assert "paid by" in doc["reason_en"] and doc["bound_pct"] == bound / 100
    # -50 %: held at last year - the bound; what the member still pays is credited to it
    down, doc = engine.smoothing(RB, 5_000, 10_000)
    assert down == 10_000 - fen_of(10_000, bound) and "credited to" in doc["reason_en"]
    assert engine.smoothing(RB, 10_100, 10_000) == (
        10_100,
        {"applied": False, "last_premium_fen": 10_000},
    )
    assert engine.smoothing(RB, 20_000, None) == (
        20_000,
        {"applied": False, "last_premium_fen": None},
    )


def test_identical_inputs_give_the_identical_premium() -> None:
    inp = inputs(
        (row(indicators(tir=73.3333333333, steps=6123.7), composite=61.7, improvement=4.4),),
        last_premium_fen=15999,
    )
    a = engine.price(RB, inp)
    b = engine.price(RB, QuoteInputs.from_json(inp.to_json()))
    assert a == b
