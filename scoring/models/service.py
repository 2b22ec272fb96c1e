"""Train, register, load and evaluate the risk model from the database (caller owns tx)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import brier_score_loss, roc_auc_score

from scoring.models import repository as repo
from scoring.models.risk import (
    AGE_BANDS,
    MemberFeatures,
    RiskModel,
    age_band,
    dumps,
    feature_matrix,
    loads,
    manifest,
)

MIN_TRAINING_MEMBERS = 200
MIN_ADMISSIONS = 20


class NotEnoughData(ValueError):
    """Too few members or admissions to fit anything meaningful; says how many there were."""


@dataclass(frozen=True)
class Dataset:
    x: npt.NDArray[np.float64]
    admitted: npt.NDArray[np.bool_]
    cost: npt.NDArray[np.float64]
    ages: npt.NDArray[np.int64]
    conditions: list[tuple[str, ...]]


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def dataset(conn: repo.Conn, year: int) -> Dataset:
    rows = repo.training_rows(conn, year)
    on = date(year, 12, 31)
    feats = [
        MemberFeatures(_age(r.birth_date, on), r.sex, r.conditions, r.indicators) for r in rows
    ]
    return Dataset(
        feature_matrix(feats),
        np.array([r.admitted for r in rows], dtype=np.bool_),
        np.array([r.cost_yuan for r in rows], dtype=np.float64),
        np.array([f.age for f in feats], dtype=np.int64),
        [r.conditions for r in rows],
    )


def train(conn: repo.Conn, year: int, *, random_state: int = 0) -> dict[str, Any]:
    """Fit on features from ``year`` and admissions in ``year + 1``; register; return summary."""
    ds = dataset(conn, year)
    n, pos = int(ds.admitted.size), int(ds.admitted.sum())
    if n < MIN_TRAINING_MEMBERS or pos < MIN_ADMISSIONS or n - pos < MIN_ADMISSIONS:
        raise NotEnoughData(
            f"{n} scored members and {pos} admissions for {year}->{year + 1};"
            f" need >= {MIN_TRAINING_MEMBERS} members and >= {MIN_ADMISSIONS} of each outcome"
        )
    model = RiskModel(random_state=random_state).fit(ds.x, ds.admitted, ds.cost, ds.ages)
    data, sha = dumps(model)
    version = f"risk-{sha[:12]}"
    metrics = evaluate(model, ds, in_sample=True)
    repo.insert_model(
        conn,
        version=version,
        sha256=sha,
        artifact=data,
        year=year,
        manifest=manifest(model, sha, trained_on_year=year, members=n, admissions=pos),
        metrics=metrics,
    )
    return {"model_version": version, "members": n, "admissions": pos, **metrics["overall"]}


def load(conn: repo.Conn, version: str | None = None) -> tuple[str, RiskModel] | None:
    """The newest registered model (or ``version``), hash-checked; None when none exists."""
    found = repo.current(conn, version)
    if found is None:
        return None
    v, sha, data = found
    return v, loads(data, sha)


def load_current_model(conn: repo.Conn) -> tuple[str, RiskModel] | None:
    """The registered model pricing should use: ``(version, model)``, None when none exists.

    Named entry point for pricing, so a quote can record the version it was priced with.
    """
    return load(conn)


def predict(
    model: RiskModel, feature_rows: Sequence[MemberFeatures]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(p_hosp, expected_cost_yuan)`` per member, in the order of ``feature_rows``."""
    x = feature_matrix(feature_rows)
    ages = np.array([r.age for r in feature_rows], dtype=np.int64)
    return model.predict_proba(x), model.expected_cost(x, ages)


def _metrics(y: npt.NDArray[np.bool_], p: npt.NDArray[np.float64]) -> dict[str, Any]:
    both = 0 < int(y.sum()) < y.size
    return {
        "n": int(y.size),
        "observed_rate": float(y.mean()) if y.size else None,
        "predicted_rate": float(p.mean()) if y.size else None,
        "auc": float(roc_auc_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)) if y.size else None,
    }


def evaluate(model: RiskModel, ds: Dataset, *, in_sample: bool) -> dict[str, Any]:
    """AUC, Brier and calibration overall, by age band and by condition."""
    p = model.predict_proba(ds.x)
    bands = np.array([age_band(int(a)) for a in ds.ages])
    deciles = []
    order = np.argsort(p, kind="stable")
    for chunk in np.array_split(order, 10):
        if chunk.size:
            deciles.append(
                {"predicted": float(p[chunk].mean()), "observed": float(ds.admitted[chunk].mean())}
            )
    by_condition: dict[str, Any] = {}
    for cond in ("hypertension", "diabetes", "ckd", "none"):
        sel = np.array(
            [(cond in c) if cond != "none" else not c for c in ds.conditions], dtype=np.bool_
        )
        by_condition[cond] = _metrics(ds.admitted[sel], p[sel])
    return {
        "in_sample": in_sample,
        "overall": _metrics(ds.admitted, p),
        "by_age_band": {
            label: _metrics(ds.admitted[bands == label], p[bands == label])
            for _lo, _hi, label in AGE_BANDS
        },
        "by_condition": by_condition,
        "calibration_deciles": deciles,
    }


def report(
    conn: repo.Conn, year: int | None, out_dir: Path, version: str | None = None
) -> dict[str, Any]:
    """Evaluate a registered model on ``year`` (default: its training year) and plot it."""
    got = load(conn, version)
    if got is None:
        raise LookupError("no risk model is registered; run `wellrate model train` first")
    v, model = got
    trained = conn.execute(
        "SELECT trained_on_year FROM models WHERE model_version = %s", (v,)
    ).fetchone()
    trained_year = int(trained[0]) if trained else None
    y = year if year is not None else trained_year
    if y is None:
        raise LookupError("no year to evaluate")
    ds = dataset(conn, y)
    metrics = evaluate(model, ds, in_sample=(y == trained_year))
    metrics["evaluated_year"] = y
    metrics["model_version"] = v
    if y == trained_year:
        repo.set_metrics(conn, v, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"calibration-{v}-{y}.png"
    plot_calibration(metrics, png)
    metrics["plot"] = str(png)
    return metrics


def plot_calibration(metrics: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    d = metrics["calibration_deciles"]
    a.plot([0, 1], [0, 1], color="#999", lw=1, ls="--", label="perfect")
    a.plot([x["predicted"] for x in d], [x["observed"] for x in d], "o-", label="deciles")
    hi = max([0.05] + [max(x["predicted"], x["observed"]) for x in d]) * 1.1
    a.set_xlim(0, hi)
    a.set_ylim(0, hi)
    a.set_xlabel("predicted probability of admission")
    a.set_ylabel("observed share admitted")
    o = metrics["overall"]
    auc = "n/a" if o["auc"] is None else f"{o['auc']:.3f}"
    a.set_title(f"calibration (AUC {auc}, Brier {o['brier']:.4f})")
    a.legend()
    groups: Sequence[tuple[str, dict[str, Any]]] = [
        *metrics["by_age_band"].items(),
        *metrics["by_condition"].items(),
    ]
    names = [g for g, m in groups if m["n"]]
    obs = [m["observed_rate"] for _, m in groups if m["n"]]
    pred = [m["predicted_rate"] for _, m in groups if m["n"]]
    xs = np.arange(len(names))
    b.bar(xs - 0.2, obs, 0.4, label="observed")
    b.bar(xs + 0.2, pred, 0.4, label="predicted")
    b.set_xticks(xs, names, rotation=30, ha="right")
    b.set_title("by age band and condition")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
