"""Scoring windows: member-local calendar days, and the UTC range that holds them.

Why member-local: a member in Urumqi and one in Shanghai both measure their morning BP in
the morning; a window is ``window_start`` inclusive to ``window_end`` exclusive in each
reading's own local time (the UTC offset it carries). The loads read the UTC range with a
14-hour margin either side (the widest UTC offsets) and keep the readings whose local day
falls inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MARGIN = timedelta(hours=14)  # the widest UTC offsets (UTC-12 .. UTC+14)
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    d0: int  # local day numbers (days since 1970-01-01)
    d1: int

    @property
    def days(self) -> int:
        return self.d1 - self.d0

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def utc_range(self) -> tuple[datetime, datetime]:
        """The UTC instants that hold every reading of the window, whatever its offset."""
        t0 = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC) - MARGIN
        t1 = datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC) + MARGIN
        return t0, t1


def window(window_start: date, window_end: date) -> Window:
    """The window [window_start, window_end); raises ValueError when it is empty."""
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    return Window(
        window_start, window_end, (window_start - _EPOCH).days, (window_end - _EPOCH).days
    )


def age(birth: date, on: date) -> int:
    """Age in whole years on a day (the window's last day decides age-based targets)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
