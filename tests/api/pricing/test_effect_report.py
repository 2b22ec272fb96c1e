"""The effect report against the real database: the drawn holdout, enrollments and claims
turned into the product's payout per member-year, by arm and cohort, with a PNG."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from api.pricing import effect_report, holdout, service
from api.pricing.exceptions import NoEffectData
from api.pricing.holdout_rule import CONTROL
from tests.api.pricing.helpers import add_member

Conn = psycopg.Connection[Any]


def _claim(conn: Conn, cid: str, member: str, yuan: float, icd: str) -> None:
    conn.execute(
        "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, amount_yuan, diagnosis)"
        " VALUES (%s, %s, '2027-05-10', %s, %s)",
        (cid, member, yuan, icd),
    )


def test_the_report_counts_claims_in_the_products_payout(conn: Conn, tmp_path: Path) -> None:
    with pytest.raises(NoEffectData):
        effect_report.report(conn, "demo-city", 2027)
    ids = [f"e{i:03d}" for i in range(120)]
    for m in ids:
        add_member(conn, m, conditions=("hypertension",))
    service.upsert_enrollments(conn, [
        SimpleNamespace(member_id=m, product_id="demo-city", plan_year=2027,
                        enrolled_on=date(2026, 12, 1) if i % 2 else date(2027, 7, 2),
                        premium_paid_yuan=None, product_version="standard")
        for i, m in enumerate(ids)
    ])  # fmt: skip
    drawn = holdout.draw(conn, "demo-city", 2027)
    assert drawn["members"] == 120 and 0 < drawn["control"] < 40
    arms = dict(conn.execute("SELECT member_id, arm FROM holdout_assignments").fetchall())
    control = [m for m in ids if arms[m] == CONTROL]
    # Every control member: one 30,000-yuan admission for a fracture (S72, not pre-existing):
    # the standard version pays (30,000 - 15,000) x 80 % = 12,000 yuan. One incentive
    # member: 30,000 yuan for hypertension (I10), pre-existing: 15,000 x 40 % = 6,000.
    for m in control:
        _claim(conn, f"c-{m}", m, 30_000.0, "S72.0")
    other = next(m for m in ids if arms[m] != CONTROL)
    _claim(conn, f"c-{other}", other, 30_000.0, "I10")
    rep = effect_report.report(conn, "demo-city", 2027, prior_yuan=0.0, prior_sd_yuan=50.0)
    ov = rep["overall"]
    assert rep["members"] == {"control": len(control), "incentive": 120 - len(control)}
    # Half the book enrolled on 2 July: exposure 183/365 of a year.
    assert rep["member_years"] == pytest.approx(60 + 60 * 183 / 365)
    exp_c = ov["exposure_control"]
    assert ov["paid_control"] == pytest.approx(12_000 * len(control) / exp_c)
    assert ov["paid_incentive"] == pytest.approx(6_000 / ov["exposure_incentive"])
    assert ov["savings"] > 0 and ov["low"] < ov["savings"] < ov["high"]
    assert 0 <= rep["credible"]["z"] <= 1
    assert rep["engagement_gradient"]["confounded"] is True
    png = effect_report.plot(rep, tmp_path / "effect.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_accepts_plan_year_as_the_year(capsys: pytest.CaptureFixture[str]) -> None:
    from api.pricing.effect_cli import main as effect_main

    with pytest.raises(SystemExit) as done:
        effect_main(["report", "--help"])
    assert done.value.code == 0
    assert "--year YEAR, --plan-year YEAR" in " ".join(capsys.readouterr().out.split())
