"""Blood-pressure variability and severe-reading indicators (pure numpy).

Why: clinics act on grade-3 readings and pricing rewards stable control; both must be
checkable against the published definitions, which live with their sources in
``scoring.indicators.rules`` (docs/clinical.md, "Blood pressure").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.indicators.rules import (
    DAY_S,
    EVENING_HOURS,
    MIN_PROTOCOL_DAYS_MONTH,
    MIN_PROTOCOL_DAYS_WINDOW,
    MORNING_HOURS,
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


def _local_days_hours(
    t: npt.NDArray[np.int64], offset_min: npt.NDArray[np.int16]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    local = t + offset_min.astype(np.int64) * 60
    return local // DAY_S, (local % DAY_S) // 3600


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
    member-local calendar months with >= 3 protocol days (no day discarded: monitoring is
    continuous, the first-day discard belongs to the start of a series).

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
    n = int(t.size)
    ts, td = float(target[0]), float(target[1])
    out: dict[str, object] = {
        "n_readings": n,
        "valid_days": 0,
        "home_mean_sys": None,
        "home_mean_dia": None,
        "target_sys": ts,
        "target_dia": td,
        "pct_in_target": None,
        "controlled": None,
        "sd_sys": None,
        "cv_sys": None,
        "arv_sys": None,
        "sd_dia": None,
        "cv_dia": None,
        "arv_dia": None,
        "protocol_days": 0,
        "protocol_weeks": 0,
        "severe_count": int(severe_mask(systolic, diastolic).sum()) if n else 0,
        "months_controlled": None,
        "months_assessed": 0,
        "sufficient": False,
    }
    if n == 0:
        return out
    day, hour = _local_days_hours(t, offset_min)
    morning = (hour >= MORNING_HOURS[0]) & (hour < MORNING_HOURS[1])
    evening = (hour >= EVENING_HOURS[0]) & (hour < EVENING_HOURS[1])
    days = np.unique(day)
    has_m = np.isin(days, day[morning])
    has_e = np.isin(days, day[evening])
    pdays = days[has_m & has_e]
    out["valid_days"] = int(days.size)
    out["protocol_days"] = int(pdays.size)
    # Weeks start on Monday: 1970-01-01 (day 0) was a Thursday.
    out["protocol_weeks"] = int(np.unique((pdays + 3) // 7).size)
    in_target = (systolic < ts) & (diastolic < td)
    out["pct_in_target"] = float(100.0 * in_target.mean())
    for name, series in (("sys", systolic), ("dia", diastolic)):
        v = variability(series)
        out[f"sd_{name}"], out[f"cv_{name}"], out[f"arv_{name}"] = v.sd, v.cv, v.arv
    proto = np.isin(day, pdays) & (morning | evening)
    # Months, member-local: datetime64 days -> months.
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    pmonth = pdays.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    assessed = controlled = 0
    for mth in np.unique(pmonth):
        if int((pmonth == mth).sum()) < MIN_PROTOCOL_DAYS_MONTH:
            continue
        sel = proto & (month == mth)
        assessed += 1
        if systolic[sel].mean() < ts and diastolic[sel].mean() < td:
            controlled += 1
    out["months_assessed"] = assessed
    out["months_controlled"] = controlled if assessed else None
    if pdays.size < MIN_PROTOCOL_DAYS_WINDOW:
        # Insufficient: counts stay (they say why), numbers are not guesses.
        for k in ("pct_in_target", "sd_sys", "cv_sys", "arv_sys", "sd_dia", "cv_dia", "arv_dia"):
            out[k] = None
        return out
    used = proto & (day != pdays[0])
    ms, md = float(systolic[used].mean()), float(diastolic[used].mean())
    out["home_mean_sys"], out["home_mean_dia"] = ms, md
    out["controlled"] = bool(ms < ts and md < td)
    out["sufficient"] = True
    return out
