"""The pricing review's cases and properties: reward only what the member controls.

Each case is a quote from the engine on the demo-city rulebook, with the score rows built by
scoring's own control block (``tests.api.pricing.helpers.inputs``).
"""

from __future__ import annotations

from dataclasses import replace

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from api.pricing import engine
from api.pricing.components import Line
from api.pricing.inputs import QuoteInputs
from api.pricing.money import fen_of
from tests.api.pricing.helpers import demo_rulebook, indicators, inputs, row

RB = demo_rulebook()
HT = ("hypertension",)


def _line(p: engine.Priced, code: str) -> Line:
    return next(x for x in p.lines if x.code == code)


def _ht(months: tuple[int, int] | None, steps: float) -> QuoteInputs:
    ind = indicators(
        bp_controlled=None if months is None else months[0] * 2 >= months[1],
        months=months, tir=None, steps=steps,
    )  # fmt: skip
    return inputs((row(ind, composite=60.0, improvement=0.0),), conditions=HT)


def test_withholding_bp_data_never_beats_sending_it() -> None:
    """The review: BP controlled 0/12 months and 7,000 steps paid -6.5 %; the same member
    sending no BP data paid -14.0 %, better than 12/12 months with 3,000 steps (-9.7 %)."""
    bad = engine.price(RB, _ht((0, 12), 7000))
    none = engine.price(RB, _ht(None, 7000))
    good = engine.price(RB, _ht((12, 12), 3000))
    assert none.premium_fen >= bad.premium_fen
    assert good.premium_fen < bad.premium_fen and good.premium_fen < none.premium_fen
    assert _line(none, "control").bp == _line(bad, "control").bp == 0
    assert _line(none, "improvement").bp == 0  # the composite without BP is not comparable


def test_activity_is_its_own_line_never_control() -> None:
    p = engine.price(RB, _ht((0, 3), 5722))
    ctl, act = _line(p, "control"), _line(p, "activity")
    assert ctl.bp == 0 and "steps" not in ctl.reason_en
    assert act.bp < 0 and "5722 steps a day" in act.reason_en and "5722步" in act.reason_zh
    # Credited from 3,000 steps, not from zero: 2,722 of the 4,000 steps between 3k and 7k.
    assert act.attainment is not None and abs(float(act.attainment) - 2722 / 4000) < 1e-9
    # The loading is earned back by BP control only, so none of it here.
    assert _line(p, "risk_earn_back").bp == 0


def test_over_treated_diabetes_earns_no_control_and_no_earn_back() -> None:
    ind = indicators(bp_controlled=None, tir=86.0, steps=None)
    ind["cgm"].update(tbr70=5.7, tbr54=2.1, hypo_l2_events=16)
    p = engine.price(RB, inputs((row(ind),), conditions=("diabetes",)))
    assert _line(p, "control").bp == 0 and "hypoglycaemia" in _line(p, "control").reason_en
    assert _line(p, "risk_earn_back").bp == 0


_months = st.one_of(
    st.none(), st.integers(1, 12).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
)


@settings(max_examples=80, deadline=None)
@given(
    months=_months,
    tir=st.one_of(st.none(), st.floats(0, 100)),
    steps=st.one_of(st.none(), st.floats(0, 20_000)),
    age=st.integers(18, 95),
    conditions=st.sampled_from(
        [(), ("hypertension",), ("diabetes",), ("hypertension", "diabetes"), ("ckd",)]
    ),
)
def test_sending_data_never_costs_more_than_withholding_it(
    months: tuple[int, int] | None, tir: float | None, steps: float | None, age: int,
    conditions: tuple[str, ...],
) -> None:  # fmt: skip
    """Whatever the data say, a member who sends it pays no more than one who sends none of
    that domain (same composite and history: the comparison isolates the data)."""
    ind = indicators(
        bp_controlled=None if months is None else months[0] * 2 >= months[1],
        months=months, tir=tir, steps=steps,
    )  # fmt: skip
    sent = inputs((row(ind),), age=age, conditions=conditions)
    for domain in ("bp", "cgm", "activity"):
        withheld = {**ind, domain: {"sufficient": False}}
        held = inputs((row(withheld),), age=age, conditions=conditions)
        assert engine.price(RB, sent).premium_fen <= engine.price(RB, held).premium_fen, domain


@settings(max_examples=60, deadline=None)
@given(
    tir=st.floats(0, 99), more=st.floats(0.5, 30), age=st.integers(18, 95),
    steps=st.floats(0, 12_000), more_steps=st.floats(1, 5000),
)  # fmt: skip
def test_improving_an_own_indicator_never_raises_the_premium(
    tir: float, more: float, age: int, steps: float, more_steps: float
) -> None:
    def quote(t: float, s: float) -> int:
        ind = indicators(bp_controlled=None, tir=t, steps=s)
        return engine.price(RB, inputs((row(ind),), age=age, conditions=("diabetes",))).premium_fen

    assert quote(min(100.0, tir + more), steps) <= quote(tir, steps)
    assert quote(tir, steps + more_steps) <= quote(tir, steps)


def test_no_device_and_no_clinic_contact_pays_the_base_plus_loading() -> None:
    """No data at all: every data component is 0, the loading stays, nothing earns it back."""
    p = engine.price(RB, replace(inputs((), conditions=HT)))
    assert all(x.bp == 0 for x in p.lines if x.data_dependent)
    assert p.premium_fen == p.base_fen + p.base_fen * RB.loading_bp["hypertension"] // 10_000


