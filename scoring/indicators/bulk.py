"""Blood-pressure, activity and CGM indicators for MANY members at once (grouped numpy).

Why: a city book has 10^5-10^6 members with a few hundred readings each; a Python call per
member costs more than the arithmetic. These functions take one chunk's readings sorted by
member index (and time), compute every member's indicators with grouped reductions
(segment sums over each member's rows, ``bincount`` over (member, day) groups), and return
one stored-contract dict per member (BP and activity also the columns the composite reads).
The per-member functions in ``bp.py``, ``activity.py`` and ``cgm.py`` are the readable
reference definitions; tests check that both give the same numbers on random books.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from core.units import MGDL_PER_MMOLL
from scoring.indicators import cgm as cgm_def
from scoring.indicators import rules

DAY_S = rules.DAY_S
_SHIFT = np.int64(1) << np.int64(32)  # (member, day) and (member, month) keys


def _div(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: npt.NDArray[np.float64] = np.where(b > 0, a / np.maximum(b, 1), np.nan)
    return out


def _offsets(member: npt.NDArray[Any], m: int) -> npt.NDArray[np.intp]:
    """Row offsets of members 0..m in ``member`` sorted ascending (``m + 1`` values)."""
    out: npt.NDArray[np.intp] = np.searchsorted(member, np.arange(m + 1), side="left")
    return out


def _sums(x: npt.NDArray[Any], at: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """Sums of ``x`` over the consecutive segments ``[at[k], at[k + 1])``; 0 when empty.

    Why not ``np.bincount(member, weights=x)``: on rows already grouped by member a
    segmented ``np.add.reduceat`` was 10-15 times faster here (it adds contiguous runs
    instead of scattering every row). Booleans and integers are summed exactly as int64.
    ``reduceat`` returns ``x[i]`` for an empty segment, so only non-empty ones are passed.
    """
    dtype = np.int64 if x.dtype.kind in "biu" else np.float64
    out = np.zeros(at.size - 1, dtype=dtype)
    full = at[1:] > at[:-1]
    if full.any():
        out[full] = np.add.reduceat(x[: at[-1]], at[:-1][full], dtype=dtype)
    return out


def _group_sums(
    x: npt.NDArray[Any], inv: npt.NDArray[np.intp], at: npt.NDArray[np.intp] | None, g: int
) -> npt.NDArray[Any]:
    """Sums of ``x`` per group of :func:`_group`.

    Segments (:func:`_sums`) when the keys came sorted and groups are long; for groups of a
    few rows (a member's readings of one day) ``np.bincount`` was 2-4 times faster than
    ``reduceat``, whose cost is per segment.
    """
    if at is not None and x.size >= 8 * g:
        return _sums(x, at)
    out: npt.NDArray[Any] = np.bincount(inv, weights=x, minlength=g)
    return out


# Readings per block of members (~400 KB per float64 column): numpy passes over a whole
# chunk (360,000 BP readings, 800,000 CGM readings) ran at memory speed on this machine's
# 2 MB L2; blocks that stay in cache made BP and activity 1.5-2x faster (bench/score_bench).
BLOCK_ROWS = 50_000


def _blocks(idx: npt.NDArray[Any], m: int, rows: int) -> list[tuple[int, int, int, int]]:
    """(first member, end member, first row, end row) of consecutive blocks of members.

    Each block holds at most ``rows`` readings unless one member alone has more.
    """
    starts = np.searchsorted(idx, np.arange(m + 1), side="left")
    out = []
    lo = 0
    while lo < m:
        hi = int(np.searchsorted(starts, starts[lo] + rows, side="right")) - 1
        hi = min(m, max(hi, lo + 1))
        out.append((lo, hi, int(starts[lo]), int(starts[hi])))
        lo = hi
    return out


# One chunk's indicators: the stored-contract dicts, one per member, and the columns the
# composite reads (a value per member; NaN where the dict holds None).
Table = tuple[list[dict[str, Any]], dict[str, npt.NDArray[Any]]]
T = TypeVar("T")


def _in_blocks(
    idx: npt.NDArray[Any], m: int, rows: int, score: Callable[[slice, slice, int], T]
) -> list[T]:
    """``score(row slice, member slice, first member)`` of each block, in order."""
    return [score(slice(r0, r1), slice(a, b), a) for a, b, r0, r1 in _blocks(idx, m, rows)]


def _joined(parts: list[Table]) -> Table:
    """Blocks' tables as one: dicts in order, columns concatenated."""
    docs = [d for part, _ in parts for d in part]
    return docs, {k: np.concatenate([c[k] for _, c in parts]) for k in parts[0][1]}


def _column(a: npt.NDArray[Any], keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """``a`` as float64 with NaN where the stored dict holds None (see :func:`nullable`)."""
    return np.where(keep, a, np.nan).astype(np.float64, copy=False)


def _sorted_starts(key: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Where each run of equal values begins, in an already sorted ``key``."""
    starts = np.empty(key.size, dtype=np.bool_)
    if key.size:
        starts[0] = True
        np.not_equal(key[1:], key[:-1], out=starts[1:])
    return starts


def _group(
    key: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.intp] | None]:
    """``np.unique(key, return_inverse=True)``, in one pass when ``key`` is already sorted.

    Readings arrive sorted by (member, time), so (member, local day) keys are sorted unless
    a member's UTC offset changed mid-window; sorting them again was a third of the BP time.
    The third value is the groups' row offsets when the keys came sorted (rows of a group
    are then contiguous, for :func:`_sums`), else None.
    """
    if bool(np.all(key[1:] >= key[:-1])):  # no keys, or one, are sorted too
        starts = _sorted_starts(key)
        inv = np.cumsum(starts, dtype=np.intp) - 1
        at = np.append(np.flatnonzero(starts), key.size)
        return key[starts], inv, at
    ukey, inv = np.unique(key, return_inverse=True)
    return ukey, inv.reshape(-1), None


def _months(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Calendar month numbers of day numbers, through a table over the (short) day range.

    Converting every day through ``datetime64`` was a tenth of the BP time; a window spans
    a few hundred distinct days at most.
    """
    if days.size == 0:
        return days
    lo = int(days.min())
    table = np.arange(lo, int(days.max()) + 1).astype("datetime64[D]").astype("datetime64[M]")
    return table.astype(np.int64)[days - lo]


def nullable(a: npt.NDArray[Any], keep: npt.NDArray[np.bool_] | None = None) -> list[Any]:
    """Python values of ``a``, None where ``keep`` is false or the value is NaN.

    Why object arrays: a per-value ``None if x != x else float(x)`` was a fifth of the BP
    time; here numpy converts and masks in C.
    """
    o = a.astype(object)
    drop = np.zeros(a.shape, dtype=np.bool_) if keep is None else ~keep
    if a.dtype.kind == "f":
        drop |= np.isnan(a)
    o[drop] = None
    out: list[Any] = o.tolist()
    return out


def _sorted_within(member: npt.NDArray[Any], x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``x`` sorted within each member, for ``member`` sorted ascending.

    Why not ``np.lexsort((x, member))``: it was half of the activity time. Daily step
    totals and UTC offsets are whole numbers, so ``member * span + (x - min)`` is an exact
    float64 key whose plain sort (about 25 times faster) orders by member, then value;
    anything else takes the lexsort.
    """
    if x.size == 0:
        return x
    lo = float(x.min())
    span = float(x.max()) - lo + 1.0
    exact = span * (float(member[-1]) + 1.0) < 2.0**52 and bool(np.all(x == np.floor(x)))
    if not exact:
        return x[np.lexsort((x, member))]
    base = member.astype(np.float64) * span - lo
    out: npt.NDArray[Any] = np.sort(base + x) - base
    return out


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
    """:func:`scoring.indicators.bp.home_bp` for members 0..M-1 (``targets`` is M x 2).

    Readings must be validated, in the window, and sorted by (member, time). Returns the
    stored dicts and the columns the composite reads.
    """
    m = int(targets.shape[0])
    if idx.size > block_rows and m > 1:
        return _joined(_in_blocks(idx, m, block_rows, lambda r, k, a: home_bp_table(
            idx[r] - a, t[r], off[r], systolic[r], diastolic[r], targets[k],
            block_rows=block_rows,
        )))  # fmt: skip
    i64 = idx.astype(np.int64)
    systolic = systolic.astype(np.float64, copy=False)
    diastolic = diastolic.astype(np.float64, copy=False)
    local = t + off.astype(np.int64) * 60
    day = local // DAY_S
    sod = local - day * DAY_S  # seconds into the local day: no second division for the hour
    morning = (sod >= rules.MORNING_HOURS[0] * 3600) & (sod < rules.MORNING_HOURS[1] * 3600)
    evening = (sod >= rules.EVENING_HOURS[0] * 3600) & (sod < rules.EVENING_HOURS[1] * 3600)
    ts, td = targets[:, 0], targets[:, 1]

    at = _offsets(i64, m)  # each member's rows (readings come sorted by member)
    n = np.diff(at)
    severe = _sums(rules.severe_mask(systolic, diastolic), at)
    in_target = (systolic < np.repeat(ts, n)) & (diastolic < np.repeat(td, n))
    pct = 100.0 * _div(_sums(in_target, at).astype(np.float64), n)

    # Variability (sample SD, CV, ARV) per member. One pass of shifted sums: readings are
    # whole mmHg, so the sums are exact in float64 and the textbook formula loses nothing
    # against two passes; shifting by a typical pressure keeps the sums small (stable for
    # fractional inputs too). A constant shift, so a member's numbers never depend on
    # which other members share the block.
    stats = {}
    boundary = np.ones(i64.size, dtype=np.bool_)  # a member's first reading has no step
    np.not_equal(i64[1:], i64[:-1], out=boundary[1:])
    for name, x, c in (("sys", systolic, 130.0), ("dia", diastolic, 80.0)):
        y = x - c
        s1 = _sums(y, at)
        s2 = _sums(y * y, at)
        mean = _div(s1, n) + c
        dev2 = np.maximum(s2 - s1 * _div(s1, n), 0.0)
        sd = np.sqrt(_div(dev2, n - 1))
        step = np.empty_like(x)
        step[1:] = np.abs(x[1:] - x[:-1])
        step[boundary] = 0.0
        arv = _div(_sums(step, at), n - 1)
        stats[name] = (sd, 100.0 * sd / mean, arv)

    # (member, day) groups: protocol days have a morning and an evening reading. Groups
    # come out sorted by (member, day) either way; only their rows may be scattered.
    ukey, inv, gat = _group(i64 * _SHIFT + day)
    umember = ukey // _SHIFT
    uday = ukey - umember * _SHIFT
    g = ukey.size
    # Morning and evening readings counted in one pass: the evening count in the high bits
    # (exact: float64 holds whole numbers to 2**53, a day has far fewer than 2**20 readings).
    both = _group_sums(morning + evening * float(1 << 20), inv, gat, g).astype(np.int64)
    n_morning, n_evening = both & ((1 << 20) - 1), both >> 20
    pday = (n_morning > 0) & (n_evening > 0)
    pm, pd_ = umember[pday], uday[pday]  # the protocol days' member and day, sorted
    valid_days = np.diff(_offsets(umember, m))
    p_at = _offsets(pm, m)
    protocol_days = np.diff(p_at)
    # Weeks start on Monday: 1970-01-01 (day 0) was a Thursday. The (member, week) keys of
    # sorted protocol days are sorted, so distinct weeks are where the key changes.
    protocol_weeks = _sums(_sorted_starts(pm * _SHIFT + (pd_ + 3) // 7), p_at)
    first_pday = np.full(m, np.iinfo(np.int64).min)
    if pm.size:
        firsts = _sorted_starts(pm)
        first_pday[pm[firsts]] = pd_[firsts]

    # Per (member, day) group, sums over its morning and evening readings: on a protocol
    # day those are the protocol readings. Everything below works on day groups (half as
    # many as readings), which also replaced a per-reading search for the month.
    slot = morning | evening
    g_n = n_morning + n_evening
    g_s = _group_sums(np.where(slot, systolic, 0.0), inv, gat, g)
    g_d = _group_sums(np.where(slot, diastolic, 0.0), inv, gat, g)
    used = pday & (uday != first_pday[umember])  # the first protocol day is discarded
    u_at = _offsets(umember[used], m)
    n_used = _sums(g_n[used], u_at)
    mean_s = _div(_sums(g_s[used], u_at), n_used)
    mean_d = _div(_sums(g_d[used], u_at), n_used)

    # Months (member-local calendar months) with >= 3 protocol days. Day groups are sorted
    # by (member, day), so (member, month) keys of protocol days are sorted too.
    mk, _, m_at = _group(pm * _SHIFT + _months(pd_))
    assert m_at is not None  # sorted keys (see above)
    mk_count = np.diff(m_at)
    cnt = _sums(g_n[pday], m_at)
    ms = _div(_sums(g_s[pday], m_at), cnt)
    md = _div(_sums(g_d[pday], m_at), cnt)
    mmember = mk // _SHIFT
    assessed_mask = mk_count >= rules.MIN_PROTOCOL_DAYS_MONTH
    ctl_mask = assessed_mask & (ms < ts[mmember]) & (md < td[mmember])
    mm_at = _offsets(mmember, m)
    months_assessed = _sums(assessed_mask, mm_at)
    months_controlled = _sums(ctl_mask, mm_at)

    ok = protocol_days >= rules.MIN_PROTOCOL_DAYS_WINDOW
    controlled = (mean_s < ts) & (mean_d < td)
    # Python values, not numpy scalars, for the per-member dicts.
    cols = (
        ok.tolist(), n.tolist(), valid_days.tolist(),
        nullable(mean_s, ok), nullable(mean_d, ok), ts.tolist(), td.tolist(),
        nullable(pct, ok), nullable(controlled, ok),
        *(nullable(a, ok) for a in (*stats["sys"], *stats["dia"])),
        protocol_days.tolist(), protocol_weeks.tolist(), severe.tolist(),
        nullable(months_controlled, months_assessed > 0), months_assessed.tolist(),
    )  # fmt: skip
    docs: list[dict[str, Any]] = [
        {
            "n_readings": nk_,
            "valid_days": vd,
            "home_mean_sys": ms_,
            "home_mean_dia": md_,
            "target_sys": ts_,
            "target_dia": td_,
            "pct_in_target": pct_,
            "controlled": ctl,
            "sd_sys": sds,
            "cv_sys": cvs,
            "arv_sys": arvs,
            "sd_dia": sdd,
            "cv_dia": cvd,
            "arv_dia": arvd,
            "protocol_days": pdays,
            "protocol_weeks": pweeks,
            "severe_count": sev,
            "months_controlled": mc,
            "months_assessed": ma,
            "sufficient": ok_,
        }
        for (ok_, nk_, vd, ms_, md_, ts_, td_, pct_, ctl, sds, cvs, arvs, sdd, cvd, arvd,
             pdays, pweeks, sev, mc, ma) in zip(*cols, strict=True)
    ]  # fmt: skip
    return docs, {
        "sufficient": ok,
        "n_readings": n,
        "protocol_weeks": protocol_weeks,
        "controlled": _column(controlled, ok),
        "home_mean_sys": _column(mean_s, ok),
        "home_mean_dia": _column(mean_d, ok),
        "target_sys": ts.astype(np.float64),
        "target_dia": td.astype(np.float64),
        "pct_in_target": _column(pct, ok),
    }


def activity_table(
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
    block_rows: int = BLOCK_ROWS,
) -> Table:
    """:func:`scoring.indicators.activity.activity_indicators` for members 0..M-1.

    Returns the stored dicts and the columns the composite reads.
    """
    m = int(ages.size)
    if idx.size > block_rows and m > 1:
        return _joined(_in_blocks(idx, m, block_rows, lambda r, k, a: activity_table(
            idx[r] - a, start[r], off[r], duration_s[r], steps[r], active_min[r],
            vigorous_min[r], window_days=window_days, ages=ages[k], block_rows=block_rows,
        )))  # fmt: skip
    targets = np.where(
        ages >= rules.STEP_TARGET_OLDER_AGE, rules.STEP_TARGET_OLDER, rules.STEP_TARGET_YOUNGER
    )
    i64 = idx.astype(np.int64)
    day = (start + off.astype(np.int64) * 60) // DAY_S
    ukey, inv, gat = _group(i64 * _SHIFT + day)
    umember = ukey // _SHIFT
    g = ukey.size
    wear = _group_sums(np.minimum(duration_s, DAY_S).astype(np.float64), inv, gat, g)
    dsteps = _group_sums(steps.astype(np.float64), inv, gat, g)
    modeq = active_min + (rules.VIGOROUS_WEIGHT - 1) * vigorous_min
    dmod = _group_sums(modeq.astype(np.float64), inv, gat, g)
    valid = (wear >= rules.MIN_WEAR_S) & (dsteps > 0)
    vm, vs, vmod = umember[valid], dsteps[valid], dmod[valid]
    v_at = _offsets(vm, m)
    nv = np.diff(v_at)
    median = medians(vm, vs, m)
    at_target = _sums(vs >= np.repeat(targets, nv), v_at)
    per_week = _div(_sums(vmod, v_at), nv) * 7.0
    active = _sums(vmod >= rules.ACTIVE_DAY_MIN, v_at)
    need = rules.valid_days_needed(window_days)
    meets = per_week >= rules.WHO_MIN_PER_WEEK
    ok = nv >= need
    cols = (
        ok.tolist(), nv.tolist(), nullable(median, ok), targets.tolist(),
        nullable(at_target.astype(np.int64), ok), nullable(per_week, ok),
        nullable(meets, ok), nullable(active.astype(np.int64), ok),
    )  # fmt: skip
    docs: list[dict[str, Any]] = [
        {
            "valid_days": nvk,
            "median_steps": med,
            "step_target": tgt,
            "days_at_target": at,
            "mvpa_min_per_week": pw,
            "meets_who": who,
            "active_days": act,
            "sufficient": ok_,
        }
        for ok_, nvk, med, tgt, at, pw, who, act in zip(*cols, strict=True)
    ]
    return docs, {
        "sufficient": ok,
        "valid_days": nv,
        "median_steps": _column(median, ok),
        "mvpa_min_per_week": _column(per_week, ok),
        "step_target": targets.astype(np.int64),
    }


def medians(member: npt.NDArray[Any], x: npt.NDArray[Any], m: int) -> npt.NDArray[np.float64]:
    """Per-member median of ``x`` (``member`` sorted ascending); NaN for members without x.

    Why not always sort: sampling intervals and UTC offsets mostly repeat one value. A
    single value throughout (nobody travelled) is every member's median. Otherwise, when
    the most common value ``c`` fills both middle ranks of a member (fewer than ``lo``
    values below it, more than ``hi`` at or below it), ``c`` is that member's median: three
    counts instead of a sort. Other members are sorted.
    """
    rows = _offsets(member, m)
    nv = np.diff(rows)
    out = np.full(m, np.nan)
    if x.size == 0:
        return out
    x = x.astype(np.float64, copy=False)
    if x.min() == x.max():
        out[nv > 0] = x[0]
        return out
    lo_rank = np.maximum(nv - 1, 0) // 2
    hi_rank = nv // 2
    vals, counts = np.unique(x[:: max(1, x.size // 4096)], return_counts=True)
    c = float(vals[np.argmax(counts)])  # the common value, from a sample: only a candidate
    below = _sums(x < c, rows)
    at = _sums(x == c, rows)
    done = (nv > 0) & (below <= lo_rank) & (below + at > hi_rank)
    out[done] = c
    rest = (nv > 0) & ~done
    if rest.any():
        keep = np.repeat(rest, nv)
        mm, xx = member[keep], x[keep]
        s = _sorted_within(mm, xx)
        k = np.where(rest, nv, 0)
        begin = np.concatenate(([0], np.cumsum(k)[:-1]))
        out[rest] = (s[begin[rest] + lo_rank[rest]] + s[begin[rest] + hi_rank[rest]]) / 2.0
    return out


def cgm_many(
    idx: npt.NDArray[np.int32],
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    window_start_s: npt.NDArray[np.int64],
    window_end_s: npt.NDArray[np.int64],
    *,
    block_rows: int = BLOCK_ROWS,
) -> list[dict[str, Any]]:
    """:func:`scoring.indicators.cgm.cgm_indicators` for members 0..M-1 (windows per member).

    Readings must be sorted by (member, time). Members whose readings need the reference's
    repairs (duplicate timestamps to average, NaN values to drop) are rare and go through
    :func:`~scoring.indicators.cgm.cgm_indicators` itself; everyone else is computed with
    grouped reductions, which was most of the time of a chunk of CGM wearers.
    """
    m = int(window_start_s.size)
    if idx.size > block_rows and m > 1:
        blocks = _in_blocks(idx, m, block_rows, lambda r, k, a: cgm_many(
            idx[r] - a, t[r], value[r], is_mmol[r], window_start_s[k], window_end_s[k],
            block_rows=block_rows,
        ))  # fmt: skip
        return [doc for block in blocks for doc in block]
    i64 = idx.astype(np.int64)
    value = value.astype(np.float64, copy=False)
    same = i64[1:] == i64[:-1]
    repair = np.zeros(m, dtype=np.bool_)
    repair[i64[1:][same & (t[1:] == t[:-1])]] = True
    repair[i64[np.isnan(value)]] = True
    if repair.any():
        keep = ~repair[i64]
        fixed = {
            int(k): cgm_def.cgm_indicators(
                t[i64 == k], value[i64 == k], is_mmol[i64 == k],
                window_start_s=int(window_start_s[k]), window_end_s=int(window_end_s[k]),
            )
            for k in np.flatnonzero(repair)
        }  # fmt: skip
        i64, t, value, is_mmol = i64[keep], t[keep], value[keep], is_mmol[keep]
        same = i64[1:] == i64[:-1]
    else:
        fixed = {}

    at = _offsets(i64, m)
    n = np.diff(at)
    # Median sampling interval per member (the fallback for fewer than two readings).
    dmember = i64[1:][same]
    dt = medians(dmember, (t[1:] - t[:-1])[same], m)
    dt = np.where(n > 1, dt, float(rules.CGM_FALLBACK_INTERVAL_S))
    span = window_end_s - window_start_s
    inside = _sums((t >= np.repeat(window_start_s, n)) & (t < np.repeat(window_end_s, n)), at)
    active = np.where(
        span > 0,
        np.minimum(100.0, 100.0 * inside.astype(np.float64) * dt / np.maximum(span, 1)),
        0.0,
    )
    ok = rules.cgm_sufficient(span, active, n)

    # Bands, each reading against the edges of its own unit (counts, then % of readings).
    bands = rules.glucose_bands(value, is_mmol)
    pct = {k: 100.0 * _div(_sums(b, at).astype(np.float64), n) for k, b in bands.items()}

    # Mean, SD and the risk indices over the finite values (LO/HI are +-inf: they count in
    # the bands above, not in the arithmetic).
    finite = np.isfinite(value)
    fat = _offsets(i64[finite], m)
    nf = np.diff(fat)
    mg = np.where(is_mmol[finite], value[finite] * MGDL_PER_MMOLL, value[finite])
    mean = _div(_sums(mg, fat), nf)
    sd = np.sqrt(_div(_sums((mg - np.repeat(mean, nf)) ** 2, fat), nf - 1))
    f = rules.BGI_A * (np.log(np.maximum(mg, 1.0)) ** rules.BGI_B - rules.BGI_C)
    r = rules.BGI_R * f * f
    lbgi = _div(_sums(np.where(f < 0, r, 0.0), fat), nf)
    hbgi = _div(_sums(np.where(f > 0, r, 0.0), fat), nf)
    w = rules.GRI_WEIGHTS
    gri = np.minimum(
        100.0,
        w[0] * pct["tbr54"] + w[1] * (pct["tbr70"] - pct["tbr54"])
        + w[2] * pct["tar250"] + w[3] * (pct["tar180"] - pct["tar250"]),
    )  # fmt: skip
    edges = np.array([edge for edge, _ in rules.GRI_ZONES])
    letters = np.array([z for _, z in rules.GRI_ZONES] + ["E"], dtype=object)
    zone = letters[np.searchsorted(edges, np.nan_to_num(gri), side="left")]
    below, above = rules.event_masks(value, is_mmol)
    hypo = rules.glucose_events(t, below, dt, i64, m)
    hyper = rules.glucose_events(t, above, dt, i64, m)

    has_mg, has_sd = ok & (nf > 0), ok & (nf >= 2)
    cols = {
        "n_readings": n.tolist(),
        "active_pct": active.tolist(),
        **{k: nullable(v, ok) for k, v in pct.items()},
        "mean_mgdl": nullable(mean, has_mg),
        "sd_mgdl": nullable(sd, has_sd),
        "cv": nullable(100.0 * _div(sd, np.where(mean > 0, mean, 0.0)), has_sd & (mean > 0)),
        "gmi": nullable(rules.GMI_INTERCEPT + rules.GMI_SLOPE * mean, has_mg),
        "gri": nullable(gri, ok),
        "gri_zone": nullable(zone, ok),
        "lbgi": nullable(lbgi, has_mg),
        "hbgi": nullable(hbgi, has_mg),
        "hypo_events": nullable(hypo, ok),
        "hyper_events": nullable(hyper, ok),
        "sufficient": ok.tolist(),
    }
    keys = cgm_def.CGM_KEYS
    out = [dict(zip(keys, row, strict=True)) for row in zip(*(cols[k] for k in keys), strict=True)]
    for k, doc in fixed.items():
        out[k] = doc
    return out
