"""Physical activity (stored contract ``activity``): one member, and many members at once.

Why: everyone, sick or not, is scored on activity, and the WHO guideline is written in
moderate-equivalent minutes per week; a device may send minute, hourly or daily records,
so every rule here works on intervals of any length. The targets and the valid-day and
sufficiency rules live in ``scoring.indicators.rules`` (docs/clinical.md, "Activity").

:func:`activity_indicators` is the per-member reference definition; :func:`activity_table`
next to it computes the same for a chunk of members with the grouped reductions of
``scoring.indicators.grouped``. Tests hold the two equal on random books.
"""

from __future__ import annotations

from typing import Any

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
    medians,
    nullable,
    offsets,
    sums,
)
from scoring.indicators.rules import (
    ACTIVE_DAY_MIN,
    DAY_S,
    MIN_WEAR_S,
    STEP_TARGET_OLDER,
    STEP_TARGET_OLDER_AGE,
    STEP_TARGET_YOUNGER,
    VIGOROUS_WEIGHT,
    WHO_MIN_PER_WEEK,
    step_target,
    valid_days_needed,
)


def one_source(
    member: npt.NDArray[np.int64],
    day: npt.NDArray[np.int64],
    device: npt.NDArray[np.int64],
    duration_s: npt.NDArray[Any],
) -> npt.NDArray[np.bool_]:
    """Which records count: one device per member and local day, never a sum of overlaps.

    Why: two trackers worn at once, or one device's hourly records plus its own daily
    summary, cover the same steps; summed, two trackers of 5,000 steps made 10,000.
    The rule (docs/clinical.md, "Activity"): within a device-day, the finest records win
    (a >= 24 h summary is dropped when the device sent shorter records that day); across
    devices, the one with the most wear time that day wins (ties: the lower device code),
    and the others' records that day are left out.

    >>> one_source(np.zeros(3, np.int64), np.zeros(3, np.int64), np.array([1, 1, 2]),
    ...            np.array([3600, 86_400, 7200])).tolist()
    [False, False, True]
    """
    n = member.size
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    daily = duration_s >= DAY_S
    md = member * SHIFT + day
    # The usual case, in one pass: records grouped by (member, day), one device and one kind
    # of record in each group. Then every record counts (the sort below cost 0.15 s a chunk).
    same = md[1:] == md[:-1]
    if (md[1:] >= md[:-1]).all() and not (
        same & ((device[1:] != device[:-1]) | (daily[1:] != daily[:-1]))
    ).any():
        return np.ones(n, dtype=np.bool_)
    key = np.stack([member, day, device])
    _, dev_inv = np.unique(key, axis=1, return_inverse=True)
    dev_inv = dev_inv.ravel()
    fine = np.bincount(dev_inv, weights=(~daily).astype(np.float64)) > 0
    keep = ~daily | ~fine[dev_inv]
    cover = np.bincount(dev_inv, weights=np.where(keep, np.minimum(duration_s, DAY_S), 0.0))
    # The best device of each (member, day): most cover, then the lowest device code.
    order = np.lexsort((device, -cover[dev_inv], day, member))
    first = np.ones(n, dtype=np.bool_)
    first[1:] = md[order][1:] != md[order][:-1]
    _, day_inv = np.unique(md, return_inverse=True)
    best = np.empty(int(day_inv.max()) + 1, dtype=np.int64)
    best[day_inv[order][first]] = device[order][first]
    out: npt.NDArray[np.bool_] = keep & (device == best[day_inv])
    return out


def activity_indicators(
    start: npt.NDArray[np.int64],
    offset_min: npt.NDArray[np.int16],
    duration_s: npt.NDArray[np.int64],
    steps: npt.NDArray[np.int64],
    active_min: npt.NDArray[np.int64],
    vigorous_min: npt.NDArray[np.int64],
    *,
    window_days: int,
    age: int,
    device: npt.NDArray[np.int64] | None = None,
) -> dict[str, object]:
    """Stored-contract ``activity`` for one member over a window of ``window_days`` days.

    Records may overlap (several devices, or a device's summary beside its detail): one
    source per local day counts (:func:`one_source`; ``device`` numbers each record's
    device, all one device when None).

    ``active_min`` is moderate-or-vigorous minutes and ``vigorous_min`` the vigorous part
    of them, so moderate-equivalent minutes are ``active + vigorous`` (WHO: a vigorous
    minute counts twice). A record belongs to the local day it starts in.
    ``mvpa_min_per_week`` is moderate-equivalent minutes per valid day x 7, so non-wear
    days are not counted as inactivity.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.arange(7, dtype=np.int64) * 86_400
    >>> z = np.zeros(7, dtype=np.int16)
    >>> r = activity_indicators(d, z, np.full(7, 86_400), np.full(7, 9_000),
    ...                         np.full(7, 20), np.full(7, 5), window_days=7, age=50)
    >>> r["median_steps"], r["mvpa_min_per_week"], r["meets_who"], r["days_at_target"]
    (9000.0, 175.0, True, 7)
    """
    target = step_target(age)
    out: dict[str, object] = {
        "valid_days": 0,
        "median_steps": None,
        "step_target": target,
        "days_at_target": None,
        "mvpa_min_per_week": None,
        "meets_who": None,
        "active_days": None,
        "sufficient": False,
    }
    if start.size == 0:
        return out
    day = (start + offset_min.astype(np.int64) * 60) // DAY_S
    dev = np.zeros(start.size, np.int64) if device is None else np.asarray(device, np.int64)
    keep = one_source(np.zeros(start.size, np.int64), day, dev, duration_s)
    day, duration_s, steps = day[keep], duration_s[keep], steps[keep]
    active_min, vigorous_min = active_min[keep], vigorous_min[keep]
    _, inv = np.unique(day, return_inverse=True)
    wear = np.bincount(inv, weights=np.minimum(duration_s, DAY_S).astype(np.float64))
    day_steps = np.bincount(inv, weights=steps.astype(np.float64))
    mod_eq = np.bincount(
        inv, weights=(active_min + (VIGOROUS_WEIGHT - 1) * vigorous_min).astype(float)
    )
    valid = (wear >= MIN_WEAR_S) & (day_steps > 0)
    nv = int(valid.sum())
    out["valid_days"] = nv
    if nv < valid_days_needed(window_days):
        return out
    vs, vm = day_steps[valid], mod_eq[valid]
    per_week = float(vm.sum() / nv * 7.0)
    out.update(
        median_steps=float(np.median(vs)),
        days_at_target=int((vs >= target).sum()),
        mvpa_min_per_week=per_week,
        meets_who=bool(per_week >= WHO_MIN_PER_WEEK),
        active_days=int((vm >= ACTIVE_DAY_MIN).sum()),
        sufficient=True,
    )
    return out


