"""Builders for engine inputs and database rows shared by the pricing tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from api.pricing.inputs import QuoteInputs, ScoreRow
from api.pricing.rulebook import CONDITIONS, Rulebook, packaged_text, parse
from scoring.control import control_block
from tests.factories import add_consent


def demo_rulebook() -> Rulebook:
    text = packaged_text("demo-city", 2027)
    assert text is not None
    return parse(text)


def indicators(
    *,
    bp_controlled: bool | None = True,
    months: tuple[int, int] | None = None,
    tir: float | None = 80.0,
    steps: float | None = 8000,
    meets_who: bool = False,
    pdc: float | None = 0.9,
) -> dict[str, Any]:
    bp: dict[str, Any] = {"sufficient": bp_controlled is not None, "controlled": bp_controlled}
    if months is not None:
        bp.update(months_controlled=months[0], months_assessed=months[1])
    return {
        "bp": bp,
        "cgm": {"sufficient": tir is not None, "tir": tir, "tbr70": 0.0, "tbr54": 0.0},
        "activity": {
            "sufficient": steps is not None,
            "median_steps": steps,
            "meets_who": meets_who,
        },
        # Dispensing records (the clinic's): one drug class, its proportion of days covered.
        "adherence": {}
        if pdc is None
        else {"antihypertensive": {"pdc": pdc, "adherent": pdc >= 0.8, "sufficient": True}},
    }


def row(
    ind: dict[str, Any],
    *,
    start: str = "2026-01-01",
    end: str = "2027-01-01",
    composite: float | None = 70.0,
    improvement: float | None = 0.0,
) -> ScoreRow:
    return ScoreRow(start, end, "test-1", composite, improvement, ind)


def inputs(
    scores: tuple[ScoreRow, ...] = (),
    *,
    age: int = 55,
    conditions: tuple[str, ...] = ("diabetes", "hypertension"),
    **kw: Any,
) -> QuoteInputs:
    """Inputs for one member; score rows without a control block get the one scoring would
    write for these conditions and age (``scoring.control``), as stored rows have."""
    scores = tuple(
        s if "control" in s.indicators
        else replace(s, indicators={**s.indicators, "control": control_block(conditions, age, s.indicators)})  # noqa: E501
        for s in scores
    )  # fmt: skip
    return QuoteInputs(
        member_id="m1",
        product_id="demo-city",
        plan_year=2027,
        age=age,
        conditions=conditions,
        scores=scores,
        **kw,
    )


def add_member(
    conn: psycopg.Connection[Any],
    member_id: str,
    *,
    birth: date = date(1970, 6, 1),
    conditions: tuple[str, ...] = ("hypertension",),
) -> None:
    """A member who consented to clinic care and to pricing for both packaged products."""
    conn.execute(
        "INSERT INTO members (member_id, birth_date, sex, conditions) VALUES (%s, %s, 'F', %s)",
        (member_id, birth, list(conditions)),
    )
    add_consent(conn, member_id)
    for product in ("demo-city", "river-city"):
        add_consent(conn, member_id, "insurer_pricing", product)


def add_score(
    conn: psycopg.Connection[Any],
    member_id: str,
    ind: dict[str, Any],
    *,
    start: date = date(2026, 1, 1),
    end: date = date(2027, 1, 1),
    composite: float | None = 70.0,
    improvement: float | None = 0.0,
    age: int = 55,
) -> None:
    """A stored score row; its control block is the one scoring would write (for every
    condition: pricing reads only the member's own)."""
    if "control" not in ind:
        ind = {**ind, "control": control_block(CONDITIONS, age, ind)}
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version, composite,"
        " improvement, components, indicators) VALUES (%s, %s, %s, 'test-1', %s, %s, '{}', %s)",
        (member_id, start, end, composite, improvement, Jsonb(ind)),
    )
