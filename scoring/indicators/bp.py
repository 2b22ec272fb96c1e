"""Home blood pressure (stored contract ``bp``): one member, and many members at once.

Why: clinics act on grade-3 readings and pricing rewards stable control; both must be
checkable against the published definitions, which live with their sources in
``scoring.indicators.rules`` (docs/clinical.md, "Blood pressure").

Each indicator has two forms side by side: the per-member reference definition
(:func:`variability`, :func:`home_bp`), written to be read against the guideline, and its
columnar form for a chunk of members (:func:`home_bp_table`, through the grouped reductions
of ``scoring.indicators.grouped``), which scoring runs. Tests hold the two equal on random
books. The module is longer than most (~440 lines) on purpose: the two forms of each
indicator are kept in one file so that a change to one is made, and reviewed, next to the
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from scoring.indicators.grouped import (
    BLOCK_ROWS,
    SHIFT,
    Table,
    column,
    div,
    group,
    group_sums,
    in_blocks,
    joined,
    months,
    nullable,
    offsets,
    require_sorted,
    sorted_starts,
    sums,
)
from scoring.indicators.rules import (
    DAY_S,
    EVENING_HOURS,
    MIN_PROTOCOL_DAYS_MONTH,
    MIN_PROTOCOL_DAYS_WINDOW,
    MORNING_HOURS,
    PAIR_WINDOW_S,
    severe_mask,
)


@dataclass(frozen=True)
class Variability:
    """Sample SD (n - 1), CV (%) and average real variability; None when undefined."""

    sd: float | None
    cv: float | None
    arv: float | None


def variability(values: npt.ArrayLike) -> Variability:
    """Return SD, CV and ARV of a time-ordered BP series.

    ARV = sum |x[k+1] - x[k]| / (n - 1) (Mena et al., J Hypertens 2005); SD is the sample
    SD (n - 1; decision, docs/clinical.md "Blood pressure"); CV = 100 * SD / mean. Fewer
    than two readings give None for all three: "insufficient" is a state, not a number.

    Parameters
    ----------
    values : array_like
        Readings in mmHg, ordered by time.

    Returns
    -------
    Variability

    Examples
    --------
    >>> v = variability([132, 128, 141, 136, 125, 138, 130])
    >>> round(v.arv, 3), round(v.sd, 3), round(v.cv, 2)
    (9.0, 5.728, 4.31)
    >>> variability([120]).sd is None
    True
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return Variability(None, None, None)
    sd = float(np.std(x, ddof=1))
    mean = float(np.mean(x))
    arv = float(np.abs(np.diff(x)).sum() / (x.size - 1))
    return Variability(sd=sd, cv=100.0 * sd / mean, arv=arv)


