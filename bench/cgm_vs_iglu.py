"""Cross-check of the CGM indicators against iglu on iglu's public example data (not timed).

    python bench/cgm_vs_iglu.py --iglu PATH/TO/iglu_python   # a checkout of staskh/iglu_python

Why: the issue asks for results an independent implementation can confirm. iglu (R; its
Python port ``iglu_python`` is checked against R iglu 4.3.0 by its own tests) is the
most-cited one. This script reads ``tests/data/example_data_5_subject.csv`` from that
checkout (5 subjects, 13,866 Dexcom readings, mg/dL), computes every metric both ways and
prints the largest relative difference per metric, then the event counts. Neither iglu's
code nor its data is part of this repository: the checkout is yours, and it needs pandas,
scipy and tzlocal (iglu_python's requirements) in the interpreter that runs this.

The traces are 6-17 days long, below the consensus' 14-day sufficiency rule, so the rule is
switched off here: this compares the formulas, not the sufficiency decision.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Ours -> (iglu function, its column[, kwargs]).
PAIRS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "mean_mgdl": ("mean_glu", "mean", {}),
    "sd_mgdl": ("sd_glu", "SD", {}),
    "tir": ("in_range_percent", "in_range_70_180", {}),
    "titr": ("in_range_percent", "in_range_70_140", {"target_ranges": [[70, 140]]}),
    "tbr54": ("below_percent", "below_54", {}),
    "tbr70": ("below_percent", "below_70", {}),
    "tar180": ("above_percent", "above_180", {}),
    "tar250": ("above_percent", "above_250", {}),
    "lbgi": ("lbgi", "LBGI", {}),
    "hbgi": ("hbgi", "HBGI", {}),
    "gri": ("gri", "GRI", {}),
    "active_pct": ("active_percent", "active_percent", {}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--iglu", type=Path, required=True, help="checkout of staskh/iglu_python")
    a = ap.parse_args()
    sys.path[:0] = [str(a.iglu), str(ROOT)]
    import iglu_python as ig  # type: ignore[import-not-found]
    import pandas as pd  # type: ignore[import-untyped]

    from scoring.indicators import rules
    from scoring.indicators.cgm import cgm_many

    # Formulas, not sufficiency: the rules' Final constants, lifted for this comparison only.
    vars(rules).update(CGM_MIN_WINDOW_S=0, CGM_MIN_ACTIVE_PCT=0.0)
    df = pd.read_csv(a.iglu / "tests/data/example_data_5_subject.csv", index_col=0)
    df["time"] = pd.to_datetime(df["time"])
    df = df.dropna(subset=["gl"]).sort_values(["id", "time"])
    ids = sorted(df["id"].unique())
    ref: dict[str, dict[str, float]] = {s: {} for s in ids}
    for name, (fn, col, kw) in PAIRS.items():
        for sid, v in getattr(ig, fn)(df, **kw).set_index("id")[col].items():
            ref[sid][name] = float(v)
    for s in ids:  # CV and GMI from iglu's mean and SD (GMI: Bergenstal 2018, as iglu)
        ref[s]["cv"] = 100 * ref[s]["sd_mgdl"] / ref[s]["mean_mgdl"]
        ref[s]["gmi"] = 3.31 + 0.02392 * ref[s]["mean_mgdl"]

    # The service's grouped path, all five subjects in one call, each window its own trace.
    idx = df["id"].map({s: i for i, s in enumerate(ids)}).to_numpy(np.int32)
    t = df["time"].to_numpy().astype("datetime64[s]").astype(np.int64)
    v = df["gl"].to_numpy(np.float64)
    first = np.array([t[idx == i][0] for i in range(len(ids))])
    last = np.array([t[idx == i][-1] + 300 for i in range(len(ids))])
    ours = cgm_many(idx, t, v, np.zeros(v.size, np.bool_), first, last)

    worst: dict[str, float] = {}
    for i, s in enumerate(ids):
        for k, want in ref[s].items():
            got = ours[i][k]
            diff = float("inf") if got is None else abs(got - want) / max(abs(want), 1e-12)
            worst[k] = max(worst.get(k, 0.0), 0.0 if got == want else diff)
    print(f"{len(ids)} subjects, {v.size:,} readings; largest relative difference per metric:")
    for k, d in worst.items():
        print(f"  {k:11s} {d:.1e}")
    episodes = ig.episode_calculation(df)
    lv1 = episodes[episodes["level"] == "lv1"].set_index(["id", "type"])["total_episodes"]
    print("events (>= 15 min beyond 70 / 180 mg/dL): ours vs iglu")
    for i, s in enumerate(ids):
        print(
            f"  {s}: hypo {ours[i]['hypo_events']} vs {int(lv1[(s, 'hypo')])},"
            f" hyper {ours[i]['hyper_events']} vs {int(lv1[(s, 'hyper')])}"
        )


if __name__ == "__main__":
    main()
