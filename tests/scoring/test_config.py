"""Scoring configuration: the home BP targets by age and condition, one member and many."""

from __future__ import annotations

import numpy as np

from scoring.config import BpTargets, load_config


def test_targets_depend_on_age_and_condition() -> None:
    bt = BpTargets()
    assert bt.for_member(50, ()) == (135.0, 85.0)
    assert bt.for_member(50, ("diabetes",)) == (130.0, 80.0)
    assert bt.for_member(50, ("ckd", "hypertension")) == (130.0, 80.0)
    assert bt.for_member(80, ("diabetes",)) == (145.0, 85.0)
    assert bt.for_member(79, ()) == (135.0, 85.0)


def test_bp_targets_for_many_members_equal_for_member() -> None:
    t = load_config(None).bp_targets
    ages = np.array([40, 79, 80, 95, 60, 60, 30])
    conds = [(), ("diabetes",), ("diabetes",), (), ("ckd",), ("hypertension",), ("diabetes", "ckd")]
    many = t.for_members(ages, conds)
    assert many.shape == (7, 2)
    assert [tuple(r) for r in many.tolist()] == [
        t.for_member(int(a), c) for a, c in zip(ages, conds, strict=True)
    ]
    assert t.for_members(np.zeros(0, dtype=np.int64), []).shape == (0, 2)
