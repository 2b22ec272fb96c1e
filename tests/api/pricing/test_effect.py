"""The effect estimator recovers a known simulated effect, reports none when there is
none, and blends with a prior by Buhlmann-Straub as computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from api.pricing import effect

COHORTS = np.array(["ht|50-59", "ht|60-69", "dm|50-59", "dm|60-69", "none|50-59"])
MEAN_PAID = 1291.0  # yuan per admission after deductible and reimbursement (the review)


def _book(seed: int, n: int, p_control: float, p_incentive: float) -> tuple[np.ndarray, ...]:
    """Member-years: 10 % control; admissions Bernoulli, paid lognormal with the mean above;
    a tenth of members enrolled for half the year (exposure 0.5, admission chance halved)."""
    rng = np.random.default_rng(seed)
    control = rng.random(n) < 0.10
    cohort = COHORTS[rng.integers(0, COHORTS.size, n)]
    exposure = np.where(rng.random(n) < 0.1, 0.5, 1.0)
    p = np.where(control, p_control, p_incentive) * exposure
    sigma = 1.0
    paid = (rng.random(n) < p) * rng.lognormal(np.log(MEAN_PAID) - sigma**2 / 2, sigma, n)
    return control, cohort, exposure, paid


def test_a_known_effect_is_recovered_within_its_interval() -> None:
    """True savings per member-year: (0.10 - 0.08) x 1,291 = 25.82 yuan. Its 95 % interval
    covers it in at least 45 of 50 seeded books, and the point estimates centre on it."""
    truth = (0.10 - 0.08) * MEAN_PAID
    hits, points = 0, []
    for seed in range(50):
        overall, per = effect.itt(*_book(seed, 40_000, 0.10, 0.08))
        hits += overall.low <= truth <= overall.high
        points.append(overall.savings)
        assert (
            len(per) == COHORTS.size
            and sum(x.members_control for x in per) == overall.members_control
        )
    assert hits >= 45, hits
    assert abs(np.mean(points) - truth) < 0.2 * truth


def test_no_effect_is_reported_as_none() -> None:
    """Same admission chance in both arms: the interval covers 0 as a 95 % interval should
    (47.5 of 50 on average; at least 43, the binomial 0.3 % lower tail: these seeds give
    44, the heavy-tailed payouts make the normal interval a little narrow), and the point
    estimates centre on 0."""
    covers, points = 0, []
    for seed in range(50):
        overall, _ = effect.itt(*_book(1000 + seed, 40_000, 0.09, 0.09))
        covers += overall.low <= 0 <= overall.high
        points.append(overall.savings)
    assert covers >= 43, covers
    assert abs(np.mean(points)) < 5.0  # yuan per member-year, against a 0 truth


def test_exposure_weighting_and_the_ratio_estimator_by_hand() -> None:
    overall, _ = effect.itt(
        [True, True, False, False, False], ["a"] * 5, [1.0, 0.5, 1.0, 1.0, 0.5], [300, 0, 100, 0, 0]
    )
    assert overall.paid_control == pytest.approx(200.0)  # 300 yuan over 1.5 member-years
    assert overall.paid_incentive == pytest.approx(40.0)  # 100 over 2.5
    assert overall.savings == pytest.approx(160.0)
    assert overall.exposure == pytest.approx(1 / (1 / 1.5 + 1 / 2.5))


def test_buhlmann_straub_by_hand() -> None:
    """Two cohorts with known estimates and standard errors: s2, a, k and Z as computed by
    hand from the formulas in the module docstring."""

    def est(label: str, x: float, se: float, w: float) -> effect.Estimate:
        # exposure_control = exposure_incentive = 2w gives a difference exposure of w.
        return effect.Estimate(label, 10, 10, 2 * w, 2 * w, 0.0, 0.0, x, se, x - 1, x + 1)

    per = [est("a", 40.0, 10.0, 100.0), est("b", 0.0, 10.0, 100.0)]
    s2 = (100**2 * 100 + 100**2 * 100) / 200  # sum w^2 se^2 / sum w = 10,000
    xbar = 20.0
    a = (100 * (40 - xbar) ** 2 + 100 * (0 - xbar) ** 2 - 1 * s2) / (200 - (100**2 * 2) / 200)
    k = s2 / a  # 10,000 / 700
    overall = est("all", 20.0, 5.0, 200.0)
    top, cohorts, parts = effect.credibility(per, overall, prior=10.0, prior_sd=10.0)
    assert parts["s2"] == pytest.approx(s2) and parts["a"] == pytest.approx(a)
    assert parts["a_from_prior"] == 0.0
    z = 100 / (100 + k)
    assert cohorts[0].z == pytest.approx(z)
    assert cohorts[0].credible == pytest.approx(z * 40 + (1 - z) * 10)
    # The overall against the prior: Z = a / (a + se^2), a = prior_sd^2 = 100, se = 5.
    z_all = 100 / (100 + 5**2)
    assert top.z == pytest.approx(z_all) and top.credible == pytest.approx(
        z_all * 20 + (1 - z_all) * 10
    )
    # Cohorts the data cannot tell apart: a from the prior, and said so.
    same = [est("a", 20.0, 10.0, 100.0), est("b", 20.0, 10.0, 100.0)]
    _, _, parts = effect.credibility(same, overall, prior=10.0, prior_sd=10.0)
    assert parts["a_from_prior"] == 1.0 and parts["a"] == 100.0
    # No spread at all (no claims): no weight, the prior stands.
    flat = effect.Estimate("all", 10, 10, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    top, _, _ = effect.credibility([flat], flat, prior=10.0, prior_sd=10.0)
    assert top.z == 0.0 and top.credible == 10.0


def test_the_engagement_gradient_is_labelled_confounded() -> None:
    g = effect.engagement_gradient([True, False, False], [1.0, 1.0, 1.0], [0.0, 500.0, 100.0])
    assert g["confounded"] is True and g["not_engaged_minus_engaged"] == pytest.approx(300.0)
