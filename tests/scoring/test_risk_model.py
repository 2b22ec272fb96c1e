"""The risk model recovers the simulator's known effects; calibrated; deterministic."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from device_sim.outcomes import TRUE_LOG_ODDS, Population, population, simulate_outcomes
from scoring.models.risk import FEATURES, MemberFeatures, RiskModel, dumps, feature_matrix, loads


def indicator_rows(p: Population, seed: int, missing: float = 0.15) -> list[MemberFeatures]:
    """What a year of scoring would store: the truth plus measurement noise, some gaps.

    Home mean of ~50 readings: SE ~ 1.5 mmHg; TIR over 14 days: SD ~ 3 points; steps
    median: ~5 %. A share of members lacks each domain (insufficient data).
    """
    rng = np.random.default_rng([seed, 5])
    rows = []
    for i in range(p.size):
        ind: dict[str, Any] = {}
        if rng.random() > missing:
            ind["bp"] = {"sufficient": True, "home_mean_sys": p.sbp[i] + rng.normal(0, 1.5)}
        if p.diabetes[i] and rng.random() > missing:
            ind["cgm"] = {
                "sufficient": True,
                "tir": float(np.clip(p.tir[i] + rng.normal(0, 3), 0, 100)),
            }
        if rng.random() > missing:
            ind["activity"] = {"sufficient": True, "median_steps": p.steps[i] * rng.normal(1, 0.05)}
        conds = tuple(
            c
            for c, on in (
                ("hypertension", p.hypertension[i]),
                ("diabetes", p.diabetes[i]),
                ("ckd", p.ckd[i]),
            )
            if on
        )
        rows.append(MemberFeatures(int(p.age[i]), "F" if p.female[i] else "M", conds, ind))
    return rows


@pytest.fixture(scope="module")
def fitted() -> tuple[RiskModel, np.ndarray, np.ndarray, Population]:
    p = population(40_000, seed=7)
    hosp, cost = simulate_outcomes(p, seed=7)
    x = feature_matrix(indicator_rows(p, seed=7))
    return RiskModel(random_state=0).fit(x, hosp, cost, p.age), x, hosp, p


def test_recovers_the_known_effects_in_direction_and_size(fitted: Any) -> None:
    model, _, _, _ = fitted
    c = model.coef_per_unit_
    pairs = [
        ("sbp_per_10_over_130", "sbp_per_10"),
        ("tir_per_10_below_70", "tir_per_10_lower"),
        ("steps_per_1000_below_7000", "steps_per_1000_fewer"),
        ("age_decades_over_60", "age_per_10"),
    ]
    for feature, truth in pairs:
        est, true = c[feature], TRUE_LOG_ODDS[truth]
        assert est > 0, feature
        # Odds ratios within a factor of 1.5 of the truth either way.
        assert abs(est - true) < np.log(1.5), (feature, np.exp(est), np.exp(true))


def test_calibrated_and_discriminating_on_fresh_members(fitted: Any) -> None:
    model, _, _, _ = fitted
    p = population(20_000, seed=8)
    hosp, _ = simulate_outcomes(p, seed=8)
    prob = model.predict_proba(feature_matrix(indicator_rows(p, seed=8)))
    assert roc_auc_score(hosp, prob) > 0.65
    # Calibration-in-the-large and by decile: predicted vs observed within 2.5 points.
    assert abs(prob.mean() - hosp.mean()) < 0.01
    order = np.argsort(prob)
    for chunk in np.array_split(order, 10):
        assert abs(prob[chunk].mean() - hosp[chunk].mean()) < 0.025
    assert brier_score_loss(hosp, prob) < hosp.mean() * (1 - hosp.mean())  # beats the base rate


def test_missing_domains_are_not_read_as_bad(fitted: Any) -> None:
    model, _, _, _ = fitted
    base = MemberFeatures(
        65, "F", ("hypertension",), {"bp": {"sufficient": True, "home_mean_sys": 128.0}}
    )
    no_bp = MemberFeatures(
        65, "F", ("hypertension",), {"bp": {"sufficient": False, "home_mean_sys": None}}
    )
    high = MemberFeatures(
        65, "F", ("hypertension",), {"bp": {"sufficient": True, "home_mean_sys": 165.0}}
    )
    p = model.predict_proba(feature_matrix([base, no_bp, high]))
    assert p[0] < p[2] and p[1] < p[2]
    assert np.isnan(feature_matrix([no_bp])[0, FEATURES.index("sbp_per_10_over_130")])


def test_deterministic_and_hash_checked(fitted: Any) -> None:
    _, x, hosp, p = fitted
    _, cost = simulate_outcomes(p, seed=7)
    a = RiskModel(random_state=0).fit(x[:5000], hosp[:5000], cost[:5000], p.age[:5000])
    b = RiskModel(random_state=0).fit(x[:5000], hosp[:5000], cost[:5000], p.age[:5000])
    assert np.array_equal(a.predict_proba(x[:100]), b.predict_proba(x[:100]))
    data, sha = dumps(a)
    again = loads(data, sha)
    assert np.array_equal(again.predict_proba(x[:100]), a.predict_proba(x[:100]))
    with pytest.raises(ValueError, match="sha256"):
        loads(data + b"x", sha)
    assert np.array_equal(population(50, 3).sbp, population(50, 3).sbp)
    assert np.array_equal(
        simulate_outcomes(population(50, 3), 1)[0], simulate_outcomes(population(50, 3), 1)[0]
    )
