"""The score bench's plain-Python baseline against the service, on the rules' hard cases.

The bench's speed-up counts only when the baseline computes the numbers the service stores
(``tests.scoring.loops.agreement``). This holds the two implementations equal on a small
book built to exercise the rules a loop gets wrong: readings of one sitting, the first
protocol day, the morning mean, two trackers at once, a device's summary beside its hourly
records, CGM dropouts, a single low reading, and level-1, level-2, extended and hyper
events in both units.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from core.settings import Settings
from scoring.service import score_window
from tests.factories import add_device, add_member
from tests.scoring.loops import agreement, compute, fetch

W0, W1 = date(2026, 3, 1), date(2026, 3, 29)  # 28 days; CGM metrics use the last 14
CST = timedelta(hours=8)


def _local(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC) - CST


def _bp_member(conn: psycopg.Connection[Any]) -> None:
    """82 years old (the relaxed target), morning readings higher, pairs a minute apart."""
    add_member(conn, "bp", conditions=("hypertension", "diabetes"), birth_date=date(1943, 1, 1))
    add_device(conn, "cuff")
    rows = []
    for i in range(28):
        d = W0 + timedelta(days=i)
        rows.append((_local(d, 7, 10), 150 + i % 5, 84 + i % 3))
        if i % 3 == 0:  # a second reading of the same sitting
            rows.append((_local(d, 7, 11), 140, 80))
        if i % 4:
            rows.append((_local(d, 20), 128 + i % 7, 78))
        if i == 9:
            rows.append((_local(d, 14), 185, 112))  # afternoon, grade 3, not in the mean
    for at, s, dia in rows:
        conn.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, pulse, validated) VALUES ('cuff', %s, 'bp', 480, %s, %s, 70,"
            " true)",
            (at, s, dia),
        )


def _activity_member(conn: psycopg.Connection[Any]) -> None:
    """A band's hourly records beside its own daily summary, and a second tracker."""
    add_member(conn, "act", birth_date=date(1962, 6, 1))
    add_device(conn, "band-a", "activity_tracker")
    add_device(conn, "band-b", "activity_tracker")
    ins = (
        "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
        " utc_offset_min, steps, active_minutes, vigorous_minutes)"
        " VALUES (%s, %s, %s, 'act', 480, %s, %s, %s)"
    )
    for i in range(28):
        d = W0 + timedelta(days=i)
        conn.execute(ins, ("band-a", _local(d, 0), 86_400, 6_000 + 100 * i, 25, 5))
        if i % 2 == 0:  # hourly detail from the same band on even days
            for h in range(8, 20):
                conn.execute(ins, ("band-a", _local(d, h), 3600, 450, 2, 1))
        if i % 5 == 0:  # a second tracker worn 14 hours on some days
            for h in range(6, 20):
                conn.execute(ins, ("band-b", _local(d, h), 3600, 700, 3, 0))


def _cgm_member(conn: psycopg.Connection[Any], mid: str, mmol: bool) -> None:
    """14 days every 5 minutes with dropouts, and lows and highs of every kind."""
    add_member(conn, mid, conditions=("diabetes",), birth_date=date(1950, 1, 1))
    add_device(conn, f"cgm-{mid}", "cgm")
    start = _local(W1 - timedelta(days=14), 0)
    rows = []
    for k in range(14 * 288):
        if 500 <= k < 508 or 2000 <= k < 2013:  # a 40-minute and a 65-minute dropout
            continue
        day, slot = divmod(k, 288)
        mg = 120.0 + 30 * ((k % 40) > 30)
        if slot == 30:
            mg = 65.0  # one low reading: never an event
        elif 100 <= slot < 105 and day % 2 == 0:
            mg = 60.0  # 25 minutes below 70
        elif 150 <= slot < 156 and day % 3 == 0:
            mg = 50.0  # 30 minutes below 54
        elif 200 <= slot < 228 and day == 5:
            mg = 62.0  # 140 minutes below 70: extended
        elif 240 <= slot < 250:
            mg = 200.0 + 60 * (day % 2)  # 50 minutes high, above 250 every other day
        value = round(mg / 18.01559, 1) if mmol else mg
        rows.append((start + timedelta(minutes=5 * k), value))
    with conn.cursor().copy(
        "COPY glucose_readings (device_id, measured_at, member_id, utc_offset_min, value,"
        " unit, method) FROM STDIN"
    ) as cp:
        for at, value in rows:
            cp.write_row((f"cgm-{mid}", at, mid, 480, value, "mmol/L" if mmol else "mg/dL", "cgm"))


def _sparse_member(conn: psycopg.Connection[Any]) -> None:
    """One CGM reading a day: insufficient, whatever its own sampling interval says."""
    add_member(conn, "sparse", conditions=("diabetes",), birth_date=date(1970, 1, 1))
    add_device(conn, "cgm-sparse", "cgm")
    for k in range(14):
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, method) VALUES ('cgm-sparse', %s, 'sparse', 480, 6.1, 'mmol/L',"
            " 'cgm')",
            (_local(W1 - timedelta(days=14 - k), 8),),
        )


def test_the_baseline_computes_what_the_service_stores(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    _bp_member(conn)
    _activity_member(conn)
    _cgm_member(conn, "cgm-mg", mmol=False)
    _cgm_member(conn, "cgm-mmol", mmol=True)
    _sparse_member(conn)
    score_window(db_url, settings, W0, W1)
    members = ("bp", "act", "cgm-mg", "cgm-mmol", "sparse")
    with psycopg.connect(db_url) as c:
        fetched = {m: fetch(c, m, W0, W1) for m in members}
    result = compute(fetched, W0, W1)
    compared, scored, disagree = agreement(db_url, result, W0, W1)
    assert disagree == [] and scored == len(members) and compared > 100
    # Not vacuous: each rule above is in play, in the baseline's numbers as in the service's.
    bp, act = result["bp"]["bp"], result["act"]["activity"]
    assert bp["n_readings"] < len(fetched["bp"]["bp"])  # sittings averaged
    assert bp["morning_above_target"] is True and bp["controlled"] is True  # 145/85 at 82
    assert bp["severe_count"] == 1
    assert act["valid_days"] == 28 and act["median_steps"] < 9_000  # never a sum of bands
    for mid in ("cgm-mg", "cgm-mmol"):
        cgm = result[mid]["cgm"]
        assert cgm["hypo_l1_events"] > 0 and cgm["hypo_l2_events"] > 0
        assert cgm["hypo_extended_events"] == 1 and cgm["hyper_events"] == 14
        assert 90 < cgm["active_pct"] < 100
    assert result["sparse"]["cgm"]["sufficient"] is False  # 14 readings in 14 days
    assert result["bp"]["activity"]["sufficient"] is False  # no tracker


def test_a_disagreement_is_reported_with_the_member_and_the_key(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    _bp_member(conn)
    score_window(db_url, settings, W0, W1)
    with psycopg.connect(db_url) as c:
        result = compute({"bp": fetch(c, "bp", W0, W1)}, W0, W1)
    result["bp"]["bp"]["home_mean_sys"] += 0.5
    _, _, disagree = agreement(db_url, result, W0, W1)
    assert len(disagree) == 1 and disagree[0].startswith("bp bp.home_mean_sys: baseline")
