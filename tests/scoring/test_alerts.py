"""A chunk's alert rows: grade-3 BP (validated or not) and level-2 lows, one per CGM run."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from scoring.alerts import bp_alerts, hypo_alerts

GLU = [("idx", "i4"), ("t", "i8"), ("off", "i2"), ("v", "f8"), ("mmol", "?"), ("cgm", "?"),
       ("meal", "i2")]  # fmt: skip
BP = [("idx", "i4"), ("t", "i8"), ("off", "i2"), ("sys", "i2"), ("dia", "i2"), ("ok", "?")]
T0 = 1_780_000_000


def test_bp_alerts_are_critical_when_validated_and_warnings_otherwise() -> None:
    b = np.array(
        [(0, T0, 480, 179, 109, True), (0, T0 + 60, 480, 181, 90, True),
         (1, T0, 480, 150, 112, False)],
        dtype=BP,
    )  # fmt: skip
    got = bp_alerts(["a", "b"], b)
    assert [(a.member_id, a.kind, a.severity) for a in got] == [
        ("a", "bp_grade3", "critical"),
        ("b", "bp_grade3_unvalidated", "warning"),
    ]
    assert got[0].observed_at == datetime.fromtimestamp(T0 + 60, UTC)
    assert got[1].detail == {"systolic": 150, "diastolic": 112, "validated": False}


def test_hypo_alerts_one_per_cgm_run_and_one_per_low_fingerstick() -> None:
    ninf = float("-inf")
    g = np.array(
        [
            (0, T0, 480, 50.0, False, True, 0),  # a CGM run of three lows: one alert
            (0, T0 + 300, 480, 45.0, False, True, 0),
            (0, T0 + 600, 480, ninf, False, True, 0),
            (0, T0 + 900, 480, 80.0, False, True, 0),
            (0, T0 + 1200, 480, 2.9, True, False, 1),  # a fingerstick: its own alert
            (1, T0 + 1500, 480, 53.9, False, True, 0),  # another member: a new run
        ],
        dtype=GLU,
    )
    got = hypo_alerts(["a", "b"], g)
    assert [(a.member_id, a.observed_at.timestamp() - T0) for a in got] == [
        ("a", 0), ("a", 1200), ("b", 1500),
    ]  # fmt: skip
    assert got[1].detail == {"value": 2.9, "censored": None, "unit": "mmol/L", "method": "smbg"}
    assert all(a.kind == "hypo_level2" and a.severity == "critical" for a in got)
    assert hypo_alerts(["a"], g[3:4]) == []
