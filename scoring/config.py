"""Configurable clinical targets and composite weights, with cited defaults.

Why: targets depend on age and condition and a city (or a clinic's physicians) may adopt
stricter ones; they are data, loaded from one TOML file named by ``WELLRATE_SCORING_CONFIG``,
never edited in code. Every score row records the algorithm version; a changed config is
part of the deployment's record (docs/scoring.md).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.indicators.rules import (
    HOME_TARGET_DIABETES_CKD_MMHG,
    HOME_TARGET_MMHG,
    HOME_TARGET_OLDER_AGE,
    HOME_TARGET_OLDER_MMHG,
)


@dataclass(frozen=True)
class BpTargets:
    """Home BP control targets, mmHg, strictly below (docs/clinical.md, "Blood pressure").

    The defaults and their sources are in ``scoring.indicators.rules``: Chinese
    hypertension guideline 2024, home >= 135/85 is hypertension, so the default home
    target is < 135/85; with diabetes or chronic kidney disease < 130/80; at age >= 80 a
    relaxed < 145/85. Age takes precedence: over-treatment of the very old is the risk the
    relaxed target exists for.
    """

    default: tuple[float, float] = HOME_TARGET_MMHG
    diabetes_or_ckd: tuple[float, float] = HOME_TARGET_DIABETES_CKD_MMHG
    older: tuple[float, float] = HOME_TARGET_OLDER_MMHG
    older_age: int = HOME_TARGET_OLDER_AGE

    def for_member(self, age: int, conditions: tuple[str, ...]) -> tuple[float, float]:
        if age >= self.older_age:
            return self.older
        if "diabetes" in conditions or "ckd" in conditions:
            return self.diabetes_or_ckd
        return self.default

    def for_members(
        self, ages: npt.NDArray[np.int64], conditions: Sequence[tuple[str, ...]]
    ) -> npt.NDArray[np.float64]:
        """:meth:`for_member` of many members at once: an M x 2 array (systolic, diastolic)."""
        sugar = np.array(
            ["diabetes" in c or "ckd" in c for c in conditions], dtype=np.bool_
        ).reshape(-1, 1)
        older = (ages >= self.older_age).reshape(-1, 1)
        out: npt.NDArray[np.float64] = np.where(
            older,
            np.array(self.older, dtype=np.float64),
            np.where(sugar, np.array(self.diabetes_or_ckd, dtype=np.float64),
                     np.array(self.default, dtype=np.float64)),
        ).reshape(-1, 2)  # fmt: skip
        return out


# Decision (docs/scoring.md "Composite"): the weights of the components that apply to a
# member. Control of the member's own condition carries the most; activity and
# engagement apply to everyone, so a healthy member is scored on them alone.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "hypertension+diabetes": {"bp": 0.3, "glucose": 0.3, "activity": 0.2, "engagement": 0.2},
    "hypertension": {"bp": 0.5, "activity": 0.25, "engagement": 0.25},
    "diabetes": {"glucose": 0.5, "activity": 0.25, "engagement": 0.25},
    "none": {"activity": 0.6, "engagement": 0.4},
}


@dataclass(frozen=True)
class ScoringConfig:
    bp_targets: BpTargets = field(default_factory=BpTargets)
    weights: dict[str, dict[str, float]] = field(default_factory=lambda: DEFAULT_WEIGHTS)

    def weights_for(self, conditions: tuple[str, ...]) -> dict[str, float]:
        ht, dm = "hypertension" in conditions, "diabetes" in conditions
        key = (
            "hypertension+diabetes"
            if ht and dm
            else "hypertension"
            if ht
            else ("diabetes" if dm else "none")
        )
        return self.weights[key]


class ConfigError(ValueError):
    """A scoring config file that does not validate; the message names the field."""


def load_config(path: str | Path | None) -> ScoringConfig:
    """Read a TOML override of the defaults; ``None`` gives the defaults.

    Example file: ``[bp_targets] default = [135, 85]`` and ``[weights.none] activity =
    0.5, engagement = 0.5``. Weights of each set must sum to 1.
    """
    cfg = ScoringConfig()
    if path is None:
        return cfg
    doc: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    bt = doc.get("bp_targets", {})
    known = {f.name for f in fields(BpTargets)}
    for k in bt:
        if k not in known:
            raise ConfigError(f"bp_targets.{k}: unknown key")
    targets = cfg.bp_targets
    for k, v in bt.items():
        if k == "older_age":
            targets = replace(targets, older_age=int(v))
        elif isinstance(v, list) and len(v) == 2:
            pair = (float(v[0]), float(v[1]))
            targets = replace(
                targets,
                default=pair if k == "default" else targets.default,
                diabetes_or_ckd=pair if k == "diabetes_or_ckd" else targets.diabetes_or_ckd,
                older=pair if k == "older" else targets.older,
            )
        else:
            raise ConfigError(f"bp_targets.{k}: must be [systolic, diastolic]")
    weights = dict(cfg.weights)
    for key, ws in doc.get("weights", {}).items():
        if key not in DEFAULT_WEIGHTS:
            raise ConfigError(f"weights.{key}: unknown condition set")
        if abs(sum(float(w) for w in ws.values()) - 1.0) > 1e-9:
            raise ConfigError(f"weights.{key}: weights must sum to 1")
        weights[key] = {str(k): float(w) for k, w in ws.items()}
    return ScoringConfig(bp_targets=targets, weights=weights)
