"""CGM indicators and the AGP, classified in the unit the device reported (pure numpy).

Why: 13.9 mmol/L is 250.4 mg/dL, so converting before classifying moves readings across
bands; each reading is compared against the thresholds of its own unit and converted (one
factor, ``core.units.MGDL_PER_MMOLL``) only for means, SD and formulas (docs/clinical.md,
"Glucose units"). The thresholds and the event rule live in ``scoring.indicators.rules``.

:func:`cgm_indicators` is the per-member reference definition; :func:`cgm_many` next to it
computes the same for a chunk of members with the grouped reductions of
``scoring.indicators.grouped``. Tests hold the two equal on random books. The module is
longer than most (~450 lines) on purpose: the two forms are kept in one file so that a
change to one is made, and reviewed, next to the other; the AGP shares the reference's
duplicate handling.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from core.units import MGDL_PER_MMOLL
from scoring.indicators.grouped import (
    BLOCK_ROWS,
    div,
    in_blocks,
    nullable,
    offsets,
    require_sorted,
    sums,
)
from scoring.indicators.rules import (
    AGP_HI_MGDL,
    AGP_LO_MGDL,
    AGP_MIN_READINGS,
    AGP_PERCENTILES,
    BANDS,
    BGI_A,
    BGI_B,
    BGI_C,
    BGI_R,
    CGM_DAYS,
    CGM_NOMINAL_INTERVAL_S,
    DAY_S,
    EVENT_MIN_S,
    EXTENDED_HYPO_S,
    GMI_INTERCEPT,
    GMI_SLOPE,
    GRI_WEIGHTS,
    GRI_ZONES,
    cgm_sufficient,
    count_events,
    event_masks,
    glucose_bands,
    glucose_events,
    glucose_events_by,
    hypo_l2_mask,
)


def time_in_ranges(values: npt.ArrayLike, is_mmol: npt.ArrayLike) -> dict[str, float | None]:
    """Percent of readings (by count) in each consensus band, classified per own unit.

    TIR is closed at both ends (70 <= g <= 180 mg/dL); TBR < 70 and < 54; TAR > 180 and
    > 250; TITR 70-140. Censored LO/HI readings should be passed as -inf/+inf so they
    count in the extreme bands. Empty input gives None for every band.

    Examples
    --------
    >>> r = time_in_ranges([10.0, 181.0, 13.9, 250.0], [True, False, True, False])
    >>> r["tir"], r["tar180"], r["tar250"]
    (25.0, 75.0, 0.0)
    """
    g = np.asarray(values, dtype=np.float64)
    mmol = np.asarray(is_mmol, dtype=np.bool_)
    if g.size == 0:
        return dict.fromkeys(BANDS, None)
    return {k: float(100.0 * m.mean()) for k, m in glucose_bands(g, mmol).items()}


# --- Window indicators (stored contract ``cgm``) ------------------------------------------

CGM_KEYS: tuple[str, ...] = (
    "n_readings",
    "active_pct",
    "tir",
    "tbr70",
    "tbr54",
    "tar180",
    "tar250",
    "titr",
    "mean_mgdl",
    "sd_mgdl",
    "cv",
    "gmi",
    "gri",
    "gri_zone",
    "lbgi",
    "hbgi",
    "hypo_events",
    "hypo_l1_events",
    "hypo_l2_events",
    "hypo_extended_events",
    "hyper_events",
    "sufficient",
)


def _dedupe(
    t: npt.NDArray[np.int64], value: npt.NDArray[np.float64], is_mmol: npt.NDArray[np.bool_]
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.intp]
]:
    """Sort by time and average readings that share a timestamp (docs/clinical.md, "CGM").

    A group is averaged in the unit of its first reading (others converted with the one
    factor); LO averaged with a number stays LO (-inf), HI likewise; LO and HI at the same
    instant contradict each other and the timestamp is dropped. NaN values are absent
    readings. Returns the kept times, values, units and the index of each group's first
    reading in the input (for per-reading attributes such as the UTC offset).
    """
    tt = np.asarray(t, dtype=np.int64)
    vv = np.asarray(value, dtype=np.float64)
    mm = np.asarray(is_mmol, dtype=np.bool_)
    present = ~np.isnan(vv)
    idx = np.flatnonzero(present) if not present.all() else np.arange(tt.size)
    tt, vv, mm = tt[idx], vv[idx], mm[idx]
    if tt.size < 2 or bool(np.all(np.diff(tt) > 0)):
        return tt, vv, mm, idx
    order = np.argsort(tt, kind="stable")
    ts, vs, ms = tt[order], vv[order], mm[order]
    start = np.concatenate(([True], np.diff(ts) != 0))
    first = np.flatnonzero(start)
    unit = ms[first][np.cumsum(start) - 1]  # each reading's group unit
    conv = np.where(ms == unit, vs, np.where(unit, vs / MGDL_PER_MMOLL, vs * MGDL_PER_MMOLL))
    with np.errstate(invalid="ignore"):  # -inf + inf -> nan: contradictory, dropped below
        avg = np.add.reduceat(conv, first) / np.diff(np.append(first, ts.size))
    keep = ~np.isnan(avg)
    return ts[first][keep], avg[keep], ms[first][keep], idx[order[first][keep]]


def _to_mgdl(g: npt.NDArray[np.float64], mmol: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = np.where(mmol, g * MGDL_PER_MMOLL, g)
    return out


def gri_zone(gri: float) -> str:
    """GRI zone letter, A (lowest risk) to E (Klonoff 2022 quintiles, upper edge inclusive).

    >>> gri_zone(20.0), gri_zone(20.1), gri_zone(100.0)
    ('A', 'B', 'E')
    """
    for edge, zone in GRI_ZONES:
        if gri <= edge:
            return zone
    return "E"


def _glycaemia(mg: npt.NDArray[np.float64]) -> dict[str, float | None]:
    """Mean, GMI, LBGI, HBGI (one reading or more) and sample SD, CV (two or more), mg/dL."""
    out: dict[str, float | None] = {}
    if mg.size:
        mean = float(mg.mean())
        out["mean_mgdl"] = mean
        out["gmi"] = GMI_INTERCEPT + GMI_SLOPE * mean
        # Below 1 mg/dL ln g <= 0 and the transform is undefined; ingest rejects < 20.
        f = BGI_A * (np.log(np.maximum(mg, 1.0)) ** BGI_B - BGI_C)
        r = BGI_R * f**2
        out["lbgi"] = float(np.where(f < 0, r, 0.0).mean())
        out["hbgi"] = float(np.where(f > 0, r, 0.0).mean())
    if mg.size >= 2:
        sd = float(mg.std(ddof=1))
        out["sd_mgdl"] = sd
        out["cv"] = 100.0 * sd / mean if mean > 0 else None
    return out


def cgm_indicators(
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    *,
    window_start_s: int,
    window_end_s: int,
    nominal_s: float = CGM_NOMINAL_INTERVAL_S,
) -> dict[str, Any]:
    """Stored-contract ``cgm`` for one member over ``[window_start_s, window_end_s)``.

    Why: clinics and pricing act on the consensus CGM metrics, so each follows its
    published definition and nothing is reported from too little data: with a window
    shorter than 14 days or less than 70 % of possible readings present (Battelino 2019),
    every metric is None and only ``n_readings`` and ``active_pct`` say why.

    Parameters
    ----------
    t : epoch seconds in any order: sorted here, duplicates averaged (docs/clinical.md
        "CGM"); NaN values are absent readings and dropped.
    value : glucose in the unit the device reported; censored LO = -inf, HI = +inf.
    is_mmol : per reading, True for mmol/L.
    window_start_s, window_end_s : the window, epoch seconds, end exclusive.
    nominal_s : the sensor model's nominal sampling interval (``device_models``), seconds.

    Notes
    -----
    * ``n_readings`` counts distinct timestamps after averaging duplicates.
    * ``active_pct`` = 100 x (readings inside the window) / (window length / the sensor's
      nominal interval), capped at 100; gaps count as missing, and sparse data cannot
      vouch for itself (one reading a day is 0.3 % active on a 5-minute sensor).
    * Bands (``tir`` ... ``titr``) are percentages of readings, each classified in its own
      unit (:func:`time_in_ranges`); LO/HI count in the extreme bands.
    * Mean, sample SD (n - 1), CV, GMI, LBGI and HBGI use the uncensored readings converted
      to mg/dL with the one factor 18.01559; LO/HI are excluded from them (their value is
      unknown), which understates risk a little when they occur.
    * GRI uses the band percentages (VLow = tbr54, Low = tbr70 - tbr54, High = tar180 -
      tar250, VHigh = tar250), so LO/HI do count there.
    * Events: :func:`scoring.indicators.rules.glucose_events`, thresholds in the reading's
      own unit: ``hypo_l1_events`` (< 70 mg/dL; ``hypo_events`` is the same count, kept
      for older readers), ``hypo_l2_events`` (< 54), ``hypo_extended_events`` (> 120
      minutes < 70), ``hyper_events`` (> 180).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(14 * 288, dtype=np.int64) * 300  # 14 days every 5 minutes
    >>> g = np.where(np.arange(t.size) % 4 == 0, 200.0, 100.0)
    >>> r = cgm_indicators(t, g, np.zeros(t.size, bool), window_start_s=0,
    ...                    window_end_s=14 * 86_400)
    >>> r["sufficient"], r["active_pct"], r["tir"], r["tar180"], r["mean_mgdl"]
    (True, 100.0, 75.0, 25.0, 125.0)
    >>> r["hyper_events"]  # single 5-minute excursions are not events
    0
    """
    ts, g, mmol, _ = _dedupe(t, value, is_mmol)
    n = int(ts.size)
    dt = float(nominal_s)
    span = int(window_end_s) - int(window_start_s)
    inside = int(np.count_nonzero((ts >= window_start_s) & (ts < window_end_s)))
    active = min(100.0, 100.0 * inside * dt / span) if span > 0 else 0.0
    out: dict[str, Any] = dict.fromkeys(CGM_KEYS)
    out.update(n_readings=n, active_pct=active, sufficient=False)
    if not cgm_sufficient(span, active, n):
        return out
    out.update(time_in_ranges(g, mmol))
    finite = np.isfinite(g)
    out.update(_glycaemia(_to_mgdl(g[finite], mmol[finite])))
    vlow, high = out["tbr54"], out["tar180"] - out["tar250"]
    low, vhigh = out["tbr70"] - out["tbr54"], out["tar250"]
    w = GRI_WEIGHTS
    gri = min(100.0, w[0] * vlow + w[1] * low + w[2] * vhigh + w[3] * high)
    out["gri"], out["gri_zone"] = gri, gri_zone(gri)
    hypo, hyper = event_masks(g, mmol)
    out["hypo_events"] = out["hypo_l1_events"] = count_events(ts, hypo, dt)
    out["hypo_l2_events"] = count_events(ts, hypo_l2_mask(g, mmol), dt)
    out["hypo_extended_events"] = count_events(ts, hypo, dt, min_s=EXTENDED_HYPO_S, longer=True)
    out["hyper_events"] = count_events(ts, hyper, dt)
    out["sufficient"] = True
    return out


# --- many members at once (the columnar form of cgm_indicators) -----------------------------


def _needs_repair(
    member: npt.NDArray[np.int64], t: npt.NDArray[np.int64], value: npt.NDArray[np.float64], m: int
) -> npt.NDArray[np.bool_]:
    """Members whose readings need :func:`_dedupe`: a repeated timestamp or a NaN value."""
    repair = np.zeros(m, dtype=np.bool_)
    repair[member[1:][(member[1:] == member[:-1]) & (t[1:] == t[:-1])]] = True
    repair[member[np.isnan(value)]] = True
    return repair


def _active_many(
    t: npt.NDArray[np.int64],
    at: npt.NDArray[np.intp],
    window_start_s: npt.NDArray[np.int64],
    window_end_s: npt.NDArray[np.int64],
    dt: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Each member's active percent against their sensor's nominal interval ``dt``."""
    n = np.diff(at)
    span = window_end_s - window_start_s
    inside = sums((t >= np.repeat(window_start_s, n)) & (t < np.repeat(window_end_s, n)), at)
    active = np.where(
        span > 0,
        np.minimum(100.0, 100.0 * inside.astype(np.float64) * dt / np.maximum(span, 1)),
        0.0,
    )
    return active


