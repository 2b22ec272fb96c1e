"""Physiology: distributions a clinician would recognise, and the protocol's shape."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from core.payload_format import MEAL_CONTEXTS
from device_sim.clock import iso_local, local_hour, local_midnight
from device_sim.cohort import SimMember, generate_cohort
from device_sim.physiology import activity, bp, glucose

START = date(2026, 3, 2)  # a Monday
DAYS = 28


@pytest.fixture(scope="module")
def members() -> list[SimMember]:
    return generate_cohort(3000, seed=5, start=START)


def _bp_means(group: list[SimMember]) -> tuple[float, float]:
    sys_, dia = [], []
    for m in group[:150]:
        s = bp.home_readings(m, START, DAYS)
        if s.t.size:
            sys_.append(s.sys.mean())
            dia.append(s.dia.mean())
    return float(np.mean(sys_)), float(np.mean(dia))


def test_home_bp_levels_by_group(members: list[SimMember]) -> None:
    htn = [m for m in members if "hypertension" in m.conditions]
    treated = _bp_means([m for m in htn if m.treated])
    untreated = _bp_means([m for m in htn if not m.treated])
    normal = _bp_means([m for m in members if "hypertension" not in m.conditions])
    assert 130 <= treated[0] <= 145 and 78 <= treated[1] <= 90
    assert 145 <= untreated[0] <= 162 and 85 <= untreated[1] <= 97
    assert 110 <= normal[0] <= 128 and 68 <= normal[1] <= 82


def test_home_protocol_pairs_times_and_morning_surge(members: list[SimMember]) -> None:
    diffs = []
    for m in [m for m in members if m.treated][:100]:
        s = bp.home_readings(m, START, DAYS)
        gaps = s.t[1::2] - s.t[0::2]
        assert ((gaps >= 60) & (gaps <= 75)).all()  # two readings one minute apart
        h = local_hour(s.t)
        assert (((h >= 5) & (h < 10)) | ((h >= 16) & (h < 22))).all()
        assert (s.sys > s.dia).all()
        morning, evening = s.sys[h < 12], s.sys[h >= 12]
        if morning.size > 4 and evening.size > 4:
            diffs.append(morning.mean() - evening.mean())
    assert 2 <= float(np.mean(diffs)) <= 10  # J-HOME: morning ~5-8 mmHg higher


def test_adherence_drives_how_often_members_measure(members: list[SimMember]) -> None:
    adherence, rate = [], []
    for m in [m for m in members if m.device("bp_cuff")][:200]:
        s = bp.home_readings(m, START, 120)
        mornings = np.unique((s.t[local_hour(s.t) < 12] - local_midnight(START)) // 86400).size
        adherence.append(m.adherence)
        rate.append(mornings / 120)
    a, r = np.array(adherence), np.array(rate)
    assert np.corrcoef(a, r)[0, 1] > 0.9
    assert abs(float(np.mean(r - a * (5 + 2 * 0.9) / 7))) < 0.02  # weekend factor 0.9


def test_cuffless_watch_sees_the_nocturnal_dip(members: list[SimMember]) -> None:
    dips = []
    for m in members[:60]:
        s = bp.cuffless_readings(m, START, 14)
        h = local_hour(s.t)
        day, night = s.sys[(h >= 9) & (h < 21)], s.sys[(h >= 0) & (h < 5)]
        dips.append(1 - night.mean() / day.mean())
    assert 0.04 <= float(np.median(dips)) <= 0.16  # dippers fall 10-20 %, noise shrinks it


def test_cgm_time_in_range_cv_and_hypoglycaemia(members: list[SimMember]) -> None:
    dms = [m for m in members if "diabetes" in m.conditions][:60]
    tir, cv, tbr_prone = [], [], []
    for m in dms:
        tr = glucose.trace(m, START, 14)
        g = glucose.cgm_readings(m, tr)
        steps = np.diff(g.t)
        assert (steps % 300 == 0).all() and np.median(steps) == 300
        assert g.t.size / (14 * 288) > 0.7  # consensus sufficiency is usually met
        tir.append(np.mean((g.mgdl >= 70) & (g.mgdl <= 180)))
        cv.append(g.mgdl.std() / g.mgdl.mean())
        if m.hypo_prone:
            tbr_prone.append(np.mean(g.mgdl < 70))
    assert 0.45 <= float(np.median(tir)) <= 0.9  # T2D cohorts: TIR ~50-80 %
    assert 0.15 <= float(np.median(cv)) <= 0.36  # consensus: CV <= 36 % is "stable"
    assert tbr_prone and float(np.mean(tbr_prone)) > 0.002  # prone members do go low


def test_dawn_phenomenon_and_meals_shape_the_day(members: list[SimMember]) -> None:
    dms = [m for m in members if "diabetes" in m.conditions][:40]
    mean_day = np.mean([glucose.trace(m, START, 14).mgdl.mean(axis=0) for m in dms], axis=0)

    def at(h: float) -> float:
        return float(mean_day[int(h * 12)])

    assert at(6.5) > at(3.0) + 5  # dawn rise before breakfast
    assert at(8.5) > at(6.5) + 20  # breakfast excursion
    assert at(13.0) > at(11.0)  # lunch


def test_meter_readings_carry_meal_context_and_units(members: list[SimMember]) -> None:
    dms = [m for m in members if m.device("glucometer")][:30]
    labels: set[str | None] = set()
    for m in dms:
        tr = glucose.trace(m, START, DAYS)
        g = glucose.meter_readings(m, tr)
        labels |= set(g.meal)
        fasting = g.mgdl[np.array([x == "fasting" for x in g.meal], dtype=bool)]
        post = g.mgdl[np.array([bool(x and x.startswith("after")) for x in g.meal], dtype=bool)]
        if fasting.size > 3 and post.size > 3:
            assert post.mean() > fasting.mean()
    assert labels <= set(MEAL_CONTEXTS) and "fasting" in labels
    assert glucose.render(np.array([30.0, 100.0, 450.0]), "mmol/L") == ["LO", 5.6, "HI"]
    assert glucose.render(np.array([100.4]), "mg/dL") == [100]


def test_steps_and_active_minutes_are_consistent_with_cadence(members: list[SimMember]) -> None:
    daily = []
    for m in members[:150]:
        a = activity.hourly(m, START, DAYS)
        assert (a.active_min * activity.MODERATE_CADENCE <= a.steps).all()
        assert (a.vig_min <= a.active_min).all() and (a.active_min <= 60).all()
        assert (a.steps <= 300 * 60).all()
        if a.t.size:
            days = (a.t - local_midnight(START)) // 86400
            daily.append(np.bincount(days, weights=a.steps)[np.unique(days)].mean())
    assert 3000 <= float(np.median(daily)) <= 9000


def test_no_hour_exceeds_what_a_person_can_walk_or_run() -> None:
    """Across many member-days (the gamma tail is where impossible hours came from)."""
    for m in generate_cohort(400, seed=13, start=START):
        a = activity.hourly(m, START, 60)
        assert a.steps.size == 0 or int(a.steps.max()) <= 60 * 250


def test_workers_commute_on_weekdays_but_not_at_weekends(members: list[SimMember]) -> None:
    wk, we = np.zeros(24), np.zeros(24)
    for m in [m for m in members if m.age < 50][:80]:
        a = activity.hourly(m, START, DAYS)
        days = (a.t - local_midnight(START)) // 86400
        hours = local_hour(a.t).astype(int)
        weekend = (days % 7) >= 5
        np.add.at(wk, hours[~weekend], a.steps[~weekend])
        np.add.at(we, hours[weekend], a.steps[weekend])
    wk, we = wk / wk.sum(), we / we.sum()
    assert wk[7] + wk[8] > 1.5 * (we[7] + we[8])
    assert we[10] + we[11] > wk[10] + wk[11]


def test_timestamps_are_local_with_offset() -> None:
    t = np.array([local_midnight(START) + 7 * 3600])
    assert iso_local(t) == ["2026-03-02T07:00:00+08:00"]


def test_readings_are_deterministic(members: list[SimMember]) -> None:
    m = next(m for m in members if m.device("cgm"))
    a, b = glucose.trace(m, START, 5), glucose.trace(m, START, 5)
    assert np.array_equal(glucose.cgm_readings(m, a).mgdl, glucose.cgm_readings(m, b).mgdl)


def test_over_treated_members_miss_the_hypoglycaemia_targets(members: list[SimMember]) -> None:
    """The demo needs the over-treated case (good TIR bought with lows): their 14-day CGM
    misses the consensus targets (< 4 % below 70 mg/dL, < 1 % below 54); others do not."""
    over = [m for m in members if m.over_treated][:15]
    prone = [m for m in members if m.hypo_prone and not m.over_treated][:15]
    assert over and prone and all("diabetes" in m.conditions for m in over)

    def tbr(m: SimMember, below: float) -> float:
        g = glucose.cgm_readings(m, glucose.trace(m, START, 14))
        return float(np.mean(g.mgdl < below))

    assert np.median([tbr(m, 70) for m in over]) >= 0.04
    assert np.median([tbr(m, 54) for m in over]) >= 0.01
    assert np.median([tbr(m, 70) for m in prone]) < 0.04
