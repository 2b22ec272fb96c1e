"""The 5-year portfolio simulation: deterministic, adverse selection, smoothing, the engine."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from api.pricing.rulebook import packaged_text, parse
from device_sim.portfolio import MemberState, Scenario, YearRow, simulate, sources, verdict

RB = parse(packaged_text("demo-city", 2027) or "")


def base(age: int) -> float:
    return RB.band_for(max(0, min(130, age))).base_fen / 100.0


def flat(_: MemberState) -> tuple[float, float]:
    return 1.0, 0.0


def shock(s: MemberState) -> tuple[float, float]:
    """+40 % for everyone from their second year on."""
    return (1.4 if s.enrolled_years >= 1 else 1.0), 0.0


def _run(price: Any, **kw: Any) -> list[YearRow]:
    sc = Scenario(incentive=True, smoothing=kw.pop("smoothing", False), name="t")
    return simulate(
        sc, price=price, base=base, members=kw.pop("members", 3000), years=3, seed=4, **kw
    )


def test_deterministic_under_a_seed() -> None:
    a = _run(flat)
    b = _run(flat)
    assert [r.__dict__ for r in a] == [r.__dict__ for r in b]
    c = simulate(Scenario(False, False), price=flat, base=base, members=3000, years=3, seed=5)
    assert [r.pool for r in c] != [r.pool for r in a] or c[0].loss_ratio != a[0].loss_ratio


def test_a_premium_shock_drives_the_healthy_out_first() -> None:
    calm, shocked = _run(flat, members=8000), _run(shock, members=8000)
    # More leave after the shock, and those who stay are older and sicker than without it.
    assert shocked[1].renewal_rate < calm[1].renewal_rate - 0.1
    assert shocked[2].share_with_conditions > calm[2].share_with_conditions
    assert shocked[2].share_60_plus > calm[2].share_60_plus


def test_smoothing_bounds_each_members_change_and_the_fund_is_the_ledger() -> None:
    trace: list[dict[str, Any]] = []
    rows = _run(shock, smoothing=True, trace=trace, max_yoy=0.15)
    moved = 0.0
    for t in trace:
        has = ~np.isnan(t["last"])
        ratio = t["charged"][has] / t["last"][has]
        assert np.all(ratio <= 1.15 + 1e-9) and np.all(ratio >= 0.85 - 1e-9)
        moved += float((t["charged"] - t["unsmoothed"]).sum())
    assert rows[-1].fund_balance == pytest.approx(moved)
    assert moved < 0  # the +40 % shock was capped: the fund paid the difference
    unsmoothed: list[dict[str, Any]] = []
    _run(shock, smoothing=False, trace=unsmoothed)
    has = ~np.isnan(unsmoothed[1]["last"])
    assert (unsmoothed[1]["charged"][has] / unsmoothed[1]["last"][has]).max() > 1.15


def test_the_uniform_price_baseline_spirals_as_the_seeds_describe() -> None:
    """No incentive, one price: the healthy renew less than the sick, the pool shrinks,
    ages and sickens, and the insurer is forced to raise the price (the calibration)."""
    rows = simulate(Scenario(False, False), price=flat, base=lambda _: 89.0, members=20_000,
                    years=5, seed=1)  # fmt: skip
    first, last = rows[0], rows[-1]
    growth = (last.mean_premium / first.mean_premium) ** (1 / 4) - 1
    assert growth > 0.05 and last.pool < 0.85 * first.pool
    assert last.share_with_conditions > first.share_with_conditions + 0.05
    assert last.share_60_plus > first.share_60_plus + 0.05
    assert all(r.renewal_healthy < r.renewal_conditions for r in rows)
    assert verdict(rows, rows).endswith("DEATH SPIRAL")


def test_every_parameter_says_where_it_comes_from() -> None:
    got = sources()
    assert len(got) >= 20
    for name, _, src in got:
        assert src.startswith("ASSUMPTION") or any(ch.isdigit() for ch in src), name


def test_self_selection_engages_the_healthy_and_motivated_more() -> None:
    from device_sim.outcomes import population
    from device_sim.portfolio import _engages
    from device_sim.portfolio_params import _with_conditions

    pop = population(20_000, 3)
    rng = np.random.default_rng(0)
    motivation = rng.standard_normal(pop.size)
    e = _engages(pop, motivation, rng)
    healthy = ~_with_conditions(pop)
    assert e[healthy].mean() > e[~healthy].mean() + 0.05
    assert e[motivation > 1].mean() > e[motivation < -1].mean() + 0.2
