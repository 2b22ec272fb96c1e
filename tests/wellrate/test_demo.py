"""``wellrate demo --no-serve`` on embedded defaults in a clean environment.

The demo runs once per module (it starts PostgreSQL, a broker and the ingestor; ~5 s) and
the tests read its output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_ARGS = ["demo", "--members", "30", "--days", "21", "--no-serve"]
Runs = tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]


_DAYS: list[object] = []


def _demo_day() -> object:
    """The demo's history start (it follows today's date in UTC+08:00)."""
    from device_sim.modes import history_start

    return history_start(21)


def _run(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
    env.update(
        WELLRATE_DATA_DIR=str(data_dir), WELLRATE_METRICS_PORT="0", WELLRATE_LOG_LEVEL="INFO"
    )
    return subprocess.run(
        [sys.executable, "-m", "wellrate.cli", *DEMO_ARGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    data_dir = Path(tempfile.mkdtemp(prefix="wr-demo-", dir="/tmp"))
    data_dir.chmod(0o755)
    try:
        before = _demo_day()
        first = _run(data_dir)
        second = _run(data_dir)
        _DAYS.extend([before, _demo_day()])
        yield data_dir, first, second
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _ingested(out: str) -> tuple[int, int, int]:
    m = re.search(r"ingested (\d+) readings .*\((\d+) duplicates, (\d+) dead letters\)", out)
    assert m, out[-3000:]
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def test_demo_runs_the_pipeline_on_embedded_defaults(runs: Runs) -> None:
    data_dir, first, _ = runs
    out = first.stdout
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "database: embedded" in out and "broker:   mosquitto" in out
    stored, dups, dead = _ingested(out)
    assert stored > 1000 and dups == 0 and dead == 0
    assert (data_dir / "pg" / "PG_VERSION").exists()
    assert not (data_dir / "pg" / "postmaster.pid").exists()  # PostgreSQL stopped on exit
    assert not (data_dir / "wellrate-demo.pid").exists()


def test_a_second_run_reuses_the_data_directory(runs: Runs) -> None:
    _, first, second = runs
    if len(set(_DAYS)) > 1:
        pytest.skip("the two demo runs straddled midnight UTC+08:00: different histories")
    assert second.returncode == first.returncode, second.stderr[-3000:]
    assert "migrations (0 applied)" in second.stdout
    stored, dups, dead = _ingested(second.stdout)
    first_stored = _ingested(first.stdout)[0]
    # Same seed, same day: every reading is already there and is absorbed as a duplicate.
    assert stored + dups == first_stored and dead == 0


def test_demo_answers_a_quote(runs: Runs) -> None:
    _, first, _ = runs
    assert "sample quote:" in first.stdout
    assert re.search(r'"premium":\s*[\d.]+', first.stdout)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mqtt://wellrate-ingest-1:s3cr%40t-pw@broker:1883", "mqtt://wellrate-ingest-1:***@broker:1883"),
        ("mqtts://u:pw@b:8883", "mqtts://u:***@b:8883"),
        ("mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"),
        ("postgresql://wellrate_api:pw@db:5432/w", "postgresql://wellrate_api:***@db:5432/w"),
        ("postgresql://u@db/w?sslmode=require&password=pw", "postgresql://u@db/w?sslmode=require&password=***"),
        ("postgresql:///w?host=/tmp/pg", "postgresql:///w?host=/tmp/pg"),
        ("postgresql:///w?password=pw&host=/tmp", "postgresql:///w?password=***&host=/tmp"),
    ],
)  # fmt: skip
def test_demo_never_prints_a_password(url: str, shown: str) -> None:
    """The attack: the demo printed the MQTT URL with its password (it redacted the DB's)."""
    from core.embedded import Services
    from wellrate.demo import _describe

    svc = Services(url, url, "5", "configured", "configured", Path("."))
    lines = _describe(svc)
    assert lines[0].endswith(f"({shown})") and f"({shown}, MQTT 5)" in lines[1]
    for secret in ("pw", "s3cr%40t-pw", "s3cr@t-pw"):
        if f":{secret}@" in url or f"password={secret}" in url:
            assert all(secret not in line.split("://", 1)[1] for line in lines)
