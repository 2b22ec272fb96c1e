"""Rulebook validation: every bad field is reported by its path, all in one pass."""

from __future__ import annotations

import re

import pytest

from api.pricing.exceptions import RulebookInvalid
from api.pricing.rulebook import packaged_text, parse

DEMO = packaged_text("demo-city", 2027) or ""


def _sub(pattern: str, repl: str, text: str = DEMO) -> str:
    out, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    assert n == 1, pattern
    return out


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (
            _sub(r"^weight = 0.45", "weight = 1.5"),
            "components.control.weight",
            "between 0 and 1",
        ),
        (_sub(r"^weight = 0.30", "weight = 0.9"), "components", "sum to at most 1"),
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
    text = _sub(r"^weight = 0.45", "weight = -1")
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
    assert rb.engagement.max_bp + rb.control.max_bp + rb.improvement.max_bp <= rb.budget_bp
    assert 3 <= rb.spread_years <= 5


def test_the_hash_changes_with_the_content() -> None:
    assert parse(DEMO).sha256 != parse(DEMO + "\n# edited\n").sha256


def test_ageing_into_the_next_band_of_the_sample_rulebook_stays_under_the_smoothing_cap() -> None:
    """demo-city 2027.2 phases its bands in so that ageing alone never draws on the smoothing
    fund (2027.1's +61 % step at 60 was most of the fund's debits; docs/models.md)."""
    rb = parse(DEMO)
    steps = [b.base_fen / a.base_fen - 1 for a, b in zip(rb.bands, rb.bands[1:], strict=False)]
    assert len(steps) >= 5 and all(s > 0 for s in steps)
    assert max(steps) * 10_000 < rb.max_yoy_bp * 0.95, steps  # room for the year's other moves