def _variability_many(
    x: npt.NDArray[np.float64],
    shift: float,
    at: npt.NDArray[np.intp],
    n: npt.NDArray[np.intp],
    first: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`variability` of every member's series: (SD, CV, ARV), NaN where undefined.

    ``at`` are the members' row offsets, ``n`` their reading counts, ``first`` marks each
    member's first reading (it has no step before it). One pass of shifted sums: readings
    are whole mmHg, so the sums are exact in float64 and the textbook formula loses nothing
    against two passes; shifting by a typical pressure keeps the sums small (stable for
    fractional inputs too). A constant shift, so a member's numbers never depend on which
    other members share the block.
    """
    y = x - shift
    s1 = sums(y, at)
    s2 = sums(y * y, at)
    mean = div(s1, n) + shift
    dev2 = np.maximum(s2 - s1 * div(s1, n), 0.0)
    sd = np.sqrt(div(dev2, n - 1))
    step = np.empty_like(x)
    step[1:] = np.abs(x[1:] - x[:-1])
    step[first] = 0.0
    arv = div(sums(step, at), n - 1)
    return sd, 100.0 * sd / mean, arv


# The stored contract ``bp``, in its order. ``n_readings`` counts measurements (a pair
# taken at one sitting is one).
BP_KEYS: tuple[str, ...] = (
    "n_readings", "valid_days", "home_mean_sys", "home_mean_dia", "target_sys", "target_dia",
    "pct_in_target", "controlled", "sd_sys", "cv_sys", "arv_sys", "sd_dia", "cv_dia",
    "arv_dia", "protocol_days", "protocol_weeks", "severe_count", "months_controlled",
    "months_assessed", "morning_mean_sys", "morning_mean_dia", "evening_mean_sys",
    "evening_mean_dia", "morning_above_target", "sufficient",
)  # fmt: skip


def sittings(
    member: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    off: npt.NDArray[np.int16],
    systolic: npt.NDArray[np.float64],
    diastolic: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[Any], ...]:
    """Readings sorted by (member, time) with each sitting's readings (within 3 minutes of
    the previous one, ``rules.PAIR_WINDOW_S``) averaged into one measurement, at the time
    and offset of its first reading. Both forms of :func:`home_bp` start here.

    >>> m = np.zeros(3, np.int64)
    >>> out = sittings(m, np.array([0, 60, 7200]), np.zeros(3, np.int16),
    ...                np.array([140.0, 130.0, 120.0]), np.array([90.0, 80.0, 70.0]))
    >>> out[1].tolist(), out[3].tolist()
    ([0, 7200], [135.0, 120.0])
    """
    start = np.ones(t.size, dtype=np.bool_)
    start[1:] = (member[1:] != member[:-1]) | (t[1:] - t[:-1] > PAIR_WINDOW_S)
    if start.all():
        return member, t, off, systolic, diastolic
    first = np.flatnonzero(start)
    k = np.diff(np.append(first, t.size))
    return (
        member[first], t[first], off[first],
        np.add.reduceat(systolic, first) / k, np.add.reduceat(diastolic, first) / k,
    )  # fmt: skip


def _clean(
    t: npt.ArrayLike, offset_min: npt.ArrayLike, systolic: npt.ArrayLike, diastolic: npt.ArrayLike
) -> tuple[npt.NDArray[Any], ...]:
    """The reference's input, made safe: readings with a NaN value dropped, the rest sorted
    by time (stable), then sittings averaged."""
    tt = np.asarray(t, dtype=np.int64)
    oo = np.asarray(offset_min, dtype=np.int16)
    ss = np.asarray(systolic, dtype=np.float64)
    dd = np.asarray(diastolic, dtype=np.float64)
    keep = ~(np.isnan(ss) | np.isnan(dd))
    order = np.argsort(tt[keep], kind="stable")
    tt, oo, ss, dd = tt[keep][order], oo[keep][order], ss[keep][order], dd[keep][order]
    return sittings(np.zeros(tt.size, np.int64), tt, oo, ss, dd)[1:]


def _local_days_hours(
    t: npt.NDArray[np.int64], offset_min: npt.NDArray[np.int16]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    local = t + offset_min.astype(np.int64) * 60
    return local // DAY_S, (local % DAY_S) // 3600


def _month_control(
    day: npt.NDArray[np.int64],
    proto: npt.NDArray[np.bool_],
    pdays: npt.NDArray[np.int64],
    systolic: npt.NDArray[np.float64],
    diastolic: npt.NDArray[np.float64],
    target: tuple[float, float],
) -> tuple[int, int]:
    """(months assessed, months controlled) of one member: member-local calendar months
    with >= 3 protocol days, controlled when their protocol readings' means are below
    target (no day discarded: monitoring is continuous)."""
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    pmonth = pdays.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    assessed = controlled = 0
    for mth in np.unique(pmonth):
        if int((pmonth == mth).sum()) < MIN_PROTOCOL_DAYS_MONTH:
            continue
        sel = proto & (month == mth)
        assessed += 1
        if systolic[sel].mean() < target[0] and diastolic[sel].mean() < target[1]:
            controlled += 1
    return assessed, controlled


def home_bp(
    t: npt.NDArray[np.int64],
    offset_min: npt.NDArray[np.int16],
    systolic: npt.NDArray[np.float64],
    diastolic: npt.NDArray[np.float64],
    *,
    target: tuple[float, float],
) -> dict[str, object]:
    """Home-BP control indicators for one member over one window (stored-contract ``bp``).

    Why: pricing rewards and clinics act on the home-monitoring mean, which the guidelines
    define over morning and evening readings with the first day discarded; a plain mean of
    every reading would reward measuring only on good afternoons. Inputs are the member's
    VALIDATED readings inside the window, ordered by time (the caller excludes cuffless
    devices, ESH 2022). Control is strictly below target (home < 135/85 means 135 is not
    controlled), compared in mmHg, the unit every cuff reports.

    A protocol day has at least one morning and one evening reading. The window mean uses
    morning and evening readings of protocol days after the first protocol day; months are
    member-local calendar months with >= 3 protocol days (:func:`_month_control`). The
    morning and evening means are reported apart (Chinese HBPM guideline): a morning mean
    at or above target is ``morning_above_target`` even when the pooled mean is under it.

    Input in any order, NaN values allowed: readings with a NaN are dropped, the rest are
    sorted by time, and readings of one sitting (within 3 minutes) averaged as one
    measurement (:func:`sittings`).

    Examples
    --------
    >>> import numpy as np
    >>> day = 86_400
    >>> t = np.array([d * day + h * 3600 for d in range(8) for h in (7, 19)], dtype=np.int64)
    >>> off = np.zeros(t.size, dtype=np.int16)
    >>> sys_ = np.array([150.0] * 2 + [130.0] * 14)
    >>> r = home_bp(t, off, sys_, np.full(t.size, 80.0), target=(135, 85))
    >>> r["home_mean_sys"], r["controlled"], r["protocol_days"]
    (130.0, True, 8)
    """
    t, offset_min, systolic, diastolic = _clean(t, offset_min, systolic, diastolic)
    n = int(t.size)
    ts, td = float(target[0]), float(target[1])
    out: dict[str, object] = dict.fromkeys(BP_KEYS)
    out.update(n_readings=n, valid_days=0, target_sys=ts, target_dia=td, protocol_days=0)
    out.update(protocol_weeks=0, months_assessed=0, sufficient=False)
    out["severe_count"] = int(severe_mask(systolic, diastolic).sum()) if n else 0
    if n == 0:
        return out
    day, hour = _local_days_hours(t, offset_min)
    morning = (hour >= MORNING_HOURS[0]) & (hour < MORNING_HOURS[1])
    evening = (hour >= EVENING_HOURS[0]) & (hour < EVENING_HOURS[1])
    days = np.unique(day)
    pdays = days[np.isin(days, day[morning]) & np.isin(days, day[evening])]
    out["valid_days"] = int(days.size)
    out["protocol_days"] = int(pdays.size)
    # Weeks start on Monday: 1970-01-01 (day 0) was a Thursday.
    out["protocol_weeks"] = int(np.unique((pdays + 3) // 7).size)
    proto = np.isin(day, pdays) & (morning | evening)
    assessed, controlled = _month_control(day, proto, pdays, systolic, diastolic, (ts, td))
    out["months_assessed"] = assessed
    out["months_controlled"] = controlled if assessed else None
    if pdays.size < MIN_PROTOCOL_DAYS_WINDOW:
        # Insufficient: counts stay (they say why), numbers are not guesses.
        return out
    out["pct_in_target"] = float(100.0 * ((systolic < ts) & (diastolic < td)).mean())
    for name, series in (("sys", systolic), ("dia", diastolic)):
        v = variability(series)
        out[f"sd_{name}"], out[f"cv_{name}"], out[f"arv_{name}"] = v.sd, v.cv, v.arv
    used = proto & (day != pdays[0])
    ms, md = float(systolic[used].mean()), float(diastolic[used].mean())
    out["home_mean_sys"], out["home_mean_dia"] = ms, md
    out["controlled"] = bool(ms < ts and md < td)
    for name, sel in (("morning", used & morning), ("evening", used & evening)):
        if sel.any():
            out[f"{name}_mean_sys"] = float(systolic[sel].mean())
            out[f"{name}_mean_dia"] = float(diastolic[sel].mean())
    mms, mmd = out["morning_mean_sys"], out["morning_mean_dia"]
    out["morning_above_target"] = (
        None if mms is None else bool(float(mms) >= ts or float(mmd) >= td)  # type: ignore[arg-type]
    )
    out["sufficient"] = True
    return out


# --- many members at once (the columnar form of home_bp) -------------------------------------


class _Days(NamedTuple):
    """A chunk's (member, local day) groups, sorted by (member, day)."""

    member: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    protocol: npt.NDArray[np.bool_]  # a morning and an evening reading that day
    n: npt.NDArray[np.int64]  # morning and evening readings: on a protocol day, its readings
    sys_sum: npt.NDArray[np.float64]  # their sums
    dia_sum: npt.NDArray[np.float64]
    n_morning: npt.NDArray[np.int64]  # the morning readings among them, and their sums
    m_sys_sum: npt.NDArray[np.float64]
    m_dia_sum: npt.NDArray[np.float64]


