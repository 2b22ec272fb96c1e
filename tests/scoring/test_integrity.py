"""Integrity rules and model: gaming is caught, clean members are not; flags hold, reviews stick."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest

from device_sim import gaming
from device_sim.cohort import generate_cohort
from device_sim.physiology import activity as sim_activity
from device_sim.physiology import bp as sim_bp
from scoring.integrity import service
from scoring.integrity.detector import model_hits
from scoring.integrity.features import activity_days, bp_weeks
from scoring.integrity.rules import activity_hits, bp_hits
from tests.factories import add_device, add_member

START = date(2026, 3, 2)
DAYS = 28


def _clean(n: int) -> list[Any]:
    return [m for m in generate_cohort(n, seed=5, start=START)]


def _act(m: Any) -> tuple[np.ndarray, ...]:
    a = sim_activity.hourly(m, START, DAYS)
    return (
        a.t.astype(np.int64),
        np.full(a.t.size, 480, np.int16),
        a.steps.astype(np.int64),
        a.hr.astype(float),
    )


def _bp(m: Any) -> tuple[np.ndarray, ...]:
    s = sim_bp.home_readings(m, START, DAYS)
    return (s.t.astype(np.int64), np.full(s.t.size, 480, np.int16), s.sys.astype(float),
            s.dia.astype(float), s.pulse.astype(float))  # fmt: skip


@pytest.fixture(scope="module")
def cohort() -> list[Any]:
    return _clean(300)


def test_clean_members_are_rarely_flagged(cohort: list[Any]) -> None:
    """False-positive rate on clean simulated members, rules and model (docs/models.md)."""
    flagged_rule = flagged_model = 0
    days_by_member = {}
    bp_members = 0
    for m in cohort:
        days = activity_days(*_act(m))
        days_by_member[m.member_id] = days
        hits = activity_hits(days)
        if m.device("bp_cuff"):
            bp_members += 1
            hits += bp_hits(bp_weeks(*_bp(m)))
        flagged_rule += bool(hits)
    flagged_model = len(model_hits(days_by_member, seed=0))
    n = len(cohort)
    assert flagged_rule / n <= 0.01, flagged_rule
    assert flagged_model / n <= 0.02, flagged_model
    assert bp_members > 50


def test_each_gaming_pattern_is_caught(cohort: list[Any]) -> None:
    m = next(x for x in cohort if x.device("bp_cuff"))
    t, off, steps, hr = _act(m)
    worn = steps > 0
    s2, hr2 = gaming.phone_shaker(steps[worn], hr[worn], seed=1)
    kinds = {h.kind for h in activity_hits(activity_days(t[worn], off[worn], s2, hr2))}
    assert {"machine_regular_steps", "steps_without_heart_rate_response"} <= kinds
    bt, boff, bs, bd, bpulse = _bp(m)
    cs, cd, cp = gaming.bp_copier(bs, bd, bpulse)
    assert "copied_bp_series" in {h.kind for h in bp_hits(bp_weeks(bt, boff, cs, cd, cp))}
    ss, sd = gaming.shared_cuff(bs, bd, seed=2)
    assert "two_people_one_cuff" in {h.kind for h in bp_hits(bp_weeks(bt, boff, ss, sd, bpulse))}
    tb = gaming.burst(bt)
    k = tb.size
    fill = np.resize(bs, k)
    hits = bp_hits(
        bp_weeks(tb, np.full(k, 480, np.int16), fill, np.resize(bd, k), np.resize(bpulse, k))
    )
    assert "impossible_reading_rate" in {h.kind for h in hits}


def test_the_model_finds_a_shaker_among_clean_members(cohort: list[Any]) -> None:
    days_by_member = {m.member_id: activity_days(*_act(m)) for m in cohort}
    t, off, steps, hr = _act(cohort[0])
    worn = steps > 0
    s2, hr2 = gaming.phone_shaker(steps[worn], hr[worn], seed=3)
    days_by_member["shaker"] = activity_days(t[worn], off[worn], s2, hr2)
    assert "shaker" in model_hits(days_by_member, seed=0)


def test_scan_flags_hold_and_reviews_are_recorded(conn: psycopg.Connection[Any]) -> None:
    add_member(conn, "g1")
    add_device(conn, "cuff-g1")
    day0 = START
    for i in range(14):
        for h in (7, 19):
            conn.execute(
                "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
                " systolic, diastolic, pulse, validated) VALUES ('cuff-g1', %s, 'g1', 480,"
                " 126, 78, 70, true)",
                (f"{day0 + timedelta(days=i)} {h:02d}:00:00+08:00",),
            )
    out = service.scan(conn, START, START + timedelta(days=DAYS))
    assert out["new_flags"] == 1
    assert service.scan(conn, START, START + timedelta(days=DAYS))["new_flags"] == 0  # idempotent
    held = service.held_periods(conn, ["g1"])["g1"]
    assert held[0]["kind"] == "copied_bp_series" and held[0]["status"] == "open"
    with pytest.raises(ValueError):
        service.review_flag(conn, held[0]["flag_id"], "maybe", "dr-li")
    service.review_flag(conn, held[0]["flag_id"], "dismissed", "dr-li", "cuff replaced")
    assert service.held_periods(conn, ["g1"]) == {}
    row = conn.execute("SELECT status, reviewed_by, review_note FROM integrity_flags").fetchone()
    assert row == ("dismissed", "dr-li", "cuff replaced")
    with pytest.raises(LookupError):
        service.review_flag(conn, held[0]["flag_id"], "upheld", "dr-li")


def test_loaders_floor_sub_second_times(conn: psycopg.Connection[Any]) -> None:
    """23:59:59.6 stays on its own second (and local day): the loaders floor, never round."""
    from datetime import UTC, datetime

    from scoring.integrity import repository

    add_member(conn, "m-floor")
    add_device(conn, "band-floor", "activity_tracker")
    at = datetime(2026, 6, 1, 15, 59, 59, 600000, tzinfo=UTC)  # 23:59:59.6 at UTC+8
    conn.execute(
        "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
        " utc_offset_min, steps) VALUES ('band-floor', %s, 60, 'm-floor', 480, 100)",
        (at,),
    )
    got = repository.activity(conn, at - timedelta(days=1), at + timedelta(days=1))
    start = int(got["m-floor"][0][0])
    assert start == int(at.timestamp() // 1)
    assert (start + 480 * 60) // 86_400 == (at + timedelta(hours=8)).date().toordinal() - 719_163
