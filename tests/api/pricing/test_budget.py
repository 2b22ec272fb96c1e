"""The discount-budget check: expected savings from the risk model vs discounts, by cohort."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import psycopg
import pytest

from api.pricing import service
from api.pricing.exceptions import NoRiskModel
from scoring.models import service as models
from scoring.models.risk import MemberFeatures, feature_matrix
from tests.api.pricing.helpers import add_member, add_score
from tests.scoring.test_models_db import _load_book

Conn = psycopg.Connection[Any]


def _bp(sys_mean: float) -> dict[str, Any]:
    return {
        "bp": {
            "sufficient": True, "home_mean_sys": sys_mean, "home_mean_dia": 80.0,
            "target_sys": 135.0, "target_dia": 85.0, "controlled": sys_mean < 135,
            "pct_in_target": 80.0 if sys_mean < 135 else 20.0, "months_assessed": 6,
            "months_controlled": 6 if sys_mean < 135 else 0,
        },
        "activity": {"sufficient": True, "median_steps": 7000.0, "meets_who": False},
    }  # fmt: skip


def test_needs_a_model_then_reports_cohorts_that_pay_or_not(conn: Conn) -> None:
    add_member(conn, "imp", conditions=("hypertension",))
    add_member(conn, "kept", conditions=("hypertension",))
    # "imp" improved from 160 to 128 mmHg; "kept" was at 128 all along (saves nothing).
    add_score(conn, "imp", _bp(160.0), start=date(2025, 1, 1), end=date(2025, 4, 1))
    add_score(conn, "imp", _bp(128.0), start=date(2026, 9, 1), end=date(2026, 12, 1))
    add_score(conn, "kept", _bp(128.0), start=date(2025, 1, 1), end=date(2025, 4, 1))
    add_score(conn, "kept", _bp(128.0), start=date(2026, 9, 1), end=date(2026, 12, 1))
    for m in ("imp", "kept"):
        service.quote_member(conn, m, "demo-city", 2027)
    with pytest.raises(NoRiskModel):
        service.budget_check(conn, "demo-city", 2027, margin_pct=10)
    _load_book(conn, 3000, seed=21)  # training data for the model (2025 -> 2026)
    version = models.train(conn, 2025)["model_version"]
    # Quotes made now record the model in force.
    q = service.quote_member(conn, "imp", "demo-city", 2027)
    assert q.model_version == version and q.to_dict()["model_version"] == version
    out = service.budget_check(conn, "demo-city", 2027, margin_pct=10)
    assert out["model_version"] == version
    (cohort,) = [c for c in out["cohorts"] if c["conditions"] == "hypertension"]
    assert cohort["members"] == 2
    # Both earned control discounts; only "imp" produces savings (160 -> 128 mmHg).
    _, model = models.load(conn) or (None, None)
    assert model is not None and q.inputs is not None
    age = np.array([q.inputs.age])
    feats = [
        feature_matrix([MemberFeatures(q.inputs.age, "F", ("hypertension",), _bp(s))])
        for s in (160.0, 128.0)
    ]
    expected = float(model.expected_cost(feats[0], age)[0] - model.expected_cost(feats[1], age)[0])
    assert expected > 0
    assert cohort["expected_savings_yuan"] == pytest.approx(expected, abs=0.01)
    assert cohort["discounts_yuan"] > 0
    zero = service.budget_check(conn, "demo-city", 2027, margin_pct=100)
    assert all(c["passes"] for c in zero["cohorts"])  # a 100 % margin accepts any savings >= 0
    assert out["total"]["members"] == 2
