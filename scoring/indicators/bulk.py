"""Blood-pressure and activity indicators for MANY members at once (grouped numpy).

Why: a city book has 10^5-10^6 members with a few hundred readings each; a Python call per
member costs more than the arithmetic. These functions take one chunk's readings sorted by
member index (and time), compute every member's indicators with grouped reductions
(``bincount``, ``unique`` over (member, day) keys), and return one stored-contract dict per
member. The per-member functions in ``bp.py`` and ``activity.py`` are the readable
reference definitions; tests check that both give the same numbers on random books.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.indicators import activity as act_def
from scoring.indicators import bp as bp_def

DAY_S = 86_400
_SHIFT = np.int64(1) << np.int64(32)  # (member, day) and (member, month) keys


def _div(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: npt.NDArray[np.float64] = np.where(b > 0, a / np.maximum(b, 1), np.nan)
    return out


def _f(x: float) -> float | None:
    return None if x != x else float(x)


def _group(key: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """``np.unique(key, return_inverse=True)``, in one pass when ``key`` is already sorted.

    Readings arrive sorted by (member, time), so (member, local day) keys are sorted unless
    a member's UTC offset changed mid-window; sorting them again was a third of the BP time.
    """
    if key.size and bool(np.all(key[1:] >= key[:-1])):
        starts = np.empty(key.size, dtype=np.bool_)
        starts[0] = True
        np.not_equal(key[1:], key[:-1], out=starts[1:])
        inv = np.cumsum(starts, dtype=np.intp) - 1
        return key[starts], inv
    ukey, inv = np.unique(key, return_inverse=True)
    return ukey, inv.reshape(-1)


def home_bp_many(
    idx: npt.NDArray[np.int32],
    t: npt.NDArray[np.int64],
    off: npt.NDArray[np.int16],
    systolic: npt.NDArray[Any],
    diastolic: npt.NDArray[Any],
    targets: npt.NDArray[np.float64],
) -> list[dict[str, object]]:
    """:func:`scoring.indicators.bp.home_bp` for members 0..M-1 (``targets`` is M x 2).

    Readings must be validated, in the window, and sorted by (member, time).
    """
    m = int(targets.shape[0])
    i64 = idx.astype(np.int64)
    systolic = systolic.astype(np.float64, copy=False)
    diastolic = diastolic.astype(np.float64, copy=False)
    local = t + off.astype(np.int64) * 60
    day = local // DAY_S
    hour = (local % DAY_S) // 3600
    morning = (hour >= bp_def.MORNING_HOURS[0]) & (hour < bp_def.MORNING_HOURS[1])
    evening = (hour >= bp_def.EVENING_HOURS[0]) & (hour < bp_def.EVENING_HOURS[1])
    ts, td = targets[:, 0], targets[:, 1]

    n = np.bincount(i64, minlength=m)
    severe = np.bincount(i64, weights=bp_def.severe_mask(systolic, diastolic), minlength=m)
    in_target = (systolic < ts[i64]) & (diastolic < td[i64])
    pct = 100.0 * _div(np.bincount(i64, weights=in_target, minlength=m).astype(float), n)

    # Variability (sample SD, CV, ARV) per member, two passes for a stable SD.
    stats = {}
    same = np.concatenate(([False], i64[1:] == i64[:-1]))
    for name, x in (("sys", systolic), ("dia", diastolic)):
        mean = _div(np.bincount(i64, weights=x, minlength=m), n)
        dev2 = np.bincount(i64, weights=(x - mean[i64]) ** 2, minlength=m)
        sd = np.sqrt(_div(dev2, n - 1))
        step = np.abs(np.diff(x, prepend=x[:1])) * same
        arv = _div(np.bincount(i64, weights=step, minlength=m), n - 1)
        stats[name] = (sd, 100.0 * sd / mean, arv)

    # (member, day) groups: protocol days have a morning and an evening reading.
    ukey, inv = _group(i64 * _SHIFT + day)
    umember = ukey // _SHIFT
    uday = ukey - umember * _SHIFT
    has_m = np.bincount(inv, weights=morning) > 0
    has_e = np.bincount(inv, weights=evening) > 0
    pday = has_m & has_e
    pm, pd_ = umember[pday], uday[pday]  # the protocol days' member and day
    valid_days = np.bincount(umember, minlength=m)
    protocol_days = np.bincount(pm, minlength=m)
    pweeks_key = np.unique(pm * _SHIFT + (pd_ + 3) // 7)
    protocol_weeks = np.bincount(pweeks_key // _SHIFT, minlength=m)
    first_pday = np.full(m, np.iinfo(np.int64).min)
    if pm.size:
        firsts = np.concatenate(([True], pm[1:] != pm[:-1]))
        first_pday[pm[firsts]] = pd_[firsts]

    # Per (member, day) group, sums over its morning and evening readings: on a protocol
    # day those are the protocol readings. Everything below works on day groups (half as
    # many as readings), which also replaced a per-reading search for the month.
    slot = (morning | evening).astype(np.float64)
    g_n = np.bincount(inv, weights=slot)
    g_s = np.bincount(inv, weights=systolic * slot)
    g_d = np.bincount(inv, weights=diastolic * slot)
    used = pday & (uday != first_pday[umember])  # the first protocol day is discarded
    n_used = np.bincount(umember[used], weights=g_n[used], minlength=m)
    mean_s = _div(np.bincount(umember[used], weights=g_s[used], minlength=m), n_used)
    mean_d = _div(np.bincount(umember[used], weights=g_d[used], minlength=m), n_used)

    # Months (member-local calendar months) with >= 3 protocol days. Day groups are sorted
    # by (member, day), so (member, month) keys of protocol days are sorted too.
    umonth = uday.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    mk, minv = _group(pm * _SHIFT + umonth[pday])
    mk_count = np.bincount(minv, minlength=mk.size)
    cnt = np.bincount(minv, weights=g_n[pday], minlength=mk.size)
    ms = _div(np.bincount(minv, weights=g_s[pday], minlength=mk.size), cnt)
    md = _div(np.bincount(minv, weights=g_d[pday], minlength=mk.size), cnt)
    mmember = mk // _SHIFT
    assessed_mask = mk_count >= bp_def.MIN_PROTOCOL_DAYS_MONTH
    ctl_mask = assessed_mask & (ms < ts[mmember]) & (md < td[mmember])
    months_assessed = np.bincount(mmember[assessed_mask], minlength=m)
    months_controlled = np.bincount(mmember[ctl_mask], minlength=m)

    sufficient = protocol_days >= bp_def.MIN_PROTOCOL_DAYS_WINDOW
    controlled = (mean_s < ts) & (mean_d < td)
    # Python lists, not numpy scalars, for the per-member dicts (a tenth of the cost).
    cols = [
        a.tolist()
        for a in (
            sufficient, n, valid_days, mean_s, mean_d, ts, td, pct, controlled,
            *stats["sys"], *stats["dia"], protocol_days, protocol_weeks,
            severe.astype(np.int64), months_controlled, months_assessed,
        )
    ]  # fmt: skip
    out: list[dict[str, object]] = []
    for (ok, nk_, vd, ms_, md_, ts_, td_, pct_, ctl, sds, cvs, arvs, sdd, cvd, arvd, pdays,
         pweeks, sev, mc, ma) in zip(*cols, strict=True):  # fmt: skip
        out.append(
            {
                "n_readings": nk_,
                "valid_days": vd,
                "home_mean_sys": _f(ms_) if ok else None,
                "home_mean_dia": _f(md_) if ok else None,
                "target_sys": ts_,
                "target_dia": td_,
                "pct_in_target": _f(pct_) if ok else None,
                "controlled": ctl if ok else None,
                "sd_sys": _f(sds) if ok else None,
                "cv_sys": _f(cvs) if ok else None,
                "arv_sys": _f(arvs) if ok else None,
                "sd_dia": _f(sdd) if ok else None,
                "cv_dia": _f(cvd) if ok else None,
                "arv_dia": _f(arvd) if ok else None,
                "protocol_days": pdays,
                "protocol_weeks": pweeks,
                "severe_count": sev,
                "months_controlled": mc if ma else None,
                "months_assessed": ma,
                "sufficient": ok,
            }
        )
    return out


def activity_many(
    idx: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    off: npt.NDArray[np.int16],
    duration_s: npt.NDArray[Any],
    steps: npt.NDArray[Any],
    active_min: npt.NDArray[Any],
    vigorous_min: npt.NDArray[Any],
    *,
    window_days: int,
    ages: npt.NDArray[np.int64],
) -> list[dict[str, object]]:
    """:func:`scoring.indicators.activity.activity_indicators` for members 0..M-1."""
    m = int(ages.size)
    targets = np.where(
        ages >= act_def.OLDER_AGE, act_def.STEP_TARGET_OLDER, act_def.STEP_TARGET_YOUNGER
    )
    i64 = idx.astype(np.int64)
    day = (start + off.astype(np.int64) * 60) // DAY_S
    ukey, inv = _group(i64 * _SHIFT + day)
    umember = ukey // _SHIFT
    wear = np.bincount(inv, weights=np.minimum(duration_s, DAY_S).astype(np.float64))
    dsteps = np.bincount(inv, weights=steps.astype(np.float64))
    modeq = active_min + (act_def.VIGOROUS_WEIGHT - 1) * vigorous_min
    dmod = np.bincount(inv, weights=modeq.astype(np.float64))
    valid = (wear >= act_def.MIN_WEAR_S) & (dsteps > 0)
    vm, vs, vmod = umember[valid], dsteps[valid], dmod[valid]
    nv = np.bincount(vm, minlength=m)
    # Medians per member: sort valid days by (member, steps), take the middle of each run.
    order = np.lexsort((vs, vm))
    s_sorted = vs[order]
    begin = np.concatenate(([0], np.cumsum(nv)[:-1]))
    lo = begin + np.maximum(nv - 1, 0) // 2
    hi = begin + nv // 2
    safe = nv > 0
    median = np.full(m, np.nan)
    if s_sorted.size:
        median[safe] = (s_sorted[lo[safe]] + s_sorted[hi[safe]]) / 2.0
    at_target = np.bincount(vm, weights=vs >= targets[vm], minlength=m)
    per_week = _div(np.bincount(vm, weights=vmod, minlength=m), nv) * 7.0
    active = np.bincount(vm, weights=vmod >= act_def.ACTIVE_DAY_MIN, minlength=m)
    need = max(act_def.MIN_VALID_DAYS, act_def.MIN_VALID_DAYS_SHARE * window_days)
    meets = per_week >= act_def.WHO_MIN_PER_WEEK
    cols = [
        a.tolist()
        for a in (
            nv >= need, nv, median, targets, at_target.astype(np.int64), per_week, meets,
            active.astype(np.int64),
        )
    ]  # fmt: skip
    out: list[dict[str, object]] = []
    for ok, nvk, med, tgt, at, pw, who, act in zip(*cols, strict=True):
        out.append(
            {
                "valid_days": nvk,
                "median_steps": med if ok else None,
                "step_target": tgt,
                "days_at_target": at if ok else None,
                "mvpa_min_per_week": pw if ok else None,
                "meets_who": who if ok else None,
                "active_days": act if ok else None,
                "sufficient": ok,
            }
        )
    return out
