"""The 5-year portfolio simulation: deterministic, adverse selection, smoothing, the engine."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from api.pricing.rulebook import packaged_text, parse
from device_sim.portfolio import MemberState, Scenario, YearRow, simulate

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
    assert (unsmoothed[1]["charged"][has] / unsmoothed[1]["last"][has]).max() > 1.3
