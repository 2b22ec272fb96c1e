"""Versions, benefits and the deductible ladder: pure engine and benefit arithmetic."""

from __future__ import annotations

from dataclasses import replace

import pytest

from api.pricing import benefits, engine
from api.pricing.money import fen_of
from api.pricing.quote import versions_json
from api.pricing.versions import Benefits
from tests.api.pricing.helpers import demo_rulebook, indicators, inputs, row

RB = demo_rulebook()


def test_every_version_is_priced_with_the_same_discount_share() -> None:
    inp = inputs((row(indicators(), composite=85.0),))
    held, every = engine.price_versions(RB, inp)
    assert [p.version_id for p in every] == ["standard", "preferred"]
    assert held.version_id == "standard"  # no enrollment: the default version
    assert [p.base_fen for p in every] == [8900, 12900]
    for p in every:
        assert p.discount_bp == held.discount_bp
        assert p.unsmoothed_fen == p.base_fen + fen_of(p.base_fen, p.loading_bp - p.discount_bp)


def test_the_held_version_is_the_one_priced_and_smoothed() -> None:
    """Last year's premium holds back only the version the member held: moving to another
    version is a choice of product, which the smoothing fund does not subsidise."""
    inp = inputs(
        (row(indicators(), composite=85.0),),
        held_version="standard",
        last_premium_fen=6000,
        enrolled_years=(2026,),
    )
    held, every = engine.price_versions(RB, inp)
    std, pref = every
    assert held is std and std.smoothing["applied"]
    assert std.premium_fen == fen_of(6000, 10_000 + RB.max_yoy_bp)  # capped at +15 %
    assert not pref.smoothing["applied"] and pref.premium_fen == pref.unsmoothed_fen
    upgraded = engine.price(RB, replace(inp, held_version="preferred"))
    assert upgraded.version_id == "preferred" and upgraded.smoothing["applied"]


def test_an_unknown_held_version_falls_back_to_the_default() -> None:
    p = engine.price(RB, inputs((), held_version="discontinued"))
    assert p.version_id == "standard"


@pytest.mark.parametrize(
    ("enrolled", "claims", "standard", "preferred"),
    [
        ((), (), 1_500_000, 1_200_000),
        ((2026,), (), 1_400_000, 1_100_000),
        ((2024, 2025, 2026), (), 1_200_000, 900_000),
        ((2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026), (), 1_000_000, 800_000),  # floors
        ((2024, 2025, 2026), (2025,), 1_400_000, 1_100_000),  # a claim resets the run
        ((2023, 2024, 2026), (), 1_400_000, 1_100_000),  # a gap ends it
    ],
)
def test_continuous_enrollment_cuts_the_deductible_to_its_floor(
    enrolled: tuple[int, ...], claims: tuple[int, ...], standard: int, preferred: int
) -> None:
    inp = inputs((), enrolled_years=enrolled, claim_years=claims)
    got = [benefits.terms(RB, v, inp) for v in RB.versions]
    assert [t["deductible_fen"] for t in got if t] == [standard, preferred]
    for t in got:
        assert t is not None and t["reason_en"] and t["reason_zh"]
        if t["continuous_years"]:
            assert "continuous" in t["reason_en"] and "连续参保" in t["reason_zh"]


def test_the_quote_lists_every_version_with_premium_and_benefits() -> None:
    inp = inputs((row(indicators(), composite=85.0),), conditions=("hypertension",))
    _, every = engine.price_versions(RB, inp)
    doc = versions_json(RB, inp, every)
    assert [(v["version_id"], v["name_zh"], v["held"]) for v in doc] == [
        ("standard", "普惠款", True),
        ("preferred", "优选款", False),
    ]
    std = doc[0]["benefits"]
    assert std["rates"] == {
        "in_list_pct": "80.00", "out_of_list_pct": "60.00", "special_drugs_pct": "70.00",
        "preexisting_pct": "40.00",
    }  # fmt: skip
    assert "pre-existing" in std["reason_en"] and "既往症" in std["reason_zh"]


B = Benefits(
    deductible_fen=1_000_000,
    deductible_cut_fen=100_000,
    deductible_floor_fen=800_000,
    rate_in_list_bp=8000,
    rate_out_of_list_bp=6000,
    rate_special_drugs_bp=7000,
    rate_preexisting_bp=4000,
    cap_fen=5_000_000,
)


def test_payout_applies_the_deductible_the_rates_and_the_cap() -> None:
    assert benefits.payout([("in_list", 999_999, False)], B, 1_000_000) == 0
    assert benefits.payout([("in_list", 1_000_000, False)], B, 1_000_000) == 0
    assert benefits.payout([("in_list", 1_000_001, False)], B, 1_000_000) == 1  # 0.8 fen up
    # 20,000 yuan in-list and 5,000 out-of-list over a 10,000 deductible:
    # (20,000 - 10,000) x 80 % + 5,000 x 60 % = 11,000 yuan.
    got = benefits.payout(
        [("out_of_list", 500_000, False), ("in_list", 2_000_000, False)], B, 1_000_000
    )
    assert got == 1_100_000
    # A pre-existing condition's claim at its lower rate.
    assert benefits.payout([("in_list", 2_000_000, True)], B, 1_000_000) == 400_000
    # The cap.
    assert benefits.payout([("special_drugs", 100_000_000, False)], B, 0) == B.cap_fen


def test_a_version_pays_less_on_the_same_bill_when_its_deductible_is_higher() -> None:
    bill: list[tuple[benefits.Category, int, bool]] = [
        ("in_list", 3_000_000, False),
        ("special_drugs", 400_000, False),
    ]
    low, high = (benefits.payout(bill, B, d) for d in (800_000, 1_000_000))
    assert high == low - 160_000  # the 2,000 yuan deductible difference at 80 %
