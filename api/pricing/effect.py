"""The incentive's effect on claims, measured against the randomised holdout and weighted by
its credibility: pure numpy over member-years.

Why: a discount is worth granting only if the members offered it cost the product less.
The holdout (``api.pricing.holdout_rule``) makes the comparison fair: the arms differ only
by the offer, so the difference in claims paid per member-year between them is the effect
of the offer (intention to treat: every member drawn counts in their arm, whether or not
they engaged). Claims are counted **in the product's payout** (after the deductible, the
reimbursement rates and the cap: ``api.pricing.benefits.payout``), the money the discount
must come out of.

* :func:`itt` gives, per cohort (condition group x age band) and overall, the payout per
  member-year in each arm (exposure-weighted: total paid / member-years), the savings
  (control - incentive) and a 95 % interval from the ratio estimator's variance.
* :func:`credibility` blends each estimate with a prior (a published effect, configurable)
  by Buhlmann-Straub: the exposure of a difference of two arms is ``1 / (1/w_c + 1/w_i)``
  member-years; the within variance per unit of exposure ``s2`` is pooled from the cohorts'
  sampling variances, the between-cohort variance ``a`` from the spread of their estimates,
  clamped at 0 (then ``k`` is infinite and every cohort takes the prior: the data cannot yet
  tell cohorts apart), ``k = s2 / a`` and ``Z = w / (w + k)``.
* :func:`engagement_gradient` compares engaged and non-engaged members *within* the
  incentive arm; engagement is chosen by the member, so this is confounded (the healthy and
  motivated engage more) and is reported as such, never as the effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054  # the normal quantile of 0.975


@dataclass(frozen=True)
class Estimate:
    cohort: str
    members_control: int
    members_incentive: int
    exposure_control: float  # member-years
    exposure_incentive: float
    paid_control: float  # payout per member-year, yuan
    paid_incentive: float
    savings: float  # control - incentive, per member-year
    se: float
    low: float  # 95 % interval
    high: float

    @property
    def exposure(self) -> float:
        """The exposure of the difference: 1 / (1/w_c + 1/w_i) member-years."""
        wc, wi = self.exposure_control, self.exposure_incentive
        return 0.0 if wc <= 0 or wi <= 0 else 1.0 / (1.0 / wc + 1.0 / wi)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "exposure": self.exposure}


def _ratio(y: npt.NDArray[np.float64], e: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Total / exposure and its variance (the ratio estimator's linearised variance)."""
    n, total = y.size, float(e.sum())
    if n == 0 or total <= 0:
        return float("nan"), float("nan")
    r = float(y.sum()) / total
    if n < 2:
        return r, float("nan")
    resid = y - r * e
    return r, float(n / (n - 1) * np.sum(resid * resid) / total**2)


def _estimate(label: str, control: npt.NDArray[np.bool_], e: Any, y: Any) -> Estimate:
    rc, vc = _ratio(y[control], e[control])
    ri, vi = _ratio(y[~control], e[~control])
    diff, se = rc - ri, float(np.sqrt(vc + vi))
    return Estimate(
        label, int(control.sum()), int((~control).sum()), float(e[control].sum()),
        float(e[~control].sum()), rc, ri, diff, se, diff - Z95 * se, diff + Z95 * se,
    )  # fmt: skip


def itt(
    control: npt.ArrayLike, cohort: npt.ArrayLike, exposure: npt.ArrayLike, paid: npt.ArrayLike
) -> tuple[Estimate, list[Estimate]]:
    """The overall intention-to-treat estimate and one per cohort (sorted by label).

    One entry per member-year: ``control`` (True in the control arm), its cohort label,
    its exposure in member-years (a part year counts its share) and what the product paid
    on it (yuan, in payout terms).
    """
    c = np.asarray(control, dtype=np.bool_)
    g = np.asarray(cohort).astype(str)
    e = np.asarray(exposure, dtype=np.float64)
    y = np.asarray(paid, dtype=np.float64)
    overall = _estimate("all", c, e, y)
    per = [_estimate(str(k), c[g == k], e[g == k], y[g == k]) for k in sorted(set(g.tolist()))]
    return overall, per


@dataclass(frozen=True)
class Credible:
    cohort: str
    estimate: float
    prior: float
    z: float  # the credibility of the city's own estimate, 0..1
    credible: float  # z x estimate + (1 - z) x prior, per member-year
    exposure: float


def credibility(
    per: list[Estimate], overall: Estimate, prior: float, prior_sd: float
) -> tuple[Credible, list[Credible], dict[str, float]]:
    """Buhlmann-Straub blend of each cohort's (and the overall) savings with ``prior``.

    ``s2`` (within variance per member-year) is pooled from the cohorts' sampling
    variances (an estimate's variance is ``s2 / w``); ``a`` (the variance of true cohort
    effects) from the spread of their estimates, the standard unbiased estimator. When it
    comes out at or below 0 (the data cannot tell cohorts apart yet) it is replaced by the
    prior's own variance ``prior_sd**2`` and ``a_from_prior`` says so. The overall
    estimate is blended with ``a = prior_sd**2``: how far a city's true effect may lie from
    the published one, which one city's data cannot estimate.
    """
    usable = [x for x in per if x.exposure > 0 and np.isfinite(x.se) and np.isfinite(x.savings)]
    w = np.array([x.exposure for x in usable])
    xs = np.array([x.savings for x in usable])
    s2 = float(np.sum(w * w * np.array([x.se**2 for x in usable])) / w.sum()) if usable else 0.0
    a, from_prior = prior_sd**2, 1.0
    if len(usable) >= 2:
        wt = float(w.sum())
        xbar = float(np.sum(w * xs) / wt)
        est = (float(np.sum(w * (xs - xbar) ** 2)) - (len(usable) - 1) * s2) / (
            wt - float(np.sum(w * w)) / wt
        )
        if est > 0:
            a, from_prior = est, 0.0
    parts = {"s2": s2, "a": a, "k": s2 / a if a > 0 else float("inf"), "a_from_prior": from_prior}

    def blend(x: Estimate, k: float) -> Credible:
        z = 0.0 if not np.isfinite(k) or x.exposure <= 0 else x.exposure / (x.exposure + k)
        est = x.savings if np.isfinite(x.savings) else prior
        return Credible(x.cohort, est, prior, z, z * est + (1 - z) * prior, x.exposure)

    # The overall estimate against the prior: Z = a / (a + se^2) with a = prior_sd^2 (the
    # same Z as w / (w + s2 / a)); an estimate without a usable spread (no claims, or one
    # arm of one member) carries no weight: too little data to be believed.
    se = overall.se
    ok = np.isfinite(se) and se > 0 and prior_sd > 0
    k_overall = (se**2 * overall.exposure) / prior_sd**2 if ok else float("inf")
    if not s2 > 0:
        parts["k"] = float("inf")
    return blend(overall, k_overall), [blend(x, parts["k"]) for x in per], parts


def engagement_gradient(
    engaged: npt.ArrayLike, exposure: npt.ArrayLike, paid: npt.ArrayLike
) -> dict[str, Any]:
    """Within the incentive arm: payout per member-year of members who did not engage minus
    of those who did. CONFOUNDED: who engages is chosen, not drawn; never the effect."""
    e = np.asarray(exposure, dtype=np.float64)
    y = np.asarray(paid, dtype=np.float64)
    est = _estimate("incentive arm", ~np.asarray(engaged, dtype=np.bool_), e, y)
    return {
        "not_engaged_minus_engaged": est.savings,
        "low": est.low,
        "high": est.high,
        "confounded": True,
        "why": "members choose to engage; the healthy and motivated engage more",
    }
