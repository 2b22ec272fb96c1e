"""``wellrate portfolio``'s price function: the real engine over a simulated member."""

from __future__ import annotations

from api.pricing.rulebook import packaged_text, parse
from device_sim.portfolio import MemberState
from wellrate.portfolio import make_price

RB = parse(packaged_text("demo-city", 2027) or "")


def test_incentive_prices_with_the_engine_and_rewards_the_engaged() -> None:
    price = make_price(RB)
    common = dict(
        age=62, conditions=("hypertension",), sbp=128.0, baseline_sbp=148.0, tir=None,
        baseline_tir=None, steps=8500.0, baseline_steps=6000.0, enrolled_years=2,
        claim_free_years=2,
    )  # fmt: skip
    f_eng, d_eng = price(MemberState(engaged=True, **common))  # type: ignore[arg-type]
    f_off, d_off = price(MemberState(engaged=False, **common))  # type: ignore[arg-type]
    assert d_off == 0.0 and d_eng > 0.05
    assert f_eng < f_off  # the engaged, controlled, improved member pays less
    # The factor is the engine's unsmoothed premium over the band base (a loading of 6 %
    # for hypertension, part of it earned back, less the ladder): within the rulebook limits.
    assert RB.floor_bp_of_base / 10_000 <= f_eng <= RB.ceiling_bp_of_base / 10_000
