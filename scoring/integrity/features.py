"""Member-day and member-week features for the integrity rules and model (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DAY_S = 86_400
# An interval counts as "active" from 100 steps (a couple of minutes of walking).
ACTIVE_INTERVAL_STEPS = 100


@dataclass(frozen=True)
class ActivityDay:
    day: int  # member-local day number
    total_steps: float
    n_active: int  # intervals with >= 100 steps
    cadence_cv: float  # CV of steps across active intervals (NaN with < 2)
    same_share: float  # share of active intervals equal to the most common count
    n_hr: int  # intervals with a heart rate
    hr_sd: float
    hr_steps_corr: float  # Pearson r between steps and heart rate (NaN if undefined)

    def vector(self) -> list[float]:
        """Model input: NaNs become neutral values (the model must not learn 'missing')."""
        return [
            float(np.log1p(self.total_steps)),
            0.5 if self.cadence_cv != self.cadence_cv else self.cadence_cv,
            self.same_share,
            0.5 if self.hr_steps_corr != self.hr_steps_corr else self.hr_steps_corr,
            5.0 if self.hr_sd != self.hr_sd else self.hr_sd,
        ]


def activity_days(
    start: npt.NDArray[np.int64],
    off: npt.NDArray[np.int16],
    steps: npt.NDArray[np.int64],
    heart_rate: npt.NDArray[np.float64],  # NaN where the device sent none
) -> list[ActivityDay]:
    """One member's interval records -> one feature row per local day."""
    if start.size == 0:
        return []
    day = (start + off.astype(np.int64) * 60) // DAY_S
    out = []
    for d in np.unique(day):
        sel = day == d
        s = steps[sel].astype(np.float64)
        hr = heart_rate[sel]
        act = s[s >= ACTIVE_INTERVAL_STEPS]
        cv = float(act.std(ddof=1) / act.mean()) if act.size >= 2 and act.mean() > 0 else np.nan
        if act.size:
            _, counts = np.unique(act, return_counts=True)
            same = float(counts.max() / act.size)
        else:
            same = 0.0
        has = ~np.isnan(hr)
        n_hr = int(has.sum())
        hr_sd = float(hr[has].std(ddof=1)) if n_hr >= 2 else np.nan
        corr = np.nan
        if n_hr >= 3 and s[has].std() > 0 and hr[has].std() > 0:
            corr = float(np.corrcoef(s[has], hr[has])[0, 1])
        out.append(ActivityDay(int(d), float(s.sum()), int(act.size), cv, same, n_hr, hr_sd, corr))
    return out


@dataclass(frozen=True)
class BpWeek:
    week: int  # Monday-based week number (day 0, 1970-01-01, was a Thursday)
    n: int
    sd_sys: float
    identical_share: float  # readings equal (sys, dia, pulse) to the one before
    split_gap: float  # largest gap in sorted systolic with >= 30 % of readings each side
    max_per_hour: int  # most readings from the device in one clock hour


def bp_weeks(
    t: npt.NDArray[np.int64],
    off: npt.NDArray[np.int16],
    systolic: npt.NDArray[np.float64],
    diastolic: npt.NDArray[np.float64],
    pulse: npt.NDArray[np.float64],
) -> list[BpWeek]:
    """One device's (or member's) time-ordered readings -> one feature row per week."""
    if t.size == 0:
        return []
    local = t + off.astype(np.int64) * 60
    week = (local // DAY_S + 3) // 7
    out = []
    for w in np.unique(week):
        sel = week == w
        s, d, p = systolic[sel], diastolic[sel], pulse[sel]
        n = int(s.size)
        sd = float(s.std(ddof=1)) if n >= 2 else np.nan
        same = (s[1:] == s[:-1]) & (d[1:] == d[:-1]) & ((p[1:] == p[:-1]) | np.isnan(p[1:]))
        ident = float(same.sum() / (n - 1)) if n >= 2 else 0.0
        gap = 0.0
        if n >= 2:
            ss = np.sort(s)
            k = np.arange(1, n)
            ok = (k >= 0.3 * n) & (n - k >= 0.3 * n)
            if ok.any():
                gap = float(np.diff(ss)[ok[: n - 1]].max())
        _, per_hour = np.unique(local[sel] // 3600, return_counts=True)
        out.append(BpWeek(int(w), n, sd, ident, gap, int(per_hour.max())))
    return out
