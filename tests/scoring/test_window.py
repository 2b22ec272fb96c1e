"""Scoring windows: member-local days, the UTC range that holds them, ages on the last day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from scoring.window import age, window


def test_window_days_and_utc_range_cover_every_offset() -> None:
    w = window(date(2026, 1, 1), date(2026, 4, 1))
    assert (w.d0, w.days, w.last_day) == (20454, 90, date(2026, 3, 31))
    t0, t1 = w.utc_range()
    # Midnight at UTC+14 on the first day, and at UTC-12 at the end of the last day.
    assert t0 == datetime(2025, 12, 31, 10, tzinfo=UTC)
    assert t1 == datetime(2026, 4, 1, 14, tzinfo=UTC)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        window(date(2026, 1, 1), date(2026, 1, 1))


def test_age_turns_on_the_birthday() -> None:
    assert age(date(1960, 3, 31), date(2026, 3, 30)) == 65
    assert age(date(1960, 3, 31), date(2026, 3, 31)) == 66
