"""Unsupervised check: member-days whose activity pattern is unlike everyone else's.

IsolationForest (scikit-learn conventions: ``random_state``, fit on the population being
scanned) over the activity-day features. One odd day means nothing; a member is flagged
only when at least ``MIN_ODD_DAYS`` of their days in the period are outliers, and the flag,
like every flag, holds the period for a person to review.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scoring.integrity.features import ActivityDay
from scoring.integrity.rules import Hit

CONTAMINATION = 0.01  # share of member-days treated as outliers
MIN_ODD_DAYS = 4
MIN_DAYS_TO_FIT = 200  # fewer member-days: no model, rules only


def model_hits(days_by_member: Mapping[str, list[ActivityDay]], seed: int = 0) -> dict[str, Hit]:
    rows = [(m, d) for m, ds in days_by_member.items() for d in ds if d.n_active >= 3]
    if len(rows) < MIN_DAYS_TO_FIT:
        return {}
    x = np.array([d.vector() for _, d in rows])
    # Imported here: pricing imports this package for the flags alone, and scikit-learn
    # cost every batch worker and API process ~1.6 s of start-up.
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(contamination=CONTAMINATION, random_state=seed, n_estimators=200)
    odd = forest.fit(x).predict(x) == -1
    score = forest.score_samples(x)
    out: dict[str, Hit] = {}
    by_member: dict[str, list[tuple[ActivityDay, float]]] = {}
    for (m, d), o, sc in zip(rows, odd, score, strict=True):
        if o:
            by_member.setdefault(m, []).append((d, float(sc)))
    for m, hits in by_member.items():
        if len(hits) >= MIN_ODD_DAYS:
            out[m] = Hit(
                "unusual_activity_pattern",
                min(d.day for d, _ in hits),
                max(d.day for d, _ in hits),
                {
                    "odd_days": len(hits),
                    "lowest_score": round(min(s for _, s in hits), 4),
                    "examples": [
                        {"day": d.day, "steps": d.total_steps, "vector": d.vector()}
                        for d, _ in hits[:5]
                    ],
                },
            )
    return out
