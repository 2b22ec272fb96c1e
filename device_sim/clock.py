"""Simulated time: epoch seconds (UTC) in numpy arrays, rendered in the member's local time.

Members live in China Standard Time (UTC+08:00, no daylight saving), so every timestamp
carries ``+08:00``: the offset tells ``ingest`` and ``scoring`` what "morning" means.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

import numpy as np

UTC_OFFSET_S: Final = 8 * 3600
OFFSET_TEXT: Final = "+08:00"
DAY_S: Final = 86_400


def local_midnight(day: date) -> int:
    """Epoch seconds of 00:00 local time on ``day``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) - UTC_OFFSET_S


def iso_local(epochs: np.ndarray) -> list[str]:
    """ISO 8601 strings with the +08:00 offset, one per epoch second (vectorised)."""
    local = (np.asarray(epochs, dtype=np.int64) + UTC_OFFSET_S).astype("datetime64[s]")
    return [s + OFFSET_TEXT for s in np.datetime_as_string(local, unit="s").tolist()]


def local_hour(epochs: np.ndarray) -> np.ndarray:
    """Fractional local hour of day (0 <= h < 24) for each epoch second."""
    return ((np.asarray(epochs, dtype=np.int64) + UTC_OFFSET_S) % DAY_S) / 3600.0


def weekday(day0: date, days: np.ndarray) -> np.ndarray:
    """ISO weekday index (Monday 0) for day offsets from ``day0``."""
    return (day0.weekday() + np.asarray(days)) % 7
