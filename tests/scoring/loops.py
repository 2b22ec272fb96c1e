"""A second implementation of the stored indicators: member by member, in plain Python.

Why: it is the oracle a test holds the service to (``tests/scoring/test_loops.py``), and
the loop baseline of the score bench (``bench.score_bench``), where a speed-up means
something only against code that does the same work. It is written apart from the
service, from docs/clinical.md; it shares the constants and the one-line rules (the BP
target by age and condition, the step target, the valid days needed, age). It fetches
each member's rows (one query per member and kind) and, with Python loops and no numpy,
computes the indicators the service stores for the bench's book, to the definitions of
docs/clinical.md:

- home BP: readings of one sitting (within 3 minutes) averaged; morning and evening
  slots; protocol days; window, morning and evening means after the first protocol day;
  the member's own target (age, diabetes); months assessed and controlled; SD, CV, ARV;
  grade-3 count;
- activity: one source per local day (the finest records of a device, the device with
  the most wear), valid days, median steps, days at the age's step target, WHO
  moderate-equivalent minutes, active days;
- CGM over the window's last 14 local days: active percent against the sensor's nominal
  interval, sufficiency, the six bands in the device's unit, mean, SD, CV, GMI, GRI,
  LBGI/HBGI, and the level-1, level-2, extended and hyper events (a reading counts for at
  most one nominal interval, runs broken at gaps over 45 minutes).

:func:`agreement` compares its numbers with the rows the service stored for the same
members, so neither can drift from the other unnoticed (nor the baseline do less work).
What it leaves out, the service still does in its measured compute: the composite and
its components, the control block and its reasons, alerts, fingersticks, clinic data.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from core.units import MGDL_PER_MMOLL
from scoring.config import BpTargets
from scoring.indicators.rules import (
    ACTIVE_DAY_MIN,
    BGI_A,
    BGI_B,
    BGI_C,
    BGI_R,
    CGM_DAYS,
    CGM_MIN_ACTIVE_PCT,
    CGM_NOMINAL_INTERVAL_S,
    CONSECUTIVE_TOLERANCE,
    DAY_S,
    EVENT_END_S,
    EVENT_MIN_READINGS,
    EVENT_MIN_S,
    EXTENDED_HYPO_S,
    GMI_INTERCEPT,
    GMI_SLOPE,
    GRI_WEIGHTS,
    GRI_ZONES,
    MAX_GAP_S,
    MGDL_EDGES,
    MIN_PROTOCOL_DAYS_MONTH,
    MIN_PROTOCOL_DAYS_WINDOW,
    MIN_WEAR_S,
    MMOL_EDGES,
    PAIR_WINDOW_S,
    SEVERE_DIA_MMHG,
    SEVERE_SYS_MMHG,
    WHO_MIN_PER_WEEK,
    step_target,
    valid_days_needed,
)
from scoring.version import ALGORITHM_VERSION
from scoring.window import age

Rows = list[tuple[Any, ...]]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _sd(xs: list[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _member(c: psycopg.Connection[Any], mid: str) -> tuple[date, tuple[str, ...]]:
    row = c.execute("SELECT birth_date, conditions FROM members WHERE member_id = %s", (mid,))
    birth, conditions = row.fetchone() or (date(1970, 1, 1), [])
    return birth, tuple(conditions or ())


def fetch(c: psycopg.Connection[Any], mid: str, start: date, end: date) -> dict[str, Any]:
    """One member's rows: BP and activity over the window (a day of margin each side, cut
    by local day below), CGM over its last 15 days."""
    t0, t1 = start - timedelta(days=1), end + timedelta(days=1)
    bp = c.execute(
        "SELECT measured_at, utc_offset_min, systolic, diastolic FROM bp_readings"
        " WHERE member_id = %s AND measured_at >= %s AND measured_at < %s AND validated"
        " AND source IS DISTINCT FROM 'clinic' ORDER BY measured_at",
        (mid, t0, t1),
    ).fetchall()
    act = c.execute(
        "SELECT start_at, utc_offset_min, duration_s, steps, active_minutes, vigorous_minutes,"
        " device_id FROM activity_readings"
        " WHERE member_id = %s AND start_at >= %s AND start_at < %s ORDER BY start_at",
        (mid, t0, t1),
    ).fetchall()
    g = c.execute(
        "SELECT measured_at, value, unit, utc_offset_min FROM glucose_readings"
        " WHERE member_id = %s AND measured_at >= %s AND measured_at < %s AND method = 'cgm'"
        " ORDER BY measured_at",
        (mid, end - timedelta(days=CGM_DAYS + 1), t1),
    ).fetchall()
    birth, conditions = _member(c, mid)
    return {"bp": bp, "act": act, "cgm": g, "age": age(birth, end - timedelta(days=1)),
            "conditions": conditions}  # fmt: skip


def _days(start: date, end: date) -> tuple[int, int]:
    """The window's first and end local day numbers (days since 1970-01-01)."""
    return (start - date(1970, 1, 1)).days, (end - date(1970, 1, 1)).days


