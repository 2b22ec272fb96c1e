"""Blood-pressure variability and severe-reading indicators (pure numpy).

Why: clinics act on grade-3 readings and pricing rewards stable control; both must be
checkable against the published definitions cited next to each constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Grade 3 hypertension: systolic >= 180 or diastolic >= 110 mmHg
# (Chinese hypertension guideline 2024; CLINICAL.md "Blood pressure").
SEVERE_SYS_MMHG: float = 180.0
SEVERE_DIA_MMHG: float = 110.0


@dataclass(frozen=True)
class Variability:
    """Sample SD (n - 1), CV (%) and average real variability; None when undefined."""

    sd: float | None
    cv: float | None
    arv: float | None


def variability(values: npt.ArrayLike) -> Variability:
    """Return SD, CV and ARV of a time-ordered BP series.

    ARV = sum |x[k+1] - x[k]| / (n - 1) (Mena et al., J Hypertens 2005); SD is the sample
    SD (n - 1, CLINICAL.md decision); CV = 100 * SD / mean. Fewer than two readings give
    None for all three: "insufficient" is a state, not a number.

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


def severe_mask(systolic: npt.ArrayLike, diastolic: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Return a boolean mask of grade-3 readings (systolic >= 180 or diastolic >= 110).

    Examples
    --------
    >>> severe_mask([179, 180, 150], [109, 90, 110]).tolist()
    [False, True, True]
    """
    s = np.asarray(systolic, dtype=np.float64)
    d = np.asarray(diastolic, dtype=np.float64)
    return np.asarray((s >= SEVERE_SYS_MMHG) | (d >= SEVERE_DIA_MMHG), dtype=np.bool_)
