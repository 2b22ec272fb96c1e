"""`wellrate model train|report` against the real database: round trip, registry, refusal."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from device_sim.outcomes import population, simulate_outcomes
from scoring.models import service
from tests.scoring.test_risk_model import indicator_rows


def _load_book(conn: psycopg.Connection[Any], n: int, seed: int) -> None:
    p = population(n, seed)
    hosp, cost = simulate_outcomes(p, seed)
    rows = indicator_rows(p, seed)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO members (member_id, birth_date, sex, conditions) VALUES (%s, %s, %s, %s)",
            [
                (str(p.member_id[i]), date(2025 - r.age, 6, 1), r.sex, list(r.conditions))
                for i, r in enumerate(rows)
            ],
        )
        cur.execute(  # the risk model uses members who consented to pricing (any product)
            "INSERT INTO consents (member_id, purpose, product_id, notice_version, given_at)"
            " SELECT member_id, 'insurer_pricing', 'demo-city', 'test-1', '2000-01-01Z'"
            " FROM members ON CONFLICT DO NOTHING"
        )
        cur.executemany(
            "INSERT INTO scores (member_id, window_start, window_end, algorithm_version,"
            " components, indicators) VALUES (%s, '2025-10-01', '2026-01-01', 't', '{}', %s)",
            [(str(p.member_id[i]), json.dumps(r.indicators)) for i, r in enumerate(rows)],
        )
        cur.executemany(
            "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, amount_yuan)"
            " VALUES (%s, %s, '2026-05-01', %s)",
            [(f"k{i}", str(p.member_id[i]), float(cost[i])) for i in np.flatnonzero(hosp)],
        )


def test_train_registers_a_hashed_model_and_report_plots_it(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    _load_book(conn, 3000, seed=11)
    out = service.train(conn, 2025)
    assert out["model_version"].startswith("risk-") and out["members"] == 3000
    assert out["auc"] is not None and out["auc"] > 0.6
    # Training twice on the same data gives the same artifact, hence the same version.
    assert service.train(conn, 2025)["model_version"] == out["model_version"]
    assert conn.execute("SELECT count(*) FROM models").fetchone() == (1,)
    got = service.load(conn)
    assert got is not None and got[0] == out["model_version"]
    rep = service.report(conn, None, tmp_path)
    assert rep["in_sample"] is True and rep["evaluated_year"] == 2025
    assert set(rep["by_age_band"]) == {"<45", "45-59", "60-69", "70+"}
    assert rep["by_condition"]["diabetes"]["n"] > 0
    png = Path(rep["plot"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A tampered artifact is refused at load.
    conn.execute("UPDATE models SET artifact = artifact || '\\x00'::bytea")
    with pytest.raises(ValueError, match="sha256"):
        service.load(conn)


def test_too_little_data_is_refused_with_the_counts(conn: psycopg.Connection[Any]) -> None:
    _load_book(conn, 50, seed=12)
    with pytest.raises(service.NotEnoughData, match="50 scored members"):
        service.train(conn, 2025)


def test_only_members_enrolled_in_the_outcome_year_train(conn: psycopg.Connection[Any]) -> None:
    _load_book(conn, 400, seed=13)
    assert len(service.dataset(conn, 2025).admitted) == 400  # no enrollments uploaded: all
    ids = [r[0] for r in conn.execute("SELECT member_id FROM members ORDER BY 1 LIMIT 250")]
    for m in ids:
        conn.execute(
            "INSERT INTO enrollments (member_id, product_id, plan_year, enrolled_on)"
            " VALUES (%s, 'demo-city', 2026, '2026-01-01')",
            (m,),
        )
    assert len(service.dataset(conn, 2025).admitted) == 250  # the leavers' silence is not data


def test_predict_wrapper_matches_model_methods() -> None:
    """`predict` returns the model's own probability and expected cost, row for row."""
    import numpy as np

    from scoring.models.risk import MemberFeatures, RiskModel, feature_matrix
    from scoring.models.service import predict

    rng = np.random.default_rng(0)
    rows = [
        MemberFeatures(
            age=int(a),
            sex="F",
            conditions=("hypertension",),
            indicators={
                "bp": {"sufficient": True, "home_mean_sys": float(s)},
                "activity": {"sufficient": True, "median_steps": 6000.0 + float(a)},
            },
        )
        for a, s in zip(rng.integers(30, 80, 400), rng.normal(140, 15, 400), strict=True)
    ]
    x = feature_matrix(rows)
    y = rng.random(400) < 0.2
    ages = np.array([r.age for r in rows], dtype=np.int64)
    model = RiskModel().fit(x, y, np.where(y, 20000.0, 0.0), ages)
    p, cost = predict(model, rows)
    assert np.allclose(p, model.predict_proba(x))
    assert np.allclose(cost, model.expected_cost(x, ages))
    assert ((p > 0) & (p < 1)).all()
