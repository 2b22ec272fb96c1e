"""Composite: condition-aware weights, renormalisation over sufficient components, reasons."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import composite
from scoring.composite import composite_many, composite_score
from scoring.config import ConfigError, ScoringConfig, load_config


def _bp(controlled: bool, ms: float = 128.0, md: float = 80.0, pct: float = 90.0) -> dict[str, Any]:
    return {
        "sufficient": True,
        "home_mean_sys": ms,
        "home_mean_dia": md,
        "target_sys": 135.0,
        "target_dia": 85.0,
        "pct_in_target": pct,
        "controlled": controlled,
        "n_readings": 60,
        "protocol_weeks": 4,
    }


def _act(mv: float, steps: float, valid: int = 28) -> dict[str, Any]:
    return {
        "sufficient": True,
        "mvpa_min_per_week": mv,
        "median_steps": steps,
        "step_target": 8000,
        "valid_days": valid,
    }


def test_doctests() -> None:
    result = doctest.testmod(composite)
    assert result.attempted > 0 and result.failed == 0


def test_weights_follow_conditions_and_sum_to_one() -> None:
    cfg = ScoringConfig()
    for cond in [(), ("hypertension",), ("diabetes",), ("hypertension", "diabetes", "ckd")]:
        r = composite_score({}, conditions=cond, window_days=28, config=cfg)
        assert sum(c["weight"] for c in r.components.values()) == pytest.approx(1.0)
        assert ("bp" in r.components) == ("hypertension" in cond)
        assert ("glucose" in r.components) == ("diabetes" in cond)


def test_no_sufficient_component_gives_none_not_zero() -> None:
    r = composite_score({}, conditions=("hypertension",), window_days=28, config=ScoringConfig())
    assert r.composite is None
    assert all(c["sufficient"] is False and c["score"] is None for c in r.components.values())
    assert r.components["bp"]["reason_zh"]


def test_insufficient_components_are_left_out_and_weights_renormalised() -> None:
    ind = {"bp": _bp(True, pct=100.0), "activity": {"sufficient": False, "valid_days": 0}}
    r = composite_score(ind, conditions=("hypertension",), window_days=28, config=ScoringConfig())
    # bp 100 (w .5) and engagement 4 protocol weeks of 4 + 0 activity days -> 50 (w .25)
    assert r.components["bp"]["score"] == 100.0
    assert r.components["engagement"]["score"] == 50.0
    assert r.composite == pytest.approx((0.5 * 100 + 0.25 * 50) / 0.75, abs=0.01)


def test_a_what_if_stating_only_controlled_still_scores() -> None:
    ind = {"bp": {"sufficient": True, "controlled": False}}
    r = composite_score(ind, conditions=("hypertension",), window_days=28, config=ScoringConfig())
    assert r.components["bp"]["score"] == 80.0
    assert r.components["bp"]["reason_en"] == "home BP above target"


def test_bp_score_falls_with_excess_over_target() -> None:
    cfg = ScoringConfig()
    at = composite_score(
        {"bp": _bp(False, 135.0, 80.0, 50.0)},
        conditions=("hypertension",),
        window_days=28,
        config=cfg,
    ).components["bp"]["score"]
    above = composite_score(
        {"bp": _bp(False, 145.0, 80.0, 50.0)},
        conditions=("hypertension",),
        window_days=28,
        config=cfg,
    ).components["bp"]["score"]
    assert at == pytest.approx(0.7 * 80 + 0.3 * 50)
    assert above == pytest.approx(0.7 * 40 + 0.3 * 50)


def test_glucose_uses_tir_for_cgm_and_fingerstick_otherwise() -> None:
    cgm = {"sufficient": True, "gri": 30.0, "tir": 56.0, "tbr70": 6.0, "gri_zone": "B"}
    r = composite_score(
        {"cgm": cgm}, conditions=("diabetes",), window_days=28, config=ScoringConfig()
    )
    # 100 * 56/70 - 5 * (6 - 4) = 70, capped at 50: time below 70 mg/dL >= 4 %
    assert r.components["glucose"]["score"] == 50.0
    assert (
        "56%" in r.components["glucose"]["reason_en"]
        and "zone B" in r.components["glucose"]["reason_en"]
    )
    cgm.update(tir=90.0, tbr70=3.9, tbr54=0.9)
    r = composite_score(
        {"cgm": cgm}, conditions=("diabetes",), window_days=28, config=ScoringConfig()
    )
    assert r.components["glucose"]["score"] == 100.0
    cgm.update(tbr54=1.0)  # level-2 time at its limit: not control, whatever the TIR
    r = composite_score(
        {"cgm": cgm}, conditions=("diabetes",), window_days=28, config=ScoringConfig()
    )
    assert r.components["glucose"]["score"] == 50.0
    smbg = {
        "sufficient": True,
        "pct_fasting_in_target": 80.0,
        "pct_postprandial_in_target": 50.0,
        "hypo_l2": 1,
        "n_readings": 20,
    }
    r = composite_score(
        {"smbg": smbg}, conditions=("diabetes",), window_days=28, config=ScoringConfig()
    )
    assert r.components["glucose"]["score"] == pytest.approx(0.6 * 80 + 0.4 * 50 - 20)


def test_over_treatment_never_scores_as_control() -> None:
    """The review's member: TIR 86 %, 5.7 % below 70 mg/dL, 2.1 % below 54. The TIR part
    (122.9) used to absorb the penalty and score 100/100; now 50 at most."""
    cgm = {"sufficient": True, "gri": 40.0, "tir": 86.0, "tbr70": 5.7, "tbr54": 2.1}
    r = composite_score(
        {"cgm": cgm}, conditions=("diabetes",), window_days=90, config=ScoringConfig()
    )
    assert r.components["glucose"]["score"] == 50.0


def test_activity_score_and_config_override(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ind = {"activity": _act(75.0, 8000.0)}
    r = composite_score(ind, conditions=(), window_days=28, config=ScoringConfig())
    assert r.components["activity"]["score"] == 75.0
    f = tmp_path / "s.toml"
    f.write_text(
        "[weights.none]\nactivity = 1.0\nengagement = 0.0\n[bp_targets]\ndefault = [130, 80]\n"
    )
    cfg = load_config(f)
    assert cfg.bp_targets.for_member(40, ()) == (130.0, 80.0)
    assert composite_score(ind, conditions=(), window_days=28, config=cfg).composite == 75.0
    f.write_text("[weights.none]\nactivity = 0.9\n")
    with pytest.raises(ConfigError, match=r"weights\.none"):
        load_config(f)


# --- composite_many: the same floats and reasons as composite_score ----------------------


def _maybe(rng: np.random.Generator, x: float, p_none: float = 0.15) -> float | None:
    return None if rng.random() < p_none else x


def _value(rng: np.random.Generator, lo: float, hi: float) -> float:
    # Half-way values too: the reasons round them (".0f", ".1f") the same way either path.
    return float(rng.choice([rng.uniform(lo, hi), round(rng.uniform(lo, hi)) + 0.5, lo, hi]))


def _random_member(rng: np.random.Generator) -> tuple[tuple[str, ...], dict[str, Any]]:
    cond = [(), ("hypertension",), ("diabetes",), ("hypertension", "diabetes"), ("ckd",)][
        int(rng.integers(0, 5))
    ]
    ok = bool(rng.random() < 0.7)
    bp = {
        "sufficient": ok,
        "controlled": _maybe(rng, bool(rng.random() < 0.5), 0.1) if ok else None,
        "home_mean_sys": _value(rng, 110, 170) if ok else None,
        "home_mean_dia": _value(rng, 65, 105) if ok else None,
        "target_sys": float(rng.choice([130.0, 135.0, 145.0])),
        "target_dia": float(rng.choice([80.0, 85.0])),
        "pct_in_target": _maybe(rng, _value(rng, 0, 100)) if ok else None,
        "n_readings": int(rng.integers(0, 3)) * int(rng.integers(0, 200)),
        "protocol_weeks": int(rng.integers(0, 14)),
    }
    ok = bool(rng.random() < 0.5)
    cgm = {
        "sufficient": ok,
        "tir": _maybe(rng, _value(rng, 0, 100), 0.1) if ok else None,
        "tbr70": _maybe(rng, _value(rng, 0, 20)) if ok else None,
        "tbr54": _maybe(rng, _value(rng, 0, 3)) if ok else None,
        "gri": _maybe(rng, _value(rng, 0, 100)) if ok else None,
        "gri_zone": str(rng.choice(list("ABCDE"))) if ok else None,
        "active_pct": _value(rng, 0, 100),
        "n_readings": int(rng.integers(0, 2)) * int(rng.integers(0, 4000)),
    }
    ok = bool(rng.random() < 0.5)
    smbg = {
        "sufficient": ok,
        "pct_fasting_in_target": _maybe(rng, _value(rng, 0, 100)) if ok else None,
        "pct_postprandial_in_target": _maybe(rng, _value(rng, 0, 100), 0.4) if ok else None,
        "hypo_l2": int(rng.integers(0, 4)) if ok else None,
        "n_readings": int(rng.integers(0, 2)) * int(rng.integers(0, 60)),
    }
    ok = bool(rng.random() < 0.7)
    act = {
        "sufficient": ok,
        "valid_days": int(rng.integers(0, 91)),
        "mvpa_min_per_week": _value(rng, 0, 400) if ok else None,
        "median_steps": _value(rng, 500, 15000) if ok else None,
        "step_target": int(rng.choice([7000, 8000])),
    }
    return cond, {"bp": bp, "cgm": cgm, "smbg": smbg, "activity": act}


def _columns(docs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k in docs[0]:
        vals = [d[k] for d in docs]
        if k == "sufficient":
            out[k] = np.array(vals, dtype=np.bool_)
        elif k in ("n_readings", "protocol_weeks", "valid_days", "step_target"):
            out[k] = np.array(vals, dtype=np.int64)
        elif k == "gri_zone":
            out[k] = np.array(vals, dtype=object)
        else:
            out[k] = np.array([np.nan if v is None else float(v) for v in vals])
    return out


# A city that weighs BP for everyone and glucose with hypertension too (config is data).
_ODD_WEIGHTS = {
    "hypertension+diabetes": {"activity": 0.5, "engagement": 0.2, "glucose": 0.1, "bp": 0.2},
    "hypertension": {"glucose": 0.2, "bp": 0.4, "activity": 0.2, "engagement": 0.2},
    "diabetes": {"glucose": 1.0},
    "none": {"bp": 0.3, "activity": 0.4, "engagement": 0.3},
}


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    window=st.sampled_from([7, 28, 90, 365]),
    odd=st.booleans(),
)
def test_composite_many_equals_composite_score(seed: int, window: int, odd: bool) -> None:
    rng = np.random.default_rng(seed)
    members = [_random_member(rng) for _ in range(40)]
    cfg = ScoringConfig(weights=_ODD_WEIGHTS) if odd else ScoringConfig()
    conds = [c for c, _ in members]
    cols = {k: _columns([ind[k] for _, ind in members]) for k in ("bp", "cgm", "smbg", "activity")}
    composite, components = composite_many(
        cols["bp"], cols["cgm"], cols["smbg"], cols["activity"],
        conditions=conds, window_days=window, config=cfg,
    )  # fmt: skip
    for i, (cond, ind) in enumerate(members):
        ref = composite_score(ind, conditions=cond, window_days=window, config=cfg)
        assert composite[i] == ref.composite, (i, ind)
        assert components[i] == ref.components, (i, ind)