# --- home BP -----------------------------------------------------------------------------


def _sittings(bp: Rows) -> list[tuple[int, int, float, float]]:
    """(epoch s, offset, systolic, diastolic) a sitting, readings within 3 min averaged."""
    out: list[list[Any]] = []  # first time, offset, sums, readings, last time
    for t, off, s, d in bp:
        ts = int(t.timestamp())
        if out and ts - out[-1][5] <= PAIR_WINDOW_S:
            last = out[-1]
            last[2] += s
            last[3] += d
            last[4] += 1
            last[5] = ts
        else:
            out.append([ts, off, float(s), float(d), 1, ts])
    return [(t, off, ss / k, dd / k) for t, off, ss, dd, k, _ in out]


def _slot(sec_of_day: int) -> str:
    if 4 * 3600 <= sec_of_day < 12 * 3600:
        return "m"
    return "e" if sec_of_day >= 16 * 3600 else "x"


def loop_bp(bp: Rows, target: tuple[float, float], start: date, end: date) -> dict[str, Any]:
    ts_, td_ = target
    lo, hi = _days(start, end)
    sit: list[tuple[int, str, float, float]] = []
    for t, off, s, d in _sittings(bp):
        day, sod = divmod(t + off * 60, DAY_S)
        if lo <= day < hi:
            sit.append((day, _slot(sod), s, d))
    n = len(sit)
    out: dict[str, Any] = {"n_readings": n,
                           "severe_count": sum(s >= SEVERE_SYS_MMHG or d >= SEVERE_DIA_MMHG
                                               for _, _, s, d in sit),
                           "target_sys": ts_, "target_dia": td_, "sufficient": False}  # fmt: skip
    slots: dict[int, set[str]] = {}
    for day, slot, _, _ in sit:
        slots.setdefault(day, set()).add(slot)
    out["valid_days"] = len(slots)
    proto = sorted(d for d, v in slots.items() if {"m", "e"} <= v)
    out["protocol_days"] = len(proto)
    out["protocol_weeks"] = len({(d + 3) // 7 for d in proto})
    pset = set(proto)
    months: dict[tuple[int, int], list[tuple[float, float]]] = {}
    mdays: dict[tuple[int, int], set[int]] = {}
    for day, slot, s, d in sit:
        if day in pset and slot != "x":
            dt = date(1970, 1, 1) + timedelta(days=day)
            months.setdefault((dt.year, dt.month), []).append((s, d))
            mdays.setdefault((dt.year, dt.month), set()).add(day)
    assessed = [k for k in months if len(mdays[k]) >= MIN_PROTOCOL_DAYS_MONTH]
    out["months_assessed"] = len(assessed)
    if assessed:
        out["months_controlled"] = sum(
            _mean([x[0] for x in months[k]]) < ts_ and _mean([x[1] for x in months[k]]) < td_
            for k in assessed
        )
    if len(proto) < MIN_PROTOCOL_DAYS_WINDOW:
        return out
    out["sufficient"] = True
    used = [(slot, s, d) for day, slot, s, d in sit if day in pset and slot != "x"
            and day != proto[0]]  # fmt: skip
    ms, md = _mean([u[1] for u in used]), _mean([u[2] for u in used])
    out.update(home_mean_sys=ms, home_mean_dia=md, controlled=ms < ts_ and md < td_)
    out["pct_in_target"] = 100 * sum(s < ts_ and d < td_ for _, _, s, d in sit) / n
    for k, col in (("sys", 2), ("dia", 3)):
        xs = [float(r[col]) for r in sit]
        sd = _sd(xs)
        arv = sum(abs(xs[i + 1] - xs[i]) for i in range(n - 1)) / (n - 1)
        out.update({f"sd_{k}": sd, f"cv_{k}": 100 * sd / _mean(xs), f"arv_{k}": arv})
    for name, slot in (("morning", "m"), ("evening", "e")):
        part = [u for u in used if u[0] == slot]
        if part:
            out[f"{name}_mean_sys"] = _mean([u[1] for u in part])
            out[f"{name}_mean_dia"] = _mean([u[2] for u in part])
    if "morning_mean_sys" in out:
        out["morning_above_target"] = (
            out["morning_mean_sys"] >= ts_ or out["morning_mean_dia"] >= td_
        )
    return out


# --- activity -----------------------------------------------------------------------------


def loop_activity(act: Rows, member_age: int, start: date, end: date) -> dict[str, Any]:
    lo, hi = _days(start, end)
    per_day: dict[int, dict[str, list[tuple[Any, ...]]]] = {}
    for r in act:
        day = (int(r[0].timestamp()) + r[1] * 60) // DAY_S
        if lo <= day < hi:
            per_day.setdefault(day, {}).setdefault(r[6], []).append(r)
    days = []
    for by_device in per_day.values():
        best: tuple[float, list[tuple[Any, ...]]] | None = None
        for dev in sorted(by_device):  # ties: the first device wins
            recs = by_device[dev]
            recs = [r for r in recs if r[2] < DAY_S] or recs  # the finest records
            cover = sum(min(r[2], DAY_S) for r in recs)
            if best is None or cover > best[0]:
                best = (cover, recs)
        assert best is not None
        cover, recs = best
        days.append((cover, sum(r[3] for r in recs), sum(r[4] + r[5] for r in recs)))
    valid = [(st, mv) for wear, st, mv in days if wear >= MIN_WEAR_S and st > 0]
    target = step_target(member_age)
    out: dict[str, Any] = {"valid_days": len(valid), "step_target": target, "sufficient": False}
    if len(valid) < valid_days_needed((end - start).days):
        return out
    out["sufficient"] = True
    per_week = sum(mv for _, mv in valid) / len(valid) * 7
    out.update(
        median_steps=float(statistics.median([st for st, _ in valid])),
        days_at_target=sum(st >= target for st, _ in valid),
        mvpa_min_per_week=per_week,
        meets_who=per_week >= WHO_MIN_PER_WEEK,
        active_days=sum(mv >= ACTIVE_DAY_MIN for _, mv in valid),
    )
    return out


# --- CGM -----------------------------------------------------------------------------------


def _events(ts: list[int], beyond: list[bool], nominal: float, min_s: float, longer: bool) -> int:
    """Events as docs/clinical.md defines them, walked run by run."""
    n, count, is_open, k = len(ts), 0, False, 0
    while k < n:
        j = k
        while j + 1 < n and beyond[j + 1] == beyond[k] and ts[j + 1] - ts[j] <= MAX_GAP_S:
            j += 1
        if k > 0 and ts[k] - ts[k - 1] > MAX_GAP_S:
            is_open = False
        dur = sub = stretch = 0.0
        sub_n = 0
        for i in range(k, j + 1):
            if i > k and ts[i] - ts[i - 1] > CONSECUTIVE_TOLERANCE * nominal:
                stretch = max(stretch, sub) if sub_n >= EVENT_MIN_READINGS else stretch
                sub, sub_n = 0.0, 0
            credit = min(ts[i + 1] - ts[i], nominal) if i + 1 < n else nominal
            dur, sub, sub_n = dur + credit, sub + credit, sub_n + 1
        stretch = max(stretch, sub) if sub_n >= EVENT_MIN_READINGS else stretch
        if beyond[k]:
            if (stretch > min_s if longer else stretch >= min_s) and not is_open:
                count, is_open = count + 1, True
        elif dur >= EVENT_END_S:
            is_open = False
        k = j + 1
    return count


def loop_cgm(g: Rows, end: date, nominal: float = CGM_NOMINAL_INTERVAL_S) -> dict[str, Any]:
    if not g:
        return {"n_readings": 0, "active_pct": 0.0, "sufficient": False}
    off = int(statistics.median([r[3] for r in g]))
    t1 = int(datetime.combine(end, datetime.min.time(), UTC).timestamp()) - off * 60
    t0 = t1 - CGM_DAYS * DAY_S
    rows = [(int(t.timestamp()), v, unit == "mmol/L") for t, v, unit, _ in g]
    rows = [r for r in rows if t0 <= r[0] < t1]
    n = len(rows)
    active = min(100.0, 100.0 * n * nominal / (t1 - t0))
    out: dict[str, Any] = {"n_readings": n, "active_pct": active, "sufficient": False}
    if active < CGM_MIN_ACTIVE_PCT or n == 0:
        return out
    out["sufficient"] = True
    bands = dict.fromkeys(("tbr54", "tbr70", "titr", "tir", "tar180", "tar250"), 0)
    mg, ts, l1, l2, hyper = [], [], [], [], []
    for t, v, mmol in rows:
        lo2, lo1, titr, hi1, hi2 = MMOL_EDGES if mmol else MGDL_EDGES
        bands["tbr54"] += v < lo2
        bands["tbr70"] += v < lo1
        bands["titr"] += lo1 <= v <= titr
        bands["tir"] += lo1 <= v <= hi1
        bands["tar180"] += v > hi1
        bands["tar250"] += v > hi2
        l1.append(v < lo1)
        l2.append(v < lo2)
        hyper.append(v > hi1)
        mg.append(v * MGDL_PER_MMOLL if mmol else v)
        ts.append(t)
    pct = {k: 100 * b / n for k, b in bands.items()}
    out.update(pct)
    m = _mean(mg)
    sd = _sd(mg)
    f = [BGI_A * (math.log(max(x, 1.0)) ** BGI_B - BGI_C) for x in mg]
    w = GRI_WEIGHTS
    gri = min(100.0, w[0] * pct["tbr54"] + w[1] * (pct["tbr70"] - pct["tbr54"])
              + w[2] * pct["tar250"] + w[3] * (pct["tar180"] - pct["tar250"]))  # fmt: skip
    out.update(
        mean_mgdl=m, sd_mgdl=sd, cv=100 * sd / m, gmi=GMI_INTERCEPT + GMI_SLOPE * m, gri=gri,
        gri_zone=next((zone for edge, zone in GRI_ZONES if gri <= edge), "E"),
        lbgi=sum(BGI_R * x * x for x in f if x < 0) / n,
        hbgi=sum(BGI_R * x * x for x in f if x > 0) / n,
        hypo_l1_events=_events(ts, l1, nominal, EVENT_MIN_S, False),
        hypo_l2_events=_events(ts, l2, nominal, EVENT_MIN_S, False),
        hypo_extended_events=_events(ts, l1, nominal, EXTENDED_HYPO_S, True),
        hyper_events=_events(ts, hyper, nominal, EVENT_MIN_S, False),
    )  # fmt: skip
    return out


# --- the timed run and the check against the service -----------------------------------------


def compute(fetched: dict[str, dict[str, Any]], start: date, end: date) -> dict[str, Any]:
    """Every sampled member's indicators (the timed part)."""
    targets = BpTargets()
    out = {}
    for mid, f in fetched.items():
        out[mid] = {
            "bp": loop_bp(f["bp"], targets.for_member(f["age"], f["conditions"]), start, end),
            "activity": loop_activity(f["act"], f["age"], start, end),
            "cgm": loop_cgm(f["cgm"], end),
        }
    return out


def baseline(
    url: str, sample: list[str], start: date, end: date, repeats: int = 3
) -> dict[str, Any]:
    """Fetch the sample once, then time its compute ``repeats`` times: the fastest is kept
    (the least disturbed), with the cyclic collector paused as it is in the service."""
    t0 = time.perf_counter()
    with psycopg.connect(url) as c:
        fetched = {mid: fetch(c, mid, start, end) for mid in sample}
    load = time.perf_counter() - t0
    times, result = [], {}
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            result = compute(fetched, start, end)
            times.append(time.perf_counter() - t)
        finally:
            gc.enable()
    rows = sum(len(f["bp"]) + len(f["act"]) + len(f["cgm"]) for f in fetched.values())
    return {"members": len(sample), "load_s": load, "compute_s": min(times), "runs": times,
            "rows": rows, "result": result}  # fmt: skip


def agreement(
    url: str, result: dict[str, Any], start: date, end: date
) -> tuple[int, int, list[str]]:
    """(values compared, members compared, disagreements) between the baseline's numbers
    and the indicators the service stored for the same members and window."""
    with psycopg.connect(url) as c:
        stored: dict[str, Any] = dict(
            c.execute(
                "SELECT member_id, indicators FROM scores WHERE window_start = %s"
                " AND window_end = %s AND algorithm_version = %s AND member_id = ANY(%s)",
                (start, end, ALGORITHM_VERSION, list(result)),
            ).fetchall()
        )
    compared, bad = 0, []
    for mid, kinds in result.items():
        for kind, mine in kinds.items():
            theirs = stored.get(mid, {}).get(kind, {})
            for key, value in mine.items():
                other = theirs.get(key)
                compared += 1
                if isinstance(value, str) or isinstance(other, str):
                    same = value == other
                else:
                    same = (value is None and other is None) or (
                        value is not None and other is not None
                        and math.isclose(float(value), float(other), rel_tol=1e-9, abs_tol=1e-9)
                    )  # fmt: skip
                if not same:
                    bad.append(f"{mid} {kind}.{key}: baseline {value!r}, service {other!r}")
    return compared, len(stored), bad