# --- many members at once (the columnar form of activity_indicators) -------------------------


def _valid_days_many(
    member: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    off: npt.NDArray[np.int16],
    duration_s: npt.NDArray[Any],
    steps: npt.NDArray[Any],
    active_min: npt.NDArray[Any],
    vigorous_min: npt.NDArray[Any],
    device: npt.NDArray[Any] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Every member's valid days, sorted by (member, day): member, steps, moderate-eq minutes.

    Records grouped by (member, local day of their start), as the reference groups one
    member's records by day.
    """
    day = (start + off.astype(np.int64) * 60) // DAY_S
    if device is not None:
        keep = one_source(member, day, device.astype(np.int64), duration_s)
        if not keep.all():
            member, day, duration_s, steps = member[keep], day[keep], duration_s[keep], steps[keep]
            active_min, vigorous_min = active_min[keep], vigorous_min[keep]
    ukey, inv, gat = group(member * SHIFT + day)
    umember = ukey // SHIFT
    g = ukey.size
    wear = group_sums(np.minimum(duration_s, DAY_S).astype(np.float64), inv, gat, g)
    dsteps = group_sums(steps.astype(np.float64), inv, gat, g)
    modeq = active_min + (VIGOROUS_WEIGHT - 1) * vigorous_min
    dmod = group_sums(modeq.astype(np.float64), inv, gat, g)
    valid = (wear >= MIN_WEAR_S) & (dsteps > 0)
    return umember[valid], dsteps[valid], dmod[valid]


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
    device: npt.NDArray[Any] | None = None,
    block_rows: int = BLOCK_ROWS,
) -> Table:
    """:func:`activity_indicators` for members 0..M-1 (records sorted by member).

    Returns the stored dicts and the columns the composite reads.
    """
    m = int(ages.size)
    if idx.size > block_rows and m > 1:
        return joined(in_blocks(idx, m, block_rows, lambda r, k, a: activity_table(
            idx[r] - a, start[r], off[r], duration_s[r], steps[r], active_min[r],
            vigorous_min[r], window_days=window_days, ages=ages[k],
            device=None if device is None else device[r], block_rows=block_rows,
        )))  # fmt: skip
    targets = np.where(ages >= STEP_TARGET_OLDER_AGE, STEP_TARGET_OLDER, STEP_TARGET_YOUNGER)
    vm, vs, vmod = _valid_days_many(
        idx.astype(np.int64), start, off, duration_s, steps, active_min, vigorous_min, device
    )
    v_at = offsets(vm, m)
    nv = np.diff(v_at)
    per_week = div(sums(vmod, v_at), nv) * 7.0
    ok = nv >= valid_days_needed(window_days)
    return _activity_table(
        ok,
        nv,
        medians(vm, vs, m),
        targets,
        sums(vs >= np.repeat(targets, nv), v_at),
        per_week,
        sums(vmod >= ACTIVE_DAY_MIN, v_at),
    )


def _activity_table(
    ok: npt.NDArray[np.bool_],
    nv: npt.NDArray[Any],
    median: npt.NDArray[np.float64],
    targets: npt.NDArray[Any],
    at_target: npt.NDArray[Any],
    per_week: npt.NDArray[np.float64],
    active: npt.NDArray[Any],
) -> Table:
    """The stored dicts (numbers None unless sufficient) and the composite's columns."""
    cols = (
        ok.tolist(), nv.tolist(), nullable(median, ok), targets.tolist(),
        nullable(at_target.astype(np.int64), ok), nullable(per_week, ok),
        nullable(per_week >= WHO_MIN_PER_WEEK, ok), nullable(active.astype(np.int64), ok),
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
        "median_steps": column(median, ok),
        "mvpa_min_per_week": column(per_week, ok),
        "step_target": targets.astype(np.int64),
    }