def _slots(
    t: npt.NDArray[np.int64], off: npt.NDArray[np.int16]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Each reading's local day and whether it is a morning or an evening reading."""
    local = t + off.astype(np.int64) * 60
    day = local // DAY_S
    sod = local - day * DAY_S  # seconds into the local day: no second division for the hour
    morning = (sod >= MORNING_HOURS[0] * 3600) & (sod < MORNING_HOURS[1] * 3600)
    evening = (sod >= EVENING_HOURS[0] * 3600) & (sod < EVENING_HOURS[1] * 3600)
    return day, morning, evening


def _day_groups(
    member: npt.NDArray[np.int64],
    day: npt.NDArray[np.int64],
    morning: npt.NDArray[np.bool_],
    evening: npt.NDArray[np.bool_],
    systolic: npt.NDArray[np.float64],
    diastolic: npt.NDArray[np.float64],
) -> _Days:
    """Per (member, day): protocol day or not, and sums over its morning/evening readings.

    Groups come out sorted by (member, day) either way; only their rows may be scattered.
    Everything after this works on day groups (half as many as readings).
    """
    ukey, inv, gat = group(member * SHIFT + day)
    umember = ukey // SHIFT
    g = ukey.size
    # Morning and evening readings counted in one pass: the evening count in the high bits
    # (exact: float64 holds whole numbers to 2**53, a day has far fewer than 2**20 readings).
    both = group_sums(morning + evening * float(1 << 20), inv, gat, g).astype(np.int64)
    n_morning, n_evening = both & ((1 << 20) - 1), both >> 20
    slot = morning | evening
    return _Days(
        umember,
        ukey - umember * SHIFT,
        (n_morning > 0) & (n_evening > 0),
        n_morning + n_evening,
        group_sums(np.where(slot, systolic, 0.0), inv, gat, g),
        group_sums(np.where(slot, diastolic, 0.0), inv, gat, g),
        n_morning,
        group_sums(np.where(morning, systolic, 0.0), inv, gat, g),
        group_sums(np.where(morning, diastolic, 0.0), inv, gat, g),
    )


def _protocol_counts(
    pm: npt.NDArray[np.int64], pd_: npt.NDArray[np.int64], m: int
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.int64]]:
    """Protocol days and weeks per member, and each member's first protocol day.

    ``pm``, ``pd_``: the protocol days' member and day, sorted. Weeks start on Monday:
    1970-01-01 (day 0) was a Thursday. The (member, week) keys of sorted protocol days are
    sorted, so distinct weeks are where the key changes.
    """
    p_at = offsets(pm, m)
    protocol_weeks = sums(sorted_starts(pm * SHIFT + (pd_ + 3) // 7), p_at)
    first_pday = np.full(m, np.iinfo(np.int64).min)
    if pm.size:
        firsts = sorted_starts(pm)
        first_pday[pm[firsts]] = pd_[firsts]
    return np.diff(p_at), protocol_weeks, first_pday


def _window_means(
    d: _Days, first_pday: npt.NDArray[np.int64], m: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mean systolic and diastolic over the protocol days after each member's first."""
    used = d.protocol & (d.day != first_pday[d.member])
    u_at = offsets(d.member[used], m)
    n_used = sums(d.n[used], u_at)
    return div(sums(d.sys_sum[used], u_at), n_used), div(sums(d.dia_sum[used], u_at), n_used)


def _session_means(
    d: _Days, first_pday: npt.NDArray[np.int64], m: int
) -> dict[str, npt.NDArray[np.float64]]:
    """Morning and evening means over the protocol days after each member's first (the
    readings :func:`_window_means` pools), and how many of each there were."""
    used = d.protocol & (d.day != first_pday[d.member])
    u_at = offsets(d.member[used], m)
    n_m = sums(d.n_morning[used], u_at)
    n_e = sums(d.n[used] - d.n_morning[used], u_at)
    m_s, m_d = sums(d.m_sys_sum[used], u_at), sums(d.m_dia_sum[used], u_at)
    e_s = sums(d.sys_sum[used] - d.m_sys_sum[used], u_at)
    e_d = sums(d.dia_sum[used] - d.m_dia_sum[used], u_at)
    return {
        "n_morning": n_m, "n_evening": n_e,
        "morning_mean_sys": div(m_s, n_m), "morning_mean_dia": div(m_d, n_m),
        "evening_mean_sys": div(e_s, n_e), "evening_mean_dia": div(e_d, n_e),
    }  # fmt: skip


def _month_control_many(
    d: _Days,
    pm: npt.NDArray[np.int64],
    pd_: npt.NDArray[np.int64],
    targets: npt.NDArray[np.float64],
    m: int,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """:func:`_month_control` of every member: (months assessed, months controlled).

    Day groups are sorted by (member, day), so (member, month) keys of protocol days are
    sorted too.
    """
    mk, _, m_at = group(pm * SHIFT + months(pd_))
    assert m_at is not None  # sorted keys (see above)
    cnt = sums(d.n[d.protocol], m_at)
    ms = div(sums(d.sys_sum[d.protocol], m_at), cnt)
    md = div(sums(d.dia_sum[d.protocol], m_at), cnt)
    mmember = mk // SHIFT
    assessed = np.diff(m_at) >= MIN_PROTOCOL_DAYS_MONTH
    controlled = assessed & (ms < targets[mmember, 0]) & (md < targets[mmember, 1])
    mm_at = offsets(mmember, m)
    return sums(assessed, mm_at), sums(controlled, mm_at)


def home_bp_table(
    idx: npt.NDArray[np.int32],
    t: npt.NDArray[np.int64],
    off: npt.NDArray[np.int16],
    systolic: npt.NDArray[Any],
    diastolic: npt.NDArray[Any],
    targets: npt.NDArray[np.float64],
    *,
    block_rows: int = BLOCK_ROWS,
) -> Table:
    """:func:`home_bp` for members 0..M-1 (``targets`` is M x 2).

    Readings must be validated, in the window, and sorted by (member, time). Returns the
    stored dicts and the columns the composite reads.
    """
    m = int(targets.shape[0])
    if idx.size > block_rows and m > 1:
        return joined(in_blocks(idx, m, block_rows, lambda r, k, a: home_bp_table(
            idx[r] - a, t[r], off[r], systolic[r], diastolic[r], targets[k],
            block_rows=block_rows,
        )))  # fmt: skip
    require_sorted(idx, t, "home_bp_table")
    systolic = systolic.astype(np.float64, copy=False)
    diastolic = diastolic.astype(np.float64, copy=False)
    present = ~(np.isnan(systolic) | np.isnan(diastolic))  # a NaN is no reading, as in home_bp
    if not present.all():
        idx, t, off = idx[present], t[present], off[present]
        systolic, diastolic = systolic[present], diastolic[present]
    i64, t, off, systolic, diastolic = sittings(idx.astype(np.int64), t, off, systolic, diastolic)
    ts, td = targets[:, 0], targets[:, 1]
    at = offsets(i64, m)  # each member's rows (readings come sorted by member)
    n = np.diff(at)
    in_target = (systolic < np.repeat(ts, n)) & (diastolic < np.repeat(td, n))
    first = np.ones(i64.size, dtype=np.bool_)  # a member's first reading
    np.not_equal(i64[1:], i64[:-1], out=first[1:])
    day, morning, evening = _slots(t, off)
    d = _day_groups(i64, day, morning, evening, systolic, diastolic)
    pm, pd_ = d.member[d.protocol], d.day[d.protocol]  # the protocol days, sorted
    protocol_days, protocol_weeks, first_pday = _protocol_counts(pm, pd_, m)
    mean_s, mean_d = _window_means(d, first_pday, m)
    sessions = _session_means(d, first_pday, m)
    months_assessed, months_controlled = _month_control_many(d, pm, pd_, targets, m)
    ok = protocol_days >= MIN_PROTOCOL_DAYS_WINDOW
    cols = {
        "n_readings": n, "valid_days": np.diff(offsets(d.member, m)),
        "home_mean_sys": mean_s, "home_mean_dia": mean_d, "target_sys": ts, "target_dia": td,
        "pct_in_target": 100.0 * div(sums(in_target, at).astype(np.float64), n),
        "controlled": (mean_s < ts) & (mean_d < td),
        "protocol_days": protocol_days, "protocol_weeks": protocol_weeks,
        "severe_count": sums(severe_mask(systolic, diastolic), at),
        "months_controlled": months_controlled, "months_assessed": months_assessed,
        "sufficient": ok,
    }  # fmt: skip
    for name, x, shift in (("sys", systolic, 130.0), ("dia", diastolic, 80.0)):
        sd, cv, arv = _variability_many(x, shift, at, n, first)
        cols.update({f"sd_{name}": sd, f"cv_{name}": cv, f"arv_{name}": arv})
    return _bp_table(cols, ok, months_assessed > 0, _session_columns(sessions, ok, ts, td))


def _session_columns(
    se: dict[str, npt.NDArray[np.float64]],
    ok: npt.NDArray[np.bool_],
    ts: npt.NDArray[np.float64],
    td: npt.NDArray[np.float64],
) -> tuple[list[Any], ...]:
    """The values of the morning and evening means and the morning flag (the five keys
    before ``sufficient`` in :data:`BP_KEYS`), None where undefined."""
    has_m, has_e = ok & (se["n_morning"] > 0), ok & (se["n_evening"] > 0)
    above = (se["morning_mean_sys"] >= ts) | (se["morning_mean_dia"] >= td)
    return (
        nullable(se["morning_mean_sys"], has_m), nullable(se["morning_mean_dia"], has_m),
        nullable(se["evening_mean_sys"], has_e), nullable(se["evening_mean_dia"], has_e),
        nullable(above, has_m),
    )  # fmt: skip


def _bp_table(
    cols: dict[str, npt.NDArray[Any]],
    ok: npt.NDArray[np.bool_],
    assessed: npt.NDArray[np.bool_],
    sessions: tuple[list[Any], ...],
) -> Table:
    """The stored dicts (Python values, None where undefined) and the composite's columns.

    Numbers that need a sufficient window are None without one; ``months_controlled`` is
    None without an assessed month. One dict display per member with every key in
    :data:`BP_KEYS` order, not ``dict(zip(BP_KEYS, row))`` (twice the cost) nor a display
    completed afterwards with the session keys (a quarter more), for every member of the
    book.
    """
    c = cols
    values = (
        c["sufficient"].tolist(), c["n_readings"].tolist(), c["valid_days"].tolist(),
        nullable(c["home_mean_sys"], ok), nullable(c["home_mean_dia"], ok),
        c["target_sys"].tolist(), c["target_dia"].tolist(),
        nullable(c["pct_in_target"], ok), nullable(c["controlled"], ok),
        *(nullable(c[f"{s}_{p}"], ok) for p in ("sys", "dia") for s in ("sd", "cv", "arv")),
        c["protocol_days"].tolist(), c["protocol_weeks"].tolist(), c["severe_count"].tolist(),
        nullable(c["months_controlled"], assessed), c["months_assessed"].tolist(), *sessions,
    )  # fmt: skip
    docs: list[dict[str, Any]] = [
        {
            "n_readings": nk_, "valid_days": vd, "home_mean_sys": ms_, "home_mean_dia": md_,
            "target_sys": ts_, "target_dia": td_, "pct_in_target": pct_, "controlled": ctl,
            "sd_sys": sds, "cv_sys": cvs, "arv_sys": arvs,
            "sd_dia": sdd, "cv_dia": cvd, "arv_dia": arvd,
            "protocol_days": pdays, "protocol_weeks": pweeks, "severe_count": sev,
            "months_controlled": mc, "months_assessed": ma,
            "morning_mean_sys": mms, "morning_mean_dia": mmd,
            "evening_mean_sys": ems, "evening_mean_dia": emd, "morning_above_target": above,
            "sufficient": ok_,
        }
        for (ok_, nk_, vd, ms_, md_, ts_, td_, pct_, ctl, sds, cvs, arvs, sdd, cvd, arvd,
             pdays, pweeks, sev, mc, ma, mms, mmd, ems, emd, above) in zip(*values, strict=True)
    ]  # fmt: skip
    return docs, {
        "sufficient": ok,
        "n_readings": c["n_readings"],
        "protocol_weeks": c["protocol_weeks"],
        "controlled": column(c["controlled"], ok),
        "home_mean_sys": column(c["home_mean_sys"], ok),
        "home_mean_dia": column(c["home_mean_dia"], ok),
        "target_sys": c["target_sys"].astype(np.float64),
        "target_dia": c["target_dia"].astype(np.float64),
        "pct_in_target": column(c["pct_in_target"], ok),
    }
