"""The portfolio model's parameters (``portfolio.toml``) and its claims in payout terms.

Why a module of its own: the parameters and the claims rule are what a reader checks
first (each parameter's source is printed with the report); the dynamics that use them are
in ``device_sim.portfolio``.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from device_sim.outcomes import Population, hospitalisation_probability


def load_params(path: Path | None = None) -> dict[str, dict[str, float]]:
    """The model's parameters: {section: {name: value}} from ``portfolio.toml`` (or
    ``path``); each entry there also carries its source, which the report prints."""
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("device_sim").joinpath("portfolio.toml").read_text("utf-8")
    )
    raw = tomllib.loads(text)
    return {sec: {k: float(v["value"]) for k, v in items.items()} for sec, items in raw.items()}


def sources(path: Path | None = None) -> list[tuple[str, float, str]]:
    """(section.name, value, source) of every parameter, for the report."""
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("device_sim").joinpath("portfolio.toml").read_text("utf-8")
    )
    raw = tomllib.loads(text)
    return [
        (f"{sec}.{k}", float(v["value"]), str(v["source"]))
        for sec, items in raw.items()
        for k, v in items.items()
    ]


P = load_params()


def _with_conditions(p: Population) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = p.hypertension | p.diabetes | p.ckd
    return out


def _payout(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    c = P["claims"]
    out: npt.NDArray[np.float64] = np.maximum(cost - c["deductible_yuan"], 0.0) * c["coinsurance"]
    return out


def expected_payout_per_admission(draws: int = 400_000) -> float:
    """E[max(cost - deductible, 0)] x coinsurance, by a fixed-seed Monte Carlo."""
    from device_sim.outcomes import COST_MEAN_YUAN, COST_SIGMA

    rng = np.random.default_rng(12345)
    mu = np.log(COST_MEAN_YUAN) - COST_SIGMA**2 / 2
    return float(_payout(rng.lognormal(mu, COST_SIGMA, draws)).mean())


def _claims(p: Population, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    from device_sim.outcomes import COST_MEAN_YUAN, COST_SIGMA

    hosp = rng.random(p.size) < hospitalisation_probability(p)
    mu = np.log(COST_MEAN_YUAN) - COST_SIGMA**2 / 2
    cost = np.where(hosp, rng.lognormal(mu, COST_SIGMA, p.size), 0.0)
    return _payout(cost)