def _glycaemia_many(
    member: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    m: int,
) -> dict[str, npt.NDArray[Any]]:
    """:func:`_glycaemia` of every member (``n`` counts each member's finite readings).

    Over the finite values only: LO/HI are +-inf, they count in the bands, not in the
    arithmetic.
    """
    finite = np.isfinite(value)
    fat = offsets(member[finite], m)
    nf = np.diff(fat)
    mg = np.where(is_mmol[finite], value[finite] * MGDL_PER_MMOLL, value[finite])
    mean = div(sums(mg, fat), nf)
    sd = np.sqrt(div(sums((mg - np.repeat(mean, nf)) ** 2, fat), nf - 1))
    f = BGI_A * (np.log(np.maximum(mg, 1.0)) ** BGI_B - BGI_C)
    r = BGI_R * f * f
    lbgi = div(sums(np.where(f < 0, r, 0.0), fat), nf)
    hbgi = div(sums(np.where(f > 0, r, 0.0), fat), nf)
    return {"n": nf, "mean": mean, "sd": sd, "lbgi": lbgi, "hbgi": hbgi}


def _gri_many(
    pct: dict[str, npt.NDArray[np.float64]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """GRI and its zone letter from the band percentages, as in :func:`cgm_indicators`."""
    w = GRI_WEIGHTS
    gri = np.minimum(
        100.0,
        w[0] * pct["tbr54"] + w[1] * (pct["tbr70"] - pct["tbr54"])
        + w[2] * pct["tar250"] + w[3] * (pct["tar180"] - pct["tar250"]),
    )  # fmt: skip
    edges = np.array([edge for edge, _ in GRI_ZONES])
    letters = np.array([z for _, z in GRI_ZONES] + ["E"], dtype=object)
    return gri, letters[np.searchsorted(edges, np.nan_to_num(gri), side="left")]


def cgm_many(
    idx: npt.NDArray[np.int32],
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    window_start_s: npt.NDArray[np.int64],
    window_end_s: npt.NDArray[np.int64],
    nominal_s: npt.NDArray[np.float64] | None = None,
    *,
    block_rows: int = BLOCK_ROWS,
) -> list[dict[str, Any]]:
    """:func:`cgm_indicators` for members 0..M-1 (windows and nominal intervals per member;
    no ``nominal_s``: every sensor is a 5-minute one).

    Readings must be sorted by (member, time). Members whose readings need the reference's
    repairs (duplicate timestamps to average, NaN values to drop) are rare and go through
    :func:`cgm_indicators` itself; everyone else is computed with grouped reductions, which
    was most of the time of a chunk of CGM wearers.
    """
    m = int(window_start_s.size)
    nom = (
        np.full(m, float(CGM_NOMINAL_INTERVAL_S))
        if nominal_s is None
        else np.asarray(nominal_s, dtype=np.float64)
    )
    if idx.size > block_rows and m > 1:
        blocks = in_blocks(idx, m, block_rows, lambda r, k, a: cgm_many(
            idx[r] - a, t[r], value[r], is_mmol[r], window_start_s[k], window_end_s[k],
            nom[k], block_rows=block_rows,
        ))  # fmt: skip
        return [doc for block in blocks for doc in block]
    i64 = idx.astype(np.int64)
    require_sorted(i64, t, "cgm_many")
    value = value.astype(np.float64, copy=False)
    repair = _needs_repair(i64, t, value, m)
    fixed = {
        int(k): cgm_indicators(
            t[i64 == k], value[i64 == k], is_mmol[i64 == k],
            window_start_s=int(window_start_s[k]), window_end_s=int(window_end_s[k]),
            nominal_s=float(nom[k]),
        )
        for k in np.flatnonzero(repair)
    }  # fmt: skip
    if fixed:
        keep = ~repair[i64]
        i64, t, value, is_mmol = i64[keep], t[keep], value[keep], is_mmol[keep]
    at = offsets(i64, m)
    n = np.diff(at)
    active = _active_many(t, at, window_start_s, window_end_s, nom)
    ok = cgm_sufficient(window_end_s - window_start_s, active, n)
    # Bands, each reading against the edges of its own unit (counts, then % of readings).
    bands = glucose_bands(value, is_mmol)
    pct = {k: 100.0 * div(sums(b, at).astype(np.float64), n) for k, b in bands.items()}
    events = _events_many(i64, t, value, is_mmol, nom, m)
    out = _cgm_docs(ok, n, active, pct, _glycaemia_many(i64, value, is_mmol, m), events)
    for k, doc in fixed.items():
        out[k] = doc
    return out


def _events_many(
    member: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    nominal_s: npt.NDArray[np.float64],
    m: int,
) -> tuple[npt.NDArray[np.int64], ...]:
    """Level-1, level-2 and extended hypoglycaemia and hyperglycaemia events per member."""
    below, above = event_masks(value, is_mmol)
    l1, extended = glucose_events_by(
        t, below, nominal_s, member, m, ((EVENT_MIN_S, False), (EXTENDED_HYPO_S, True))
    )
    return (
        l1,
        glucose_events(t, hypo_l2_mask(value, is_mmol), nominal_s, member, m),
        extended,
        glucose_events(t, above, nominal_s, member, m),
    )


def _cgm_docs(
    ok: npt.NDArray[np.bool_],
    n: npt.NDArray[Any],
    active: npt.NDArray[np.float64],
    pct: dict[str, npt.NDArray[np.float64]],
    glyc: dict[str, npt.NDArray[Any]],
    events: tuple[npt.NDArray[np.int64], ...],
) -> list[dict[str, Any]]:
    """The stored dicts: None where the window is insufficient or a number is undefined."""
    nf, mean, sd = glyc["n"], glyc["mean"], glyc["sd"]
    has_mg, has_sd = ok & (nf > 0), ok & (nf >= 2)
    gri, zone = _gri_many(pct)
    cols = {
        "n_readings": n.tolist(),
        "active_pct": active.tolist(),
        **{k: nullable(v, ok) for k, v in pct.items()},
        "mean_mgdl": nullable(mean, has_mg),
        "sd_mgdl": nullable(sd, has_sd),
        "cv": nullable(100.0 * div(sd, np.where(mean > 0, mean, 0.0)), has_sd & (mean > 0)),
        "gmi": nullable(GMI_INTERCEPT + GMI_SLOPE * mean, has_mg),
        "gri": nullable(gri, ok),
        "gri_zone": nullable(zone, ok),
        "lbgi": nullable(glyc["lbgi"], has_mg),
        "hbgi": nullable(glyc["hbgi"], has_mg),
        "hypo_events": nullable(events[0], ok),
        "hypo_l1_events": nullable(events[0], ok),
        "hypo_l2_events": nullable(events[1], ok),
        "hypo_extended_events": nullable(events[2], ok),
        "hyper_events": nullable(events[3], ok),
        "sufficient": ok.tolist(),
    }
    rows = zip(*(cols[k] for k in CGM_KEYS), strict=True)
    return [dict(zip(CGM_KEYS, row, strict=True)) for row in rows]


# --- Ambulatory Glucose Profile ------------------------------------------------------------


def _agp_readings(
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    utc_offset_min: npt.NDArray[np.int16],
    bin_minutes: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The AGP's readings: local epoch seconds (each reading's own offset) and mg/dL, with
    duplicates averaged as in :func:`cgm_indicators` and LO/HI as 40/400 mg/dL."""
    if bin_minutes <= 0 or (24 * 60) % bin_minutes:
        raise ValueError(f"bin_minutes must divide a day, got {bin_minutes}")
    ts, g, mmol, first = _dedupe(t, value, is_mmol)
    off = np.asarray(utc_offset_min)[first].astype(np.int64)
    mg = np.where(g == -np.inf, AGP_LO_MGDL, np.where(g == np.inf, AGP_HI_MGDL, _to_mgdl(g, mmol)))
    return ts + off * 60, mg


def agp_profile(
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    utc_offset_min: npt.NDArray[np.int16],
    *,
    bin_minutes: int = 15,
) -> dict[str, list[Any]]:
    """Ambulatory Glucose Profile: mg/dL percentiles by the member's LOCAL time of day.

    Why local time: the AGP shows the daily pattern (dawn rise, meals, nocturnal lows), and
    each reading carries its own UTC offset, so a member who travels keeps a breakfast
    peak at breakfast. Duplicate timestamps are averaged (as in :func:`cgm_indicators`);
    values are converted to mg/dL with the one factor; LO/HI count as 40/400 mg/dL. The
    caller chooses the readings (the dashboard passes the last 14 days).

    Returns
    -------
    dict
        ``minute_of_day`` (bin starts, local), ``p05`` ... ``p95`` (mg/dL, None for bins
        with fewer than 5 readings) and ``n`` (readings per bin), one entry per bin.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(10, dtype=np.int64) * 86_400 + 3_600  # 01:00 UTC on 10 days
    >>> g = np.arange(10, dtype=np.float64) * 10 + 100  # 100 ... 190 mg/dL
    >>> p = agp_profile(t, g, np.zeros(10, bool), np.full(10, 480, np.int16), bin_minutes=60)
    >>> i = p["minute_of_day"].index(9 * 60)  # 01:00 UTC is 09:00 at UTC+8
    >>> p["n"][i], p["p50"][i], p["p05"][i], p["p50"][0]
    (10, 145.0, 104.5, None)
    """
    local, mg = _agp_readings(t, value, is_mmol, utc_offset_min, bin_minutes)
    nbins = 24 * 60 // bin_minutes
    b = (local % DAY_S) // (bin_minutes * 60)
    counts = np.bincount(b, minlength=nbins)
    order = np.argsort(b, kind="stable")
    edges = np.concatenate(([0], np.cumsum(counts)))
    sorted_mg = mg[order]
    names = [f"p{q:02d}" for q in AGP_PERCENTILES]
    out: dict[str, list[Any]] = {"minute_of_day": [i * bin_minutes for i in range(nbins)]}
    out.update({k: [None] * nbins for k in names})
    for i in np.flatnonzero(counts >= AGP_MIN_READINGS).tolist():
        qs = np.percentile(sorted_mg[edges[i] : edges[i + 1]], AGP_PERCENTILES)
        for k, q in zip(names, qs.tolist(), strict=True):
            out[k][i] = float(q)
    out["n"] = counts.tolist()
    return out


def daily_profiles(
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    utc_offset_min: npt.NDArray[np.int16],
    *,
    bin_minutes: int = 15,
    days: int = CGM_DAYS,
) -> list[dict[str, Any]]:
    """The AGP report's daily profiles: each local day's bin means (mg/dL), newest last.

    Why: the consensus report (Battelino 2019; docs/clinical.md, "CGM") prints each day's
    curve under the AGP, so a doctor sees which days the median hides (a night of lows, a
    missed dose). The readings are the AGP's (:func:`agp_profile`: local time, duplicates
    averaged, LO/HI as 40/400 mg/dL, so a LO still pulls its bin down), in any order; the
    last ``days`` local days with readings are kept, and a day lists only its bins with
    readings (at most 96 points, not 288 raw readings).

    >>> t = np.array([0, 300, 3600], dtype=np.int64)  # 08:00, 08:05, 09:00 at UTC+8
    >>> p = daily_profiles(t, np.array([100.0, 120.0, 5.0]), np.array([0, 0, 1], bool),
    ...                    np.full(3, 480, np.int16))
    >>> p[0]["minute_of_day"], p[0]["mgdl"]
    ([480, 540], [110.0, 90.1])
    """
    if t.size == 0:
        return []
    local, mg = _agp_readings(t, value, is_mmol, utc_offset_min, bin_minutes)
    day = local // DAY_S
    bins = (local % DAY_S) // (bin_minutes * 60)
    n_bins = 24 * 60 // bin_minutes
    out = []
    for d in np.unique(day)[-days:].tolist():
        sel = day == d
        counts = np.bincount(bins[sel], minlength=n_bins)
        sums = np.bincount(bins[sel], weights=mg[sel], minlength=n_bins)
        has = np.flatnonzero(counts)
        out.append(
            {
                "day": date(1970, 1, 1) + timedelta(days=d),
                "minute_of_day": (has * bin_minutes).tolist(),
                "mgdl": [round(m, 1) for m in (sums[has] / counts[has]).tolist()],
            }
        )
    return out
