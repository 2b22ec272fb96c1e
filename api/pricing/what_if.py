"""What-if quotes: a member's latest indicators with overrides, re-scored, then priced.

Answers "what would my premium be if my time in range reached 75 %?". Never stored.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from api.pricing.exceptions import InvalidWhatIf
from api.pricing.inputs import QuoteInputs, ScoreRow
from core.settings import get_settings
from scoring.composite import composite_score
from scoring.config import load_config
from scoring.control import control_block
from scoring.indicators.rules import PDC_ADHERENT

_PCT = {
    "tir", "tbr70", "tbr54", "tar180", "tar250", "titr", "pct_in_target", "active_pct", "pdc_pct"
}  # fmt: skip
_DOMAINS = {"bp", "cgm", "smbg", "activity", "adherence"}
# The drug class a what-if adherence stands for when the member has no dispensing records.
_CLASS_FOR = {"hypertension": "antihypertensive", "diabetes": "glucose_lowering",
              "hyperlipidaemia": "statin", "ckd": "antihypertensive"}  # fmt: skip


def apply_what_if(inp: QuoteInputs, what_if: dict[str, Any]) -> QuoteInputs:
    """Overrides like ``{"cgm.tir": 75}`` applied to the latest score row; composite redone."""
    latest = max(inp.scores, key=lambda r: (r.window_end, r.window_start), default=None)
    ind = copy.deepcopy(latest.indicators) if latest else {}
    for key, value in what_if.items():
        _override(ind, key, value, tuple(inp.conditions))
    row = _rescored(inp, latest, ind)
    rest = tuple(r for r in inp.scores if r is not latest)
    return QuoteInputs(**{**inp.__dict__, "scores": (*rest, row), "what_if": dict(what_if)})


def _adherence(ind: dict[str, Any], pdc: float, conditions: tuple[str, ...]) -> None:
    """Every dispensed drug class at this proportion of days covered (the class of the
    member's first condition when there are no records yet)."""
    block = ind.get("adherence") or {}
    classes = list(block) or [_CLASS_FOR[c] for c in conditions[:1] if c in _CLASS_FOR]
    ind["adherence"] = {
        c: {"pdc": pdc, "adherent": pdc >= PDC_ADHERENT, "sufficient": True} for c in classes
    }


def _override(ind: dict[str, Any], key: str, value: Any, conditions: tuple[str, ...] = ()) -> None:
    """Set ``domain.field`` in the indicators, refusing unknown names and impossible values.

    An overridden domain counts as sufficient (the member asks "what if I had the data");
    overriding BP control also sets the months controlled the engine reads.
    """
    domain, _, name = key.partition(".")
    path = f"what_if.{key}"
    if domain not in _DOMAINS or not name:
        raise InvalidWhatIf(
            f"unknown indicator {key!r}",
            errors=[{"field": path, "message": f"use <domain>.<field>, domain in {_DOMAINS}"}],
        )
    if name in _PCT and not (isinstance(value, int | float) and 0 <= value <= 100):
        raise InvalidWhatIf(
            f"{key} must be a percentage", errors=[{"field": path, "message": "0..100"}]
        )
    if key == "adherence.pdc_pct":
        _adherence(ind, float(value) / 100, conditions)
        return
    d = ind.setdefault(domain, {})
    d[name] = value
    if name != "sufficient":
        d["sufficient"] = True
    if key == "bp.controlled" and isinstance(d.get("months_assessed"), int):
        d["months_controlled"] = d["months_assessed"] if value else 0


def _rescored(inp: QuoteInputs, latest: ScoreRow | None, ind: dict[str, Any]) -> ScoreRow:
    """The latest window again with the overridden indicators, its composite recomputed by
    scoring and its improvement moved by the same amount (a year-long window without one)."""
    days = (
        (date.fromisoformat(latest.window_end) - date.fromisoformat(latest.window_start)).days
        if latest
        else 365
    )
    try:
        res = composite_score(
            ind,
            conditions=tuple(inp.conditions),
            window_days=days,
            config=load_config(get_settings().scoring_config),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWhatIf(
            "the overrides leave indicators scoring cannot use",
            errors=[{"field": "what_if", "message": type(exc).__name__}],
        ) from exc
    # The control block is scoring's too: redone from the overridden indicators, so "if my
    # time in range reached 75 %" is judged with the same hypoglycaemia targets.
    ind["control"] = control_block(tuple(inp.conditions), inp.age, ind)
    composite = latest.composite if latest else None
    improvement = latest.improvement if latest else None
    new = res.composite
    if new is not None and composite is not None and improvement is not None:
        improvement = improvement + (new - composite)
    y = inp.plan_year - 1
    return ScoreRow(
        latest.window_start if latest else f"{y}-01-01",
        latest.window_end if latest else f"{y + 1}-01-01",
        (latest.algorithm_version if latest else "what-if") + "+what-if",
        new,
        improvement,
        ind,
    )
