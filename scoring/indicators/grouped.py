"""Grouped reductions over many members' readings at once (numpy), shared by the indicators.

Why: a city book has 10^5-10^6 members with a few hundred readings each; a Python call per
member costs more than the arithmetic. The columnar indicator functions (``bp.home_bp_table``,
``activity.activity_table``, ``cgm.cgm_many``) take one chunk's readings sorted by member
index (and time) and compute every member's indicators with the reductions here: segment
sums over each member's rows, ``bincount`` over (member, day) groups, per-member medians,
and blocks of members that stay in cache. Nothing here knows a clinical rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

SHIFT = np.int64(1) << np.int64(32)  # (member, day) and (member, month) keys: member * SHIFT + x


def div(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: npt.NDArray[np.float64] = np.where(b > 0, a / np.maximum(b, 1), np.nan)
    return out


def require_sorted(member: npt.NDArray[Any], t: npt.NDArray[Any], what: str) -> None:
    """Refuse rows not sorted by (member, time): the columnar forms read each member's rows
    as one contiguous, time-ordered run, and unsorted rows gave numbers that looked sane
    (an active percent of -1800 %, an ARV a third of the true one). The per-member reference
    forms sort their input instead."""
    if member.size < 2:
        return
    dm = np.diff(member.astype(np.int64))
    if (dm < 0).any() or ((dm == 0) & (np.diff(t) < 0)).any():
        raise ValueError(f"{what}: rows must be sorted by (member, time)")


def offsets(member: npt.NDArray[Any], m: int) -> npt.NDArray[np.intp]:
    """Row offsets of members 0..m in ``member`` sorted ascending (``m + 1`` values)."""
    out: npt.NDArray[np.intp] = np.searchsorted(member, np.arange(m + 1), side="left")
    return out


def sums(x: npt.NDArray[Any], at: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
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


def group_sums(
    x: npt.NDArray[Any], inv: npt.NDArray[np.intp], at: npt.NDArray[np.intp] | None, g: int
) -> npt.NDArray[Any]:
    """Sums of ``x`` per group of :func:`group`.

    Segments (:func:`sums`) when the keys came sorted and groups are long; for groups of a
    few rows (a member's readings of one day) ``np.bincount`` was 2-4 times faster than
    ``reduceat``, whose cost is per segment.
    """
    if at is not None and x.size >= 8 * g:
        return sums(x, at)
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


def in_blocks(
    idx: npt.NDArray[Any], m: int, rows: int, score: Callable[[slice, slice, int], T]
) -> list[T]:
    """``score(row slice, member slice, first member)`` of each block, in order."""
    return [score(slice(r0, r1), slice(a, b), a) for a, b, r0, r1 in _blocks(idx, m, rows)]


def joined(parts: list[Table]) -> Table:
    """Blocks' tables as one: dicts in order, columns concatenated."""
    docs = [d for part, _ in parts for d in part]
    return docs, {k: np.concatenate([c[k] for _, c in parts]) for k in parts[0][1]}


def column(a: npt.NDArray[Any], keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """``a`` as float64 with NaN where the stored dict holds None (see :func:`nullable`)."""
    return np.where(keep, a, np.nan).astype(np.float64, copy=False)


def sorted_starts(key: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Where each run of equal values begins, in an already sorted ``key``."""
    starts = np.empty(key.size, dtype=np.bool_)
    if key.size:
        starts[0] = True
        np.not_equal(key[1:], key[:-1], out=starts[1:])
    return starts


def group(
    key: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.intp] | None]:
    """``np.unique(key, return_inverse=True)``, in one pass when ``key`` is already sorted.

    Readings arrive sorted by (member, time), so (member, local day) keys are sorted unless
    a member's UTC offset changed mid-window; sorting them again was a third of the BP time.
    The third value is the groups' row offsets when the keys came sorted (rows of a group
    are then contiguous, for :func:`sums`), else None.
    """
    if bool(np.all(key[1:] >= key[:-1])):  # no keys, or one, are sorted too
        starts = sorted_starts(key)
        inv = np.cumsum(starts, dtype=np.intp) - 1
        at = np.append(np.flatnonzero(starts), key.size)
        return key[starts], inv, at
    ukey, inv = np.unique(key, return_inverse=True)
    return ukey, inv.reshape(-1), None


def months(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
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


def sorted_within(member: npt.NDArray[Any], x: npt.NDArray[Any]) -> npt.NDArray[Any]:
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


def medians(member: npt.NDArray[Any], x: npt.NDArray[Any], m: int) -> npt.NDArray[np.float64]:
    """Per-member median of ``x`` (``member`` sorted ascending); NaN for members without x.

    Why not always sort: sampling intervals and UTC offsets mostly repeat one value. A
    single value throughout (nobody travelled) is every member's median. Otherwise, when
    the most common value ``c`` fills both middle ranks of a member (fewer than ``lo``
    values below it, more than ``hi`` at or below it), ``c`` is that member's median: three
    counts instead of a sort. Other members are sorted.
    """
    rows = offsets(member, m)
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
    below = sums(x < c, rows)
    at = sums(x == c, rows)
    done = (nv > 0) & (below <= lo_rank) & (below + at > hi_rank)
    out[done] = c
    rest = (nv > 0) & ~done
    if rest.any():
        keep = np.repeat(rest, nv)
        mm, xx = member[keep], x[keep]
        s = sorted_within(mm, xx)
        k = np.where(rest, nv, 0)
        begin = np.concatenate(([0], np.cumsum(k)[:-1]))
        out[rest] = (s[begin[rest] + lo_rank[rest]] + s[begin[rest] + hi_rank[rest]]) / 2.0
    return out
