"""Clinic measurements as control: office BP, lab HbA1c, LDL-C, statin adherence.

The no-device path, end to end against PostgreSQL: rows as a clinic uploads them, scored by
the service, read back from the control block pricing and the clinic use.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from scoring.indicators import clinic
from scoring.service import score_window
from tests.factories import add_device, add_member, bind

W0, W1 = date(2026, 7, 1), date(2026, 10, 1)


def _at(d: date, hour: int) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC) - timedelta(hours=8)


def test_office_bp_needs_two_visits_and_averages_each_visit_first() -> None:
    day = 86_400
    one = clinic.office_bp([0, 60], [0, 0], [150.0, 130.0], [85.0, 85.0], target=(140, 90))
    assert one["sufficient"] is False and one["visits"] == 1
    # Visit 1: three readings around 136; visit 2: one at 146. Per-visit means: 136, 146.
    two = clinic.office_bp([0, 60, 120, 30 * day], [480] * 4, [130.0, 136.0, 142.0, 146.0],
                           [80.0, 80.0, 80.0, 88.0], target=(140, 90))  # fmt: skip
    assert (two["visits"], two["mean_sys"], two["mean_dia"]) == (2, 141.0, 84.0)
    assert two["controlled"] is False


def test_pdc_shifts_overlapping_fills_and_counts_from_the_first() -> None:
    # Two 30-day fills 20 days apart: the second starts when the first ends (day 30).
    r = clinic.pdc([(0, 30), (20, 30)], start_day=0, end_day=100)
    assert r["pdc"] == pytest.approx(0.6) and r["adherent"] is False
    r = clinic.pdc([(10, 90)], start_day=0, end_day=100)  # counted from day 10
    assert r["pdc"] == 1.0 and r["adherent"] is True
    assert clinic.pdc([], start_day=0, end_day=100)["sufficient"] is False


def test_a_member_without_a_device_is_assessed_from_clinic_measurements(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    add_member(conn, "nd", conditions=("hypertension", "diabetes", "hyperlipidaemia"))
    add_device(conn, "clinic-cuff")
    bind(conn, "clinic-cuff", "nd", _at(W0, 0) - timedelta(days=30))
    for k, (s, d) in enumerate([(128, 78), (126, 76), (131, 79)]):
        conn.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, validated, source) VALUES ('clinic-cuff', %s, 'nd', 480,"
            " %s, %s, true, 'clinic')",
            (_at(W0 + timedelta(days=20 * k + 3), 10), s, d),
        )
    conn.execute(
        "INSERT INTO lab_results (member_id, loinc, value, unit, taken_at, uploaded_by) VALUES"
        " ('nd', '4548-4', 7.4, '%%', %s, 'c'), ('nd', '18262-6', 2.1, 'mmol/L', %s, 'c')",
        (_at(W1 - timedelta(days=40), 9), _at(W1 - timedelta(days=40), 9)),
    )
    score_window(db_url, settings, W0, W1)
    row = conn.execute("SELECT indicators FROM scores WHERE member_id = 'nd'").fetchone()
    assert row is not None
    ind = row[0]
    ctl = ind["control"]
    assert ind["bp"]["n_readings"] == 0  # clinic readings are not home readings
    assert ind["office_bp"]["visits"] == 3 and ind["office_bp"]["sufficient"] is True
    # Age 66 with diabetes: office target 130/80; the mean 128.3/77.7 is below it.
    assert (ctl["hypertension"]["status"], ctl["hypertension"]["source"]) == (
        "controlled",
        "office_bp",
    )
    assert ctl["hypertension"]["attainment"] == 1.0
    # HbA1c 7.4 % at 66: the older target < 8.0 % is met.
    assert (ctl["diabetes"]["status"], ctl["diabetes"]["source"]) == ("controlled", "hba1c")
    assert (ctl["hyperlipidaemia"]["status"], ctl["hyperlipidaemia"]["source"]) == (
        "controlled", "ldl_c",
    )  # fmt: skip


def test_clinic_recorded_exercise_counts_from_the_last_quarter() -> None:
    day = 86_400
    end = 200 * day
    rows = [(100 * day, 200.0, "min/wk"), (150 * day, 90.0, "min/wk")]
    got = clinic.exercise(rows, end_s=end)
    assert got == {"minutes_per_week": 90.0, "meets_who": False, "sufficient": True}
    assert clinic.exercise(rows[:1], end_s=end)["sufficient"] is False  # 100 days old
    assert clinic.exercise([(190 * day, 150.0, "min/wk")], end_s=end)["meets_who"] is True
    assert clinic.exercise([(190 * day, 0.0, "min/wk")], end_s=end)["minutes_per_week"] == 0.0


def test_exercise_from_a_follow_up_visit_is_scored_and_stored(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    add_member(conn, "ex", conditions=("hypertension",))
    conn.execute(
        "INSERT INTO lab_results (member_id, loinc, value, unit, taken_at, uploaded_by) VALUES"
        " ('ex', '82290-8', 0, 'min/wk', %s, 'c'), ('ex', '82290-8', 180, 'min/wk', %s, 'c')",
        (_at(W1 - timedelta(days=80), 9), _at(W1 - timedelta(days=10), 9)),
    )
    with pytest.raises(psycopg.errors.CheckViolation):  # minutes a week, nothing else
        conn.execute(
            "INSERT INTO lab_results (member_id, loinc, value, unit, taken_at, uploaded_by)"
            " VALUES ('ex', '82290-8', 180, '%%', now(), 'c')"
        )
    conn.rollback()
    score_window(db_url, settings, W0, W1)
    row = conn.execute("SELECT indicators FROM scores WHERE member_id = 'ex'").fetchone()
    assert row is not None
    assert row[0]["clinic_exercise"] == {
        "minutes_per_week": 180.0, "meets_who": True, "sufficient": True
    }  # fmt: skip
