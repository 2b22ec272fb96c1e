"""CGM indicators and the AGP, classified in the unit the device reported (pure numpy).

Why: 13.9 mmol/L is 250.4 mg/dL, so converting before classifying moves readings across
bands; each reading is compared against the thresholds of its own unit and converted (one
factor, ``core.units.MGDL_PER_MMOLL``) only for means, SD and formulas (docs/clinical.md,
"Glucose units"). The thresholds and the event rule live in ``scoring.indicators.rules``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from core.units import MGDL_PER_MMOLL
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
    CGM_FALLBACK_INTERVAL_S,
    DAY_S,
    GMI_INTERCEPT,
    GMI_SLOPE,
    GRI_WEIGHTS,
    GRI_ZONES,
    cgm_sufficient,
    count_events,
    event_masks,
    glucose_bands,
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
    "hyper_events",
    "sufficient",
)


def _dedupe(
    t: npt.NDArray[np.int64], value: npt.NDArray[np.float64], is_mmol: npt.NDArray[np.bool_]
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.intp]
]:
    """Sort by time and average readings that share a timestamp (decision: docs/clinical.md, "CGM").

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


def _interval_s(t: npt.NDArray[np.int64]) -> float:
    """Median sampling interval in seconds (deduplicated, sorted times)."""
    if t.size < 2:
        return float(CGM_FALLBACK_INTERVAL_S)
    return float(np.median(np.diff(t)))


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


def cgm_indicators(
    t: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    is_mmol: npt.NDArray[np.bool_],
    *,
    window_start_s: int,
    window_end_s: int,
) -> dict[str, Any]:
    """Stored-contract ``cgm`` for one member over ``[window_start_s, window_end_s)``.

    Why: clinics and pricing act on the consensus CGM metrics, so each follows its
    published definition and nothing is reported from too little data: with a window
    shorter than 14 days or less than 70 % of possible readings present (Battelino 2019),
    every metric is None and only ``n_readings`` and ``active_pct`` say why.

    Parameters
    ----------
    t : epoch seconds, ascending (duplicates are averaged, docs/clinical.md "CGM").
    value : glucose in the unit the device reported; censored LO = -inf, HI = +inf.
    is_mmol : per reading, True for mmol/L.
    window_start_s, window_end_s : the window, epoch seconds, end exclusive.

    Notes
    -----
    * ``n_readings`` counts distinct timestamps after averaging duplicates.
    * ``active_pct`` = 100 x (readings inside the window) / (window length / median
      sampling interval), capped at 100; gaps count as missing.
    * Bands (``tir`` ... ``titr``) are percentages of readings, each classified in its own
      unit (:func:`time_in_ranges`); LO/HI count in the extreme bands.
    * Mean, sample SD (n - 1), CV, GMI, LBGI and HBGI use the uncensored readings converted
      to mg/dL with the one factor 18.01559; LO/HI are excluded from them (their value is
      unknown), which understates risk a little when they occur.
    * GRI uses the band percentages (VLow = tbr54, Low = tbr70 - tbr54, High = tar180 -
      tar250, VHigh = tar250), so LO/HI do count there.
    * Events: :func:`scoring.indicators.rules.glucose_events`, level-1 thresholds in the
      reading's own unit.

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
    dt = _interval_s(ts)
    span = int(window_end_s) - int(window_start_s)
    inside = int(np.count_nonzero((ts >= window_start_s) & (ts < window_end_s)))
    active = min(100.0, 100.0 * inside * dt / span) if span > 0 else 0.0
    out: dict[str, Any] = dict.fromkeys(CGM_KEYS)
    out.update(n_readings=n, active_pct=active, sufficient=False)
    if not cgm_sufficient(span, active, n):
        return out
    out.update(time_in_ranges(g, mmol))
    finite = np.isfinite(g)
    mg = _to_mgdl(g[finite], mmol[finite])
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
        out["cv"] = 100.0 * sd / out["mean_mgdl"] if out["mean_mgdl"] > 0 else None
    vlow, high = out["tbr54"], out["tar180"] - out["tar250"]
    low, vhigh = out["tbr70"] - out["tbr54"], out["tar250"]
    w = GRI_WEIGHTS
    gri = min(100.0, w[0] * vlow + w[1] * low + w[2] * vhigh + w[3] * high)
    out["gri"], out["gri_zone"] = gri, gri_zone(gri)
    hypo, hyper = event_masks(g, mmol)
    out["hypo_events"] = count_events(ts, hypo, dt)
    out["hyper_events"] = count_events(ts, hyper, dt)
    out["sufficient"] = True
    return out


# --- Ambulatory Glucose Profile ------------------------------------------------------------


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
    if bin_minutes <= 0 or (24 * 60) % bin_minutes:
        raise ValueError(f"bin_minutes must divide a day, got {bin_minutes}")
    ts, g, mmol, first = _dedupe(t, value, is_mmol)
    off = np.asarray(utc_offset_min)[first].astype(np.int64)
    mg = np.where(g == -np.inf, AGP_LO_MGDL, np.where(g == np.inf, AGP_HI_MGDL, _to_mgdl(g, mmol)))
    nbins = 24 * 60 // bin_minutes
    b = ((ts + off * 60) % DAY_S) // (bin_minutes * 60)
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
