"""Rulebook validation: every bad field is reported by its path, all in one pass."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from api.pricing.exceptions import RulebookInvalid
from api.pricing.rulebook import packaged_text, parse, rating_spread, rating_steps

DEMO = packaged_text("demo-city", 2027) or ""


def _sub(pattern: str, repl: str, text: str = DEMO) -> str:
    out, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    assert n == 1, pattern
    return out


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (
            _sub(r"^weight = 0.40", "weight = 1.5"),
            "components.control.weight",
            "between 0 and 1",
        ),
        (_sub(r"^weight = 0.25", "weight = 0.9"), "components", "sum to at most 1"),
        (
            _sub(
                r'min_age = 60, max_age = 64, yuan = "144.00"',
                'min_age = 61, max_age = 64, yuan = "144.00"',
            ),
            "base.bands",
            "without gaps",
        ),
        (_sub(r'yuan = "99.00"', "yuan = 99.0"), "base.bands[0].yuan", "no floats for money"),
        (
            _sub(r"^spread_years = 3", "spread_years = 7"),
            "smoothing.spread_years",
            "between 3 and 5",
        ),
        (_sub(r'^product_id = "demo-city"\n', ""), "product_id", "is required"),
        (
            _sub(r"hyperlipidaemia = 3", "asthma = 3"),
            "loading.conditions.asthma",
            "unknown condition",
        ),
        (_sub(r"\[0, 2, 4, 6, 8\]", "[0, 4, 2]"), "ladder.pct_by_years", "must not decrease"),
        (
            _sub(r"^max_yoy_change_pct = 15", "max_yoy_change_pct = 12.345"),
            "smoothing.max_yoy_change_pct",
            "2 decimal",
        ),
        (_sub(r"^plan_year = 2027", 'plan_year = "2027"'), "plan_year", "integer"),
        # Ageing into the next band must stay within the year-on-year cap (15 %): 163 -> 199
        # yuan at 70 is +22.1 %.
        (
            _sub(
                r'min_age = 70, max_age = 74, yuan = "184.00"',
                'min_age = 70, max_age = 74, yuan = "199.00"',
            ),
            "base.bands",
            "from age 70 moves the base +22.1% in one year",
        ),
        # Age bands need a declared age rating: community rating is one price for all.
        (_sub(r'^rating = "age".*$', ""), "base.rating", "one price for all"),
        (
            _sub(r"^from_steps = 3000", "from_steps = 9000"),
            "components.activity.full_steps",
            "above",
        ),
        ("product_id = [", "toml", ""),
    ],
)
def test_each_bad_field_is_named(text: str, field: str, fragment: str) -> None:
    with pytest.raises(RulebookInvalid) as info:
        parse(text, source="demo.toml")
    fields = {e["field"]: e["message"] for e in info.value.errors}
    assert field in fields, fields
    assert fragment in fields[field]
    assert info.value.status == 422
    if field != "toml":
        assert f"{field}: " in info.value.detail


def test_several_errors_are_reported_together() -> None:
    text = _sub(r"^weight = 0.40", "weight = -1")
    text = _sub(r"^spread_years = 3", "spread_years = 2", text)
    with pytest.raises(RulebookInvalid) as info:
        parse(text)
    fields = {e["field"] for e in info.value.errors}
    assert {"components.control.weight", "smoothing.spread_years"} <= fields


@pytest.mark.parametrize("product", ["demo-city", "river-city"])
def test_shipped_rulebooks_are_valid_and_exact(product: str) -> None:
    text = packaged_text(product, 2027)
    assert text is not None
    rb = parse(text)
    assert rb.product_id == product and rb.plan_year == 2027
    # Integers only: money in fen, percentages in basis points.
    assert all(isinstance(b.base_fen, int) and b.base_fen > 0 for b in rb.bands)
    assert rb.bands[0].min_age == 0 and rb.bands[-1].max_age >= 100
    parts = (rb.engagement, rb.control, rb.activity, rb.improvement)
    assert sum(c.max_bp for c in parts) <= rb.budget_bp
    assert rb.rating == "age" and all(abs(s) <= rb.max_yoy_bp for _, s in rating_steps(rb.bands))
    assert 3 <= rb.spread_years <= 5


def test_the_hash_changes_with_the_content() -> None:
    assert parse(DEMO).sha256 != parse(DEMO + "\n# edited\n").sha256


def test_ageing_into_the_next_band_of_the_sample_rulebook_stays_under_the_smoothing_cap() -> None:
    """demo-city phases its bands in so that ageing alone never draws on the smoothing
    fund (2027.1's +61 % step at 60 was most of the fund's debits; docs/models.md)."""
    rb = parse(DEMO)
    steps = [b.base_fen / a.base_fen - 1 for a, b in zip(rb.bands, rb.bands[1:], strict=False)]
    assert len(steps) >= 5 and all(s > 0 for s in steps)
    assert max(steps) * 10_000 < rb.max_yoy_bp * 0.95, steps  # room for the year's other moves


def test_the_river_city_cliff_of_2027_1_fails_the_check() -> None:
    """river-city 2027.1 jumped 79 -> 129 yuan at 65 (+63 %) against its own 10 % cap and
    passed the check; the check now fails it, naming the crossing."""
    text = packaged_text("river-city", 2027) or ""
    bands = text[text.index("bands = [") : text.index("]", text.index("bands = [")) + 1]
    cliff = (
        'bands = [\n  { min_age = 0, max_age = 64, yuan = "79.00" },\n'
        '  { min_age = 65, max_age = 130, yuan = "129.00" },\n]'
    )
    with pytest.raises(RulebookInvalid) as info:
        parse(text.replace(bands, cliff))
    messages = [e["message"] for e in info.value.errors if e["field"] == "base.bands"]
    assert messages == [
        "ageing into the band from age 65 moves the base +63.3% in one year, beyond"
        " smoothing.max_yoy_change_pct (10%)"
    ]


def test_a_community_rated_product_has_one_price_and_spread_one() -> None:
    text = _sub(r'^rating = "age".*$', 'rating = "community"')
    lines = [ln for ln in text.splitlines() if "min_age" not in ln]
    one_band = "\n".join(lines).replace(
        "bands = [\n]", 'bands = [{ min_age = 0, max_age = 130, yuan = "99.00" }]'
    )
    rb = parse(one_band)
    assert rb.rating == "community" and rating_spread(rb.bands) == 1
    assert rating_spread(parse(DEMO).bands) == Decimal("2.37")  # 235 / 99 yuan
