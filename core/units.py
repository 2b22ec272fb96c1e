"""Glucose units: the one conversion factor, and the unit strings devices may report.

Classification always happens in the unit the device reported (see ``scoring``); this
factor is used only for means, SD and derived formulas (GMI, LBGI/HBGI, GRI inputs).
"""

from __future__ import annotations

from typing import Final, Literal

MG_DL: Final = "mg/dL"
MMOL_L: Final = "mmol/L"
GlucoseUnit = Literal["mg/dL", "mmol/L"]

# mg/dL = mmol/L x 18.01559 (glucose molar mass 180.156 g/mol / 10); the factor Tidepool
# uses (tidepool-org/platform data/blood/glucose). docs/clinical.md, "Glucose units".
MGDL_PER_MMOLL: Final = 18.01559

# Spellings seen on devices and in Open mHealth data, normalised to the two canonical units.
UNIT_ALIASES: Final[dict[str, GlucoseUnit]] = {
    "mg/dl": "mg/dL",
    "mgdl": "mg/dL",
    "mg/dL": "mg/dL",
    "mmol/l": "mmol/L",
    "mmol/L": "mmol/L",
    "mmoll": "mmol/L",
}


def to_mg_dl(value: float, unit: GlucoseUnit) -> float:
    """Convert a glucose value to mg/dL (for averaging, never for classifying)."""
    return value if unit == MG_DL else value * MGDL_PER_MMOLL
