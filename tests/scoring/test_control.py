"""The control block: one status per own condition, the same one everywhere it is read."""

from __future__ import annotations

from typing import Any

import pytest

from scoring.control import MORNING_HIGH_ATTAINMENT, control_block


def _cgm(tir: float, tbr70: float, tbr54: float, l2: int = 0) -> dict[str, Any]:
    return {"sufficient": True, "tir": tir, "tbr70": tbr70, "tbr54": tbr54, "hypo_l2_events": l2}


def test_over_treatment_is_not_controlled_and_says_why() -> None:
    block = control_block(("diabetes",), 60, {"cgm": _cgm(86.0, 5.7, 2.1, l2=16)})
    d = block["diabetes"]
    assert (d["status"], d["attainment"], d["source"]) == ("not_controlled", 0.0, "cgm")
    assert "hypoglycaemia" in d["reason_en"] and "16 level-2" in d["reason_en"]
    assert "低血糖" in d["reason_zh"]


@pytest.mark.parametrize(
    ("age", "tir", "tbr70", "status", "attainment"),
    [
        (60, 70.0, 3.9, "controlled", 1.0),
        (60, 55.0, 1.0, "not_controlled", 0.5),  # half way up the 40 -> 70 ramp
        (60, 90.0, 4.0, "not_controlled", 0.0),  # 4 % below 70 is not under 4 %
        (70, 55.0, 0.9, "controlled", 1.0),  # older: TIR > 50 %, TBR < 1 %
        (70, 90.0, 1.0, "not_controlled", 0.0),
    ],
)
def test_cgm_targets_by_age(
    age: int, tir: float, tbr70: float, status: str, attainment: float
) -> None:
    d = control_block(("diabetes",), age, {"cgm": _cgm(tir, tbr70, 0.0)})["diabetes"]
    assert (d["status"], d["attainment"]) == (status, attainment)


def test_fingerstick_only_diabetes_is_assessed() -> None:
    """12 fasting checks a quarter, 10 in target: controlled, not grey."""
    smbg = {"sufficient": True, "pct_fasting_in_target": 83.3, "n_fasting": 12, "hypo_l2": 0}
    d = control_block(("diabetes",), 66, {"smbg": smbg})["diabetes"]
    assert (d["status"], d["source"], d["attainment"]) == ("controlled", "smbg", 1.0)
    d = control_block(("diabetes",), 66, {"smbg": {**smbg, "hypo_l2": 1}})["diabetes"]
    assert (d["status"], d["attainment"]) == ("not_controlled", 0.0)
    d = control_block(("diabetes",), 66, {"smbg": {**smbg, "pct_fasting_in_target": 35.0}})
    assert d["diabetes"]["status"] == "not_controlled" and d["diabetes"]["attainment"] == 0.5


def test_no_data_is_insufficient_never_bad() -> None:
    block = control_block(("hypertension", "diabetes", "hyperlipidaemia"), 50, {})
    assert {c: (e["status"], e["attainment"]) for c, e in block.items()} == {
        "hypertension": ("insufficient", None),
        "diabetes": ("insufficient", None),
        "hyperlipidaemia": ("insufficient", None),
    }
    assert control_block((), 50, {"cgm": _cgm(90, 0, 0)}) == {}  # only own conditions


def test_home_bp_months_and_morning_hypertension() -> None:
    bp = {"sufficient": True, "controlled": True, "months_assessed": 3, "months_controlled": 3}
    d = control_block(("hypertension",), 60, {"bp": bp})["hypertension"]
    assert (d["status"], d["attainment"], d["source"]) == ("controlled", 1.0, "home_bp")
    d = control_block(("ckd",), 60, {"bp": {**bp, "morning_above_target": True}})["ckd"]
    assert d["status"] == "not_controlled" and d["attainment"] == MORNING_HIGH_ATTAINMENT
    assert "morning" in d["reason_en"]


def test_hyperlipidaemia_by_ldl_else_statin_adherence() -> None:
    ldl = {"sufficient": True, "value": 3.1, "unit": "mmol/L", "target": 2.6, "controlled": False}
    d = control_block(("hyperlipidaemia",), 60, {"ldl_c": ldl})["hyperlipidaemia"]
    assert (d["status"], d["source"], d["attainment"]) == ("not_controlled", "ldl_c", 0.0)
    statin = {"statin": {"pdc": 0.9, "adherent": True, "sufficient": True}}
    d = control_block(("hyperlipidaemia",), 60, {"adherence": statin})["hyperlipidaemia"]
    assert (d["status"], d["source"], d["attainment"]) == ("controlled", "statin_adherence", 1.0)


def test_home_data_wins_over_clinic_data() -> None:
    bp = {"sufficient": True, "controlled": False, "months_assessed": 2, "months_controlled": 0}
    office = {"sufficient": True, "controlled": True, "mean_sys": 120.0, "mean_dia": 70.0,
              "visits": 2, "target_sys": 140.0, "target_dia": 90.0}  # fmt: skip
    d = control_block(("hypertension",), 60, {"bp": bp, "office_bp": office})["hypertension"]
    assert d["source"] == "home_bp" and d["status"] == "not_controlled"
    d = control_block(("hypertension",), 60, {"office_bp": office})["hypertension"]
    assert (d["source"], d["status"], d["attainment"]) == ("office_bp", "controlled", 1.0)
