"""Rulebook validation: every bad field is reported by its path, all in one pass."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from api.pricing.exceptions import RulebookInvalid
from api.pricing.rulebook import packaged_text, parse, rating_spread, rating_steps

DEMO = packaged_text("demo-city", 2027) or ""
RIVER = packaged_text("river-city", 2027) or ""


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
        (_sub(r"^weight = 0.40", "weight = 0.95"), "components", "sum to at most 1"),
        (
            _sub(
                r'min_age = 60, max_age = 64, yuan = "103.00"',
                'min_age = 61, max_age = 64, yuan = "103.00"',
                RIVER,
            ),
            "versions[0].bands",
            "without gaps",
        ),
        (
            _sub(r'premium_yuan = "89.00"', "premium_yuan = 89.0"),
            "versions[0].premium_yuan",
            "no floats for money",
        ),
        (
            _sub(r'^deductible_floor_yuan = "10000.00"', 'deductible_floor_yuan = "16000.00"'),
            "versions[0].benefits.deductible_floor_yuan",
            "not be above deductible_yuan",
        ),
        (
            _sub(r"^rate_preexisting_pct = 40", "rate_preexisting_pct = 90"),
            "versions[0].benefits.rate_preexisting_pct",
            "not be above rate_in_list_pct",
        ),
        (
            _sub(r'^cap_yuan = "2000000.00"\n', ""),
            "versions[0].benefits.cap_yuan",
            "is required",
        ),
        (_sub(r'^id = "preferred"', 'id = "standard"'), "versions", "unique"),
        (_sub(r'^id = "preferred"', 'id = "Preferred!"'), "versions[1].id", "lowercase"),
        (
            _sub(r'^premium_yuan = "129.00"', 'premium_yuan = "129.00"\nbands = []'),
            "versions[1]",
            "premium_yuan (one price for all) or bands",
        ),
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
        # Ageing into the next band must stay within the year-on-year cap (10 %): 103 -> 130
        # yuan at 65 is +26.2 %.
        (
            _sub(
                r'min_age = 65, max_age = 69, yuan = "113.00"',
                'min_age = 65, max_age = 69, yuan = "130.00"',
                RIVER,
            ),
            "versions[0].bands",
            "from age 65 moves the base +26.2% in one year",
        ),
        # Age bands need a declared age rating: community rating is one price for all.
        (_sub(r'^rating = "age".*$', "", RIVER), "base.rating", "one price for all"),
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
    for ver in rb.versions:
        # Integers only: money in fen, percentages in basis points.
        assert all(isinstance(b.base_fen, int) and b.base_fen > 0 for b in ver.bands)
        assert ver.bands[0].min_age == 0 and ver.bands[-1].max_age >= 100
        assert all(abs(s) <= rb.max_yoy_bp for _, s in rating_steps(ver.bands))
        assert ver.benefits is not None
        assert ver.benefits.deductible_floor_fen <= ver.benefits.deductible_fen
    parts = (rb.engagement, rb.control, rb.activity, rb.adherence, rb.improvement)
    assert sum(c.max_bp for c in parts) <= rb.budget_bp
    assert 3 <= rb.spread_years <= 5


def test_the_hash_changes_with_the_content() -> None:
    assert parse(DEMO).sha256 != parse(DEMO + "\n# edited\n").sha256


def test_demo_city_is_a_uniform_price_product_in_two_versions() -> None:
    """Like Mianyang's 2025 product: 89 and 129 yuan for every age, the deductible cut for
    continuous enrollment down to 10,000 and 8,000 yuan."""
    rb = parse(DEMO)
    assert rb.rating == "community"
    assert [(v.id, v.name_zh) for v in rb.versions] == [
        ("standard", "普惠款"),
        ("preferred", "优选款"),
    ]
    assert [[b.base_fen for b in v.bands] for v in rb.versions] == [[8900], [12900]]
    floors = [v.benefits.deductible_floor_fen for v in rb.versions if v.benefits]
    assert floors == [1_000_000, 800_000]
    assert all(rating_spread(v.bands) == 1 for v in rb.versions)


def test_river_city_declares_age_rating_within_its_cap() -> None:
    rb = parse(RIVER)
    assert rb.rating == "age" and rating_spread(rb.bands) == Decimal("1.57")  # 124 / 79
    assert max(s for _, s in rating_steps(rb.bands)) <= rb.max_yoy_bp


def test_the_river_city_cliff_of_2027_1_fails_the_check() -> None:
    """river-city 2027.1 jumped 79 -> 129 yuan at 65 (+63 %) against its own 10 % cap and
    passed the check; the check now fails it, naming the crossing."""
    text = RIVER
    bands = text[text.index("bands = [") : text.index("]", text.index("bands = [")) + 1]
    cliff = (
        'bands = [\n  { min_age = 0, max_age = 64, yuan = "79.00" },\n'
        '  { min_age = 65, max_age = 130, yuan = "129.00" },\n]'
    )
    with pytest.raises(RulebookInvalid) as info:
        parse(text.replace(bands, cliff))
    messages = [e["message"] for e in info.value.errors if e["field"] == "versions[0].bands"]
    assert messages == [
        "ageing into the band from age 65 moves the base +63.3% in one year, beyond"
        " smoothing.max_yoy_change_pct (10%)"
    ]


def test_a_rulebook_without_versions_reads_as_one_version_without_benefits() -> None:
    """Rulebooks stored before versions existed keep parsing (their quotes reproduce)."""
    old = (
        DEMO[: DEMO.index("[base]")]
        + '[base]\nproduct_version = "standard"\nrating = "community"\n'
        + 'bands = [{ min_age = 0, max_age = 130, yuan = "99.00" }]\n\n'
        + DEMO[DEMO.index("# The discount budget") :]
    )
    rb = parse(old)
    assert [v.id for v in rb.versions] == ["standard"] and rb.versions[0].benefits is None
    assert rb.band_for(40).base_fen == 9900
