"""Hospitalisation rate from the insurer's claims feed.

Why: pricing and the risk model compare members by events per member-year, so a window
of any length gives a comparable number.
"""

from __future__ import annotations

DAYS_PER_YEAR: float = 365.25


def hospitalisation_indicators(events: int, window_days: int) -> dict[str, object]:
    """Stored-contract ``hospitalisation``: admissions that started inside the window.

    Examples
    --------
    >>> round(hospitalisation_indicators(1, 73)["per_member_year"], 2)
    5.0
    """
    years = window_days / DAYS_PER_YEAR
    return {
        "events": int(events),
        "member_years": years,
        "per_member_year": float(events / years) if years > 0 else None,
    }
