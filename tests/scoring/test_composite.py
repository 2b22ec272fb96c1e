"""Composite: condition-aware weights, renormalisation over sufficient components, reasons."""

from __future__ import annotations

from typing import Any

import pytest

from scoring.composite import composite_score
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
    assert r.components["glucose"]["score"] == 70.0  # 100 * 56/70 - 5 * (6 - 4)
    assert (
        "56%" in r.components["glucose"]["reason_en"]
        and "zone B" in r.components["glucose"]["reason_en"]
    )
    cgm.update(tir=90.0, tbr70=4.0)
    r = composite_score(
        {"cgm": cgm}, conditions=("diabetes",), window_days=28, config=ScoringConfig()
    )
    assert r.components["glucose"]["score"] == 100.0
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