def test_a_member_without_a_device_reaches_the_device_users_maximum() -> None:
    """Office BP at enough visits and a lab HbA1c on target earn control, improvement and
    the loading back in full, dispensing records adherence, clinic months engagement, and
    the exercise the follow-up form records activity: every line a device user earns."""
    office = {"sufficient": True, "controlled": True, "mean_sys": 126.0, "mean_dia": 76.0,
              "visits": 4, "target_sys": 130.0, "target_dia": 80.0}  # fmt: skip
    a1c = {"sufficient": True, "controlled": True, "value_pct": 6.8, "target_pct": 7.0}
    pdc = {"antihypertensive": {"pdc": 0.92, "adherent": True, "sufficient": True}}
    ex = {"minutes_per_week": 150.0, "meets_who": True, "sufficient": True}
    ind = {"office_bp": office, "hba1c": a1c, "adherence": pdc, "clinic_exercise": ex}
    clinic = inputs(
        (row(ind, composite=None, improvement=None),),
        clinic_months=RB.engagement_clinic_months_full,
    )
    device = inputs((row(indicators(meets_who=True), composite=85.0, improvement=0.0),))
    p, q = engine.price(RB, clinic), engine.price(RB, device)
    codes = ("engagement", "control", "activity", "adherence", "improvement", "risk_earn_back")
    for code in codes:
        assert _line(p, code).bp == _line(q, code).bp, code
    assert p.discount_bp == q.discount_bp == RB.budget_bp
    assert "clinic's follow-up: 150 min a week" in _line(p, "activity").reason_en
    # Less exercise earns its share; with a step counter too, the better source counts.
    half = {**ind, "clinic_exercise": {**ex, "minutes_per_week": 75.0, "meets_who": False}}
    some = engine.price(RB, inputs((row(half, composite=None, improvement=None),)))
    assert _line(some, "activity").bp == -RB.activity.max_bp // 2
    both = {**half, "activity": {"sufficient": True, "median_steps": 3000.0, "meets_who": False}}
    mixed = engine.price(RB, inputs((row(both, composite=None, improvement=None),)))
    assert _line(mixed, "activity").bp == _line(some, "activity").bp


_conds = st.sampled_from(
    [(), ("hypertension",), ("diabetes",), ("hypertension", "diabetes"), ("ckd",),
     ("hyperlipidaemia",)]
)  # fmt: skip
_years = st.lists(st.integers(2019, 2026), unique=True, max_size=8).map(tuple)


@settings(max_examples=80, deadline=None)
@given(
    conditions=_conds, age=st.integers(0, 110), enrolled=_years, claims=_years,
    version=st.sampled_from([None, "standard", "preferred"]),
)  # fmt: skip
def test_no_device_and_no_clinic_contact_pays_the_base_less_only_non_data_components(
    conditions: tuple[str, ...], age: int, enrolled: tuple[int, ...], claims: tuple[int, ...],
    version: str | None,
) -> None:  # fmt: skip
    """Every data-dependent line is 0: the premium is the version's base, the declared
    loading and the claim-free ladder, held between the product's floor and ceiling."""
    inp = inputs((), age=age, conditions=conditions, enrolled_years=enrolled,
                 claim_years=claims, held_version=version)  # fmt: skip
    for p in engine.price_all(RB, inp):
        assert all(x.bp == 0 for x in p.lines if x.data_dependent), p.lines
        raw = p.base_fen + fen_of(p.base_fen, p.loading_bp - p.discount_bp)
        assert p.premium_fen == engine.limits(RB, p.base_fen, raw)[0]
        non_data = sum(x.bp for x in p.lines if not x.data_dependent)
        assert non_data == p.loading_bp - p.discount_bp


@settings(max_examples=80, deadline=None)
@given(
    tir=st.one_of(st.none(), st.floats(0, 100)), steps=st.one_of(st.none(), st.floats(0, 20_000)),
    conditions=_conds, age=st.integers(18, 95), last=st.integers(1_000, 40_000),
    version=st.sampled_from([None, "standard", "preferred"]), enrolled=_years,
)  # fmt: skip
def test_every_quote_moves_within_the_year_on_year_cap_and_reproduces(
    tir: float | None, steps: float | None, conditions: tuple[str, ...], age: int, last: int,
    version: str | None, enrolled: tuple[int, ...],
) -> None:  # fmt: skip
    """Against last year's premium for the version held, the change is within the cap; and
    the inputs as stored (JSON) give the same premium on every version to the fen."""
    ind = indicators(bp_controlled=None, tir=tir, steps=steps)
    inp = inputs((row(ind),), age=age, conditions=conditions, last_premium_fen=last,
                 held_version=version, enrolled_years=enrolled)  # fmt: skip
    held = engine.price(RB, inp)
    cap = fen_of(last, RB.max_yoy_bp)
    assert last - cap <= held.premium_fen <= last + cap
    again = QuoteInputs.from_json(orjson.loads(orjson.dumps(inp.to_json())))
    assert [p.premium_fen for p in engine.price_all(RB, again)] == [
        p.premium_fen for p in engine.price_all(RB, inp)
    ]


@settings(max_examples=60, deadline=None)
@given(pdc=st.floats(0, 1), more=st.floats(0.01, 0.5), conditions=_conds)
def test_better_adherence_never_raises_the_premium(
    pdc: float, more: float, conditions: tuple[str, ...]
) -> None:
    def quote(x: float | None) -> int:
        ind = indicators(pdc=x)
        return engine.price(RB, inputs((row(ind),), conditions=conditions)).premium_fen

    assert quote(min(1.0, pdc + more)) <= quote(pdc) <= quote(None)
