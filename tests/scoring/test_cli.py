"""``wellrate score``: window parsing, a real run, and refusal of bad windows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from core.settings import get_settings
from scoring import cli
from tests.factories import add_member


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WELLRATE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_parse_window_and_trailing_window() -> None:
    assert cli.parse_window("2026-08-01..2026-11-01") == (date(2026, 8, 1), date(2026, 11, 1))
    with pytest.raises(ValueError, match="end must be after"):
        cli.parse_window("2026-08-01..2026-08-01")
    with pytest.raises(ValueError, match="look like"):
        cli.parse_window("2026-08-01")
    # 17:00 UTC on 21 Nov is 01:00 on 22 Nov in UTC+08:00: "today" is the 22nd.
    now = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
    assert cli.trailing_window(90, now) == (date(2026, 8, 24), date(2026, 11, 22))


def test_score_command_scores_and_prints_counts(
    env: None, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    add_member(conn, "m1")
    assert cli.main(["--window", "2026-03-01..2026-03-29", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["members"] == 1 and out["insufficient"] == 1
    assert conn.execute("SELECT window_start, window_end FROM scores").fetchall() == [
        (date(2026, 3, 1), date(2026, 3, 29))
    ]
    assert cli.main(["--window", "2026-03-29..2026-03-01"]) == 2
    assert cli.main(["--days", "0"]) == 2
