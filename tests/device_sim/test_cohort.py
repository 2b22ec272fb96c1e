"""Cohort statistics against the published tables they were drawn from, and determinism."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from device_sim import cohort
from device_sim.cohort import AGE_BANDS, band_of, expected_prevalence, generate, generate_cohort

START = date(2026, 3, 2)


@pytest.fixture(scope="module")
def big() -> list[cohort.SimMember]:
    return generate_cohort(20_000, seed=11, start=START)


@pytest.mark.parametrize("condition", ["hypertension", "diabetes"])
def test_prevalence_by_age_band_matches_the_source_tables(
    big: list[cohort.SimMember], condition: str
) -> None:
    """Each band within 4 binomial standard errors (and 2.5 points) of the cited table."""
    ages = np.array([m.age for m in big])
    sexes = [m.sex for m in big]
    has = np.array([condition in m.conditions for m in big])
    bands = band_of(ages)
    for b in range(len(AGE_BANDS)):
        idx = np.flatnonzero(bands == b)
        expected = expected_prevalence(ages[idx].tolist(), [sexes[i] for i in idx], condition)
        se = np.sqrt(expected * (1 - expected) / idx.size)
        assert abs(has[idx].mean() - expected) <= max(4 * se, 0.025), (AGE_BANDS[b], condition)
    # Rising steeply with age, as the surveys report.
    young, old = has[bands == 0].mean(), has[bands == len(AGE_BANDS) - 1].mean()
    assert old > 4 * young


def test_crude_hypertension_prevalence_is_plausible_for_an_older_enrolee_mix(
    big: list[cohort.SimMember],
) -> None:
    htn = np.mean([("hypertension" in m.conditions) for m in big])
    # Wang 2018: 23.2 % crude in all adults; this cohort is older (stated assumption).
    assert 0.23 < htn < 0.40


def test_age_sex_and_kit(big: list[cohort.SimMember]) -> None:
    ages = np.array([m.age for m in big])
    assert ages.min() >= 18 and ages.max() < 90
    assert abs(np.mean([m.sex == "F" for m in big]) - cohort.SHARE_FEMALE) < 0.02
    for m in big[:3000]:
        types = [d.device_type for d in m.devices]
        if "hypertension" in m.conditions:
            assert "bp_cuff" in types
        if "diabetes" in m.conditions:
            assert ("cgm" in types) != ("glucometer" in types)
        else:
            assert "cgm" not in types and "glucometer" not in types
        for d in m.devices:
            assert d.validated == (d.device_type != "bp_cuffless")
            assert (d.unit is not None) == (d.device_type in ("cgm", "glucometer"))
        if m.conditions:
            assert m.clinic_id is not None
    dms = [m for m in big if "diabetes" in m.conditions]
    cgm_share = np.mean([m.device("cgm") is not None for m in dms])
    assert abs(cgm_share - cohort.SHARE_DIABETICS_WITH_CGM) < 0.04
    assert abs(np.mean([m.adherence for m in big]) - 2.4 / 3.9) < 0.01  # Beta(2.4, 1.5) mean


def test_ids_are_unique_pseudonyms(big: list[cohort.SimMember]) -> None:
    ids = [m.member_id for m in big] + [d.device_id for m in big for d in m.devices]
    assert len(ids) == len(set(ids))
    assert all(m.member_id.startswith("m-") for m in big)


def test_same_seed_same_cohort_other_seed_other_cohort() -> None:
    a, ca = generate(200, seed=3, start=START)
    b, cb = generate(200, seed=3, start=START)
    c, _ = generate(200, seed=4, start=START)
    assert [dataclasses.asdict(m) for m in a] == [dataclasses.asdict(m) for m in b]
    assert ca == cb
    assert [m.member_id for m in a] != [m.member_id for m in c]


def test_trajectories_and_treatment_shares(big: list[cohort.SimMember]) -> None:
    for name, share in cohort.TRAJECTORY_SHARE.items():
        assert abs(np.mean([m.trajectory == name for m in big]) - share) < 0.02
    htn = [m for m in big if "hypertension" in m.conditions]
    assert abs(np.mean([m.treated for m in htn]) - cohort.SHARE_HYPERTENSIVE_TREATED) < 0.03
    assert not any(m.treated for m in big if "hypertension" not in m.conditions)
