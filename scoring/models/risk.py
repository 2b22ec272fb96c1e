"""The risk model: calibrated probability of a hospitalisation next year, and its cost.

Why these features: they are what the stored score rows say about control (home systolic
mean, CGM time in range, daily steps) plus demographics and conditions, expressed so that
a logistic model is linear in them (per 10 mmHg, per 10 points of TIR below 70, per 1,000
steps below 7,000). A domain with too little data is a MISSING value with its own
indicator column, never a zero: "insufficient" is not "bad" (a fairness rule: too little
data says nothing about a member's control).

scikit-learn conventions: an estimator with ``fit``/``predict_proba``, learned
attributes with a trailing underscore, ``random_state`` passed down, no I/O inside.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

FEATURES: tuple[str, ...] = (
    "age_decades_over_60",
    "female",
    "hypertension",
    "diabetes",
    "ckd",
    "sbp_per_10_over_130",
    "tir_per_10_below_70",
    "steps_per_1000_below_7000",
)
# Steps above 7,000 add little (Paluch 2022); the feature saturates at 5,000 below.
STEPS_REF = 7000.0
STEPS_SPAN = 5000.0
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 45, "<45"),
    (45, 60, "45-59"),
    (60, 70, "60-69"),
    (70, 200, "70+"),
)


@dataclass(frozen=True)
class MemberFeatures:
    """What the model sees of one member: demographics and the experience-year indicators."""

    age: int
    sex: str
    conditions: tuple[str, ...]
    indicators: Mapping[str, Any]


def _suff(ind: Mapping[str, Any], domain: str, key: str) -> float:
    d = ind.get(domain)
    if not isinstance(d, Mapping) or not d.get("sufficient"):
        return float("nan")
    v = d.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else float("nan")


def feature_matrix(rows: Sequence[MemberFeatures]) -> npt.NDArray[np.float64]:
    """One row per member, columns FEATURES; NaN where a domain had too little data."""
    x = np.full((len(rows), len(FEATURES)), np.nan)
    for i, r in enumerate(rows):
        sbp = _suff(r.indicators, "bp", "home_mean_sys")
        tir = _suff(r.indicators, "cgm", "tir")
        steps = _suff(r.indicators, "activity", "median_steps")
        dm = "diabetes" in r.conditions
        x[i] = (
            (r.age - 60) / 10.0,
            1.0 if r.sex == "F" else 0.0,
            1.0 if "hypertension" in r.conditions else 0.0,
            1.0 if dm else 0.0,
            1.0 if "ckd" in r.conditions else 0.0,
            (sbp - 130.0) / 10.0,
            # Only diabetics wear CGMs; for others time in range carries no risk (0, known).
            ((70.0 - tir) / 10.0) if dm else 0.0,
            np.clip(STEPS_REF - steps, 0.0, STEPS_SPAN) / 1000.0 if steps == steps else np.nan,
        )
    return x


def age_band(age: int) -> str:
    return next(label for lo, hi, label in AGE_BANDS if lo <= age < hi)


def _base(random_state: int) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", StandardScaler()),
            ("lr", LogisticRegression(C=1.0, max_iter=2000, random_state=random_state)),
        ]
    )


class RiskModel:
    """Calibrated hospitalisation probability plus the mean cost of an admission by age band.

    ``fit(X, y, cost, ages)``: X from :func:`feature_matrix`, y whether the member was
    admitted in the following year, cost the claim amount (0 when not admitted). The
    probability is Platt-calibrated with 3-fold cross-validation (``CalibratedClassifierCV``
    over the whole pipeline); ``coef_per_unit_`` holds the uncalibrated pipeline's
    log-odds per feature unit, which is what tests compare with the simulator's truth.
    """

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(
        self,
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.bool_],
        cost: npt.NDArray[np.float64],
        ages: npt.NDArray[np.int64],
    ) -> RiskModel:
        yy = np.asarray(y, dtype=np.int64)
        self.calibrated_ = CalibratedClassifierCV(
            _base(self.random_state), method="sigmoid", cv=3
        ).fit(x, yy)
        base = _base(self.random_state).fit(x, yy)
        lr: LogisticRegression = base.named_steps["lr"]
        scale: StandardScaler = base.named_steps["scale"]
        k = len(FEATURES)
        self.coef_per_unit_ = dict(
            zip(FEATURES, (lr.coef_[0][:k] / scale.scale_[:k]).tolist(), strict=True)
        )
        admitted = yy == 1
        overall = float(cost[admitted].mean()) if admitted.any() else 0.0
        self.cost_by_band_: dict[str, float] = {}
        for _lo, _hi, label in AGE_BANDS:
            sel = admitted & np.array([age_band(int(a)) == label for a in ages])
            # A band with few admissions borrows the overall mean (decision: >= 30).
            self.cost_by_band_[label] = float(cost[sel].mean()) if sel.sum() >= 30 else overall
        self.n_train_ = int(yy.size)
        return self

    def predict_proba(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        p: npt.NDArray[np.float64] = self.calibrated_.predict_proba(x)[:, 1]
        return p

    def expected_cost(
        self, x: npt.NDArray[np.float64], ages: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Expected claim cost next year, yuan: P(admission) x mean admission cost (band)."""
        mean = np.array([self.cost_by_band_[age_band(int(a))] for a in ages])
        out: npt.NDArray[np.float64] = self.predict_proba(x) * mean
        return out


def dumps(model: RiskModel) -> tuple[bytes, str]:
    """Serialised model and its sha256: the version a quote records is derived from it."""
    buf = io.BytesIO()
    joblib.dump(model, buf)
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def loads(data: bytes, sha256: str) -> RiskModel:
    """Load a model, refusing bytes whose hash is not the registered one (tampering)."""
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError("model artifact does not match its registered sha256")
    model = joblib.load(io.BytesIO(data))
    if not isinstance(model, RiskModel):
        raise TypeError("artifact is not a RiskModel")
    return model


def manifest(model: RiskModel, sha256: str, **extra: Any) -> str:
    return json.dumps(
        {
            "kind": "risk",
            "sha256": sha256,
            "features": list(FEATURES),
            "coef_per_unit": model.coef_per_unit_,
            "cost_by_band": model.cost_by_band_,
            "n_train": model.n_train_,
            **extra,
        },
        indent=2,
        sort_keys=True,
    )
